"""A small Vision Transformer on the vertex matrix: the reference's "ViT" baseline, plus a 4×26 variant.

Reference: danielplatt/kreuzer-skarke-ML, ``src/models/vision_transformer.py`` (Keras, after Khalid Salama's
keras-io ViT example). It does not look at the 4×26 matrix but at a **52×52 image** (``image="stacked_permutations"``
here): 13 bands of 4 rows; band j holds ``X[ρ_j]`` in columns 0..25 and ``X[ρ_j][:, π]`` in columns 26..51, where
``ρ_j`` is row order ``j mod 12`` of ``itertools.permutations(range(4))`` (so only the 12 orders that put row 0 or
row 1 first, and band 12 repeats band 0) and ``π`` is one fixed column shuffle (``random.seed(4);
random.shuffle(list(range(26)))``, :data:`REFERENCE_COLUMN_SHUFFLE`). 4×4 patches (169 of them), a linear patch
projection plus a learned position embedding, no class token; pre-LayerNorm blocks whose attention has 4 heads of
key size 64 (inner width 256, ``head_dim=64`` here) and dropout 0.1, MLP 128→64 with GELU and dropout 0.1; the
final LayerNorm output is flattened (``pool="flatten"``), dropout 0.5, Dense 2048 → 1024 (GELU, dropout 0.5) and
45 logits. The last stored version has 8 blocks (an earlier one: 2 blocks and a 4→2 head). Trained with sparse
cross-entropy, AdamW (lr 1e-3, weight decay 1e-5, clipnorm 5), batch 256, 20 epochs (``main.py``), 10 % of train
held out for validation. One deviation: the Keras example also applies GELU after the MLP's last Dense; here the
block's MLP is the standard ViT one (no activation on its output).

Not invariant to any row or column permutation: patches and positions are tied to matrix positions. The stacked
image contains 12 row orders, which makes it *less* sensitive to the row order but not invariant (half of S4 is
missing and the column shuffle is fixed).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import permutations
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from symbench.models.mlp_head import mlp_head

Image = Literal["matrix", "stacked_permutations"]
Pool = Literal["cls", "mean", "flatten"]

# The reference's fixed column shuffle π: out[:, i] = in[:, π[i]] (Python's random.seed(4); random.shuffle).
# fmt: off
REFERENCE_COLUMN_SHUFFLE = (
    21, 11, 25, 18, 13, 1, 6, 20, 5, 10, 8, 23, 17,
    14, 16, 24, 22, 0, 19, 2, 4, 15, 12, 3, 9, 7,
)
# fmt: on


def stacked_permutations_image(x: torch.Tensor) -> torch.Tensor:
    """The reference's 52×52 image of a ``(B, 4, 26)`` batch: 13 row orders, each beside its column-shuffled copy."""
    rows, cols = stacked_permutations_indices(x.shape[-2], x.shape[-1])
    return x[:, rows.to(x.device)][:, :, cols.to(x.device)]


def stacked_permutations_indices(n_rows: int = 4, n_cols: int = 26) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column indices ``(52,), (52,)`` with ``image[r, c] = X[rows[r], cols[c]]`` (only 4×26 is defined)."""
    if (n_rows, n_cols) != (4, 26):
        raise ValueError(
            f"stacked_permutations: the reference image is defined for 4×26 matrices, got {n_rows}×{n_cols}"
        )
    orders = list(permutations(range(4)))
    rows = [r for j in range(13) for r in orders[j % 12]]
    cols = list(range(26)) + list(REFERENCE_COLUMN_SHUFFLE)
    return torch.tensor(rows), torch.tensor(cols)


class KSViT(nn.Module):
    """Patch embedding + learned positions (+ class token) → pre-LN transformer → pooled → MLP head.

    Args:
        n_outputs: number of classes (classification) or 1 (regression).
        image: ``"matrix"`` (the 4×26 matrix itself) or ``"stacked_permutations"`` (the reference's 52×52 image).
        patch: ``(rows, cols)`` of a patch, or one int for a square patch; must tile the image exactly
            (4×26: e.g. (4, 2), (2, 2), (1, 1); 52×52: (4, 4) as in the reference).
        dim: token width (reference: 64).
        depth: number of transformer blocks (reference: 8).
        heads: attention heads (reference: 4).
        head_dim: width of each head, ``None`` for ``dim // heads`` (reference: 64, Keras' ``key_dim``).
        mlp_dim: hidden width of each block's MLP (reference: 128).
        dropout: dropout in the blocks' MLP and after attention (reference: 0.1).
        attention_dropout: dropout on the attention weights (reference: 0.1).
        pool: ``"cls"`` (a class token), ``"mean"`` over tokens, or ``"flatten"`` all tokens (reference).
        head_hidden: hidden widths of the GELU head (reference: 2048, 1024).
        head_dropout: dropout before and inside the head (reference: 0.5).
        rows, cols: matrix shape (4 × 26 for the KS data).
    """

    def __init__(
        self,
        n_outputs: int,
        image: Image = "matrix",
        patch: int | Sequence[int] = (4, 2),
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        head_dim: int | None = None,
        mlp_dim: int = 128,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        pool: Pool = "cls",
        head_hidden: Sequence[int] = (),
        head_dropout: float = 0.0,
        rows: int = 4,
        cols: int = 26,
    ) -> None:
        super().__init__()
        if image not in ("matrix", "stacked_permutations"):
            raise ValueError(f"KSViT: image must be 'matrix' or 'stacked_permutations', got {image!r}")
        if pool not in ("cls", "mean", "flatten"):
            raise ValueError(f"KSViT: pool must be 'cls', 'mean' or 'flatten', got {pool!r}")
        self.image = image
        self.pool = pool
        if image == "stacked_permutations":
            row_idx, col_idx = stacked_permutations_indices(rows, cols)
            self.register_buffer("row_index", row_idx, persistent=False)
            self.register_buffer("col_index", col_idx, persistent=False)
            height, width = len(row_idx), len(col_idx)
        else:
            height, width = rows, cols
        self.patch = (patch, patch) if isinstance(patch, int) else (int(patch[0]), int(patch[1]))
        if len(self.patch) != 2 or height % self.patch[0] or width % self.patch[1]:
            raise ValueError(f"KSViT: patch {tuple(self.patch)} does not tile a {height}×{width} image")
        n_patches = (height // self.patch[0]) * (width // self.patch[1])
        n_tokens = n_patches + (1 if pool == "cls" else 0)
        self.patch_embedding = nn.Linear(self.patch[0] * self.patch[1], dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if pool == "cls" else None
        self.position_embedding = nn.Parameter(torch.zeros(1, n_tokens, dim))
        self.blocks = nn.ModuleList(
            _Block(dim, heads, head_dim or dim // heads, mlp_dim, dropout, attention_dropout) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)
        width_in = dim * n_patches if pool == "flatten" else dim
        head = mlp_head(width_in, head_hidden, n_outputs, activation=nn.GELU, dropout=head_dropout)
        self.head = nn.Sequential(nn.Dropout(head_dropout), *head) if head_dropout > 0 else head
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the position embedding and class token (the submodules reset themselves)."""
        nn.init.trunc_normal_(self.position_embedding, std=0.02)
        if self.cls_token is not None:
            nn.init.trunc_normal_(self.cls_token, std=0.02)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, rows, cols)`` → ``(B, n_patches, pr·pc)``: patches in row-major order, each flattened row-major."""
        if self.image == "stacked_permutations":
            x = x[:, self.row_index][:, :, self.col_index]
        b, h, w = x.shape
        pr, pc = self.patch
        return x.reshape(b, h // pr, pr, w // pc, pc).transpose(2, 3).reshape(b, (h // pr) * (w // pc), pr * pc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, rows, cols)`` float → ``(B, n_outputs)``."""
        tokens = self.patch_embedding(self.patches(x))
        if self.cls_token is not None:
            tokens = torch.cat([self.cls_token.expand(len(tokens), -1, -1), tokens], dim=1)
        h = tokens + self.position_embedding
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        if self.pool == "cls":
            pooled = h[:, 0]
        elif self.pool == "mean":
            pooled = h.mean(dim=1)
        else:
            pooled = h.flatten(1)
        return self.head(pooled)


class _Block(nn.Module):
    """Pre-LN transformer block whose attention width ``heads × head_dim`` may differ from ``dim`` (as in Keras)."""

    def __init__(
        self, dim: int, heads: int, head_dim: int, mlp_dim: int, dropout: float, attention_dropout: float
    ) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.attention_dropout = attention_dropout
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * heads * head_dim)
        self.out = nn.Linear(heads * head_dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, dim), nn.Dropout(dropout)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        p = self.attention_dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        x = x + self.dropout(self.out(attended.transpose(1, 2).reshape(b, n, -1)))
        return x + self.mlp(self.norm2(x))
