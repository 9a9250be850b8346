"""The reference's "invariant MLP": two DeepSets-like branches whose pooled features are summed.

Reference: danielplatt/kreuzer-skarke-ML, ``src/models/invariantmlp.py`` (``ConvModel``, PyTorch). One branch
treats the 4 rows as a set of points in R^26, the other the 26 columns as a set of points in R^4; each runs a
pointwise MLP 256-256-256 (1×1 ``Conv1d`` + ReLU there, ``Linear`` on the last axis here: the same map) and
max-pools over its set. The two 256-vectors are *added* and decoded by three Linear(256)+BatchNorm+ReLU layers
and a linear output (43 logits there, one per h11 value 0..42). Trained with cross-entropy, Adam 1e-3,
batch 32, 20 epochs.

What it is invariant to, exactly:

- ``row_set_features(x)`` is invariant under row permutations σ ∈ S4 (and only those: it reads columns in
  order);
- ``column_set_features(x)`` is invariant under column permutations τ ∈ S26 (and only those);
- the model output, a function of their *sum*, is in general invariant under **neither** S4 nor S26: a row
  permutation changes the column branch, a column permutation the row branch. The name is the reference's; the
  tests pin the two branch invariances and that the full model is not invariant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from symbench.models.mlp_head import pool_set


class InvariantMLP(nn.Module):
    """Two set branches (rows as a set, columns as a set), summed, then an MLP decoder → ``(B, n_outputs)``.

    Args:
        n_outputs: number of classes (classification) or 1 (regression).
        encoder_widths: widths of the pointwise MLP of each branch, each layer followed by ReLU
            (reference: 256, 256, 256).
        decoder_widths: hidden widths of the decoder, each Linear followed by BatchNorm (if ``batch_norm``)
            and ReLU (reference: 256, 256, 256); the output layer is linear.
        pool: set pooling of each branch (reference: ``"max"``).
        batch_norm: BatchNorm1d in the decoder (reference: yes).
        rows, cols: matrix shape (4 × 26 for the KS data).
    """

    def __init__(
        self,
        n_outputs: int,
        encoder_widths: Sequence[int] = (256, 256, 256),
        decoder_widths: Sequence[int] = (256, 256, 256),
        pool: Literal["max", "mean", "sum"] = "max",
        batch_norm: bool = True,
        rows: int = 4,
        cols: int = 26,
    ) -> None:
        super().__init__()
        if pool not in ("max", "mean", "sum"):
            raise ValueError(f"InvariantMLP: pool must be 'max', 'mean' or 'sum', got {pool!r}")
        if not encoder_widths:
            raise ValueError("InvariantMLP: encoder_widths must name at least one layer")
        self.pool = pool
        # rows are points in R^cols, columns are points in R^rows
        self.row_encoder = _pointwise_mlp(cols, encoder_widths)
        self.column_encoder = _pointwise_mlp(rows, encoder_widths)
        layers: list[nn.Module] = []
        width = encoder_widths[-1]
        for hidden in decoder_widths:
            layers.append(nn.Linear(width, hidden))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU())
            width = hidden
        layers.append(nn.Linear(width, n_outputs))
        self.decoder = nn.Sequential(*layers)

    def row_set_features(self, x: torch.Tensor) -> torch.Tensor:
        """Rows as a set: ``(B, rows, cols)`` → ``(B, width)``, invariant under row permutations."""
        return self._pool(self.row_encoder(x))

    def column_set_features(self, x: torch.Tensor) -> torch.Tensor:
        """Columns as a set: ``(B, rows, cols)`` → ``(B, width)``, invariant under column permutations."""
        return self._pool(self.column_encoder(x.transpose(1, 2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, rows, cols)`` float → ``(B, n_outputs)``."""
        return self.decoder(self.row_set_features(x) + self.column_set_features(x))

    def _pool(self, h: torch.Tensor) -> torch.Tensor:
        return pool_set(h, self.pool)


def _pointwise_mlp(in_features: int, widths: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_features, width), nn.ReLU()]
        in_features = width
    return nn.Sequential(*layers)
