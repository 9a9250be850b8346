"""The reference's "PointNet": the 26 columns as points in R^4, max-aggregated message passing on their kNN graph.

Reference: danielplatt/kreuzer-skarke-ML, ``src/models/pointnet.py`` (PyTorch Geometric, after the PyG PointNet
tutorial). Each layer sends point j → point i the message ``MLP([h_j, pos_j − pos_i])`` (MLP = Linear → ReLU →
Linear) and takes the max over the neighbours j; four such layers of widths 50, 100, 100, 43 with ReLU after each,
a global max pool over the points and ``Linear(43, 43)``. The graph is ``knn_graph(pos, k=26)`` with
``loop=False``: on 26 points that is every *other* point, i.e. the complete graph without self-loops, which is what
this module computes (batched, no PyG). Trained with cross-entropy, Adam 1e-3, batch 64, 20 epochs (``main.py``),
early stopping on the training loss (patience 15, min_delta 0.01).

Exactly invariant under column permutations τ ∈ S26 (up to floating-point rounding): every layer is permutation
equivariant and the pooling is a max. **Not** invariant under row permutations σ ∈ S4: a row permutation permutes
the 4 coordinates of every point, and the MLPs read the coordinates in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from symbench.models.mlp_head import mlp_head


class PointNetLayer(nn.Module):
    """``h_i' = max_{j ≠ i} MLP([h_j, pos_j − pos_i])`` on the complete graph without self-loops (``self_loops=False``).

    The first Linear is split as ``W_h h_j + W_p pos_j − W_p pos_i + b``, so it runs once per point rather than
    once per edge; the second Linear runs once per edge (its bias, constant over j, is added after the max).
    """

    def __init__(self, in_features: int, out_features: int, pos_features: int = 4, self_loops: bool = False) -> None:
        super().__init__()
        self.self_loops = self_loops
        self.first = nn.Linear(in_features + pos_features, out_features)
        self.second = nn.Linear(out_features, out_features)
        self.in_features = in_features

    def forward(self, h: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """``h``: ``(B, N, in_features)``, ``pos``: ``(B, N, pos_features)`` → ``(B, N, out_features)``."""
        w_h = self.first.weight[:, : self.in_features]
        w_p = self.first.weight[:, self.in_features :]
        source = h @ w_h.T + pos @ w_p.T + self.first.bias  # (B, N, C): the part that depends on j
        target = pos @ w_p.T  # (B, N, C): the part that depends on i
        neighbours = _neighbours(h.shape[1], self.self_loops, h.device)  # (N, N or N-1)
        # CPU speed (2× together): gather only the edges rather than mask the diagonal of all N²; add -target rather
        # than subtract it (no negation of the edge tensor in backward); max rather than amax (a scatter backward)
        hidden = torch.relu_(source[:, neighbours] + (-target)[:, :, None, :])  # (B, i, j, C)
        return (hidden @ self.second.weight.T).max(dim=2).values + self.second.bias


class KSPointNet(nn.Module):
    """Columns as points in R^4 → message-passing layers (ReLU) → global max pool → linear classifier.

    Args:
        n_outputs: number of classes (classification) or 1 (regression).
        widths: output width of each :class:`PointNetLayer` (reference: 50, 100, 100, 43).
        head_hidden: hidden ReLU widths between the pooled vector and the output (reference: none; its
            classifier is a single ``Linear(43, 43)``).
        self_loops: include the point itself among its neighbours (reference: no).
        rows, cols: matrix shape (4 × 26 for the KS data); a point has ``rows`` coordinates.
    """

    def __init__(
        self,
        n_outputs: int,
        widths: Sequence[int] = (50, 100, 100, 43),
        head_hidden: Sequence[int] = (),
        self_loops: bool = False,
        rows: int = 4,
        cols: int = 26,
    ) -> None:
        super().__init__()
        if not widths:
            raise ValueError("KSPointNet: widths must name at least one layer")
        if cols < 2 and not self_loops:
            raise ValueError(f"KSPointNet: {cols} point(s) have no neighbours without self-loops")
        self.layers = nn.ModuleList()
        in_features = rows  # the first layer's features are the positions themselves, as in the reference
        for width in widths:
            self.layers.append(PointNetLayer(in_features, width, pos_features=rows, self_loops=self_loops))
            in_features = width
        self.head = mlp_head(in_features, head_hidden, n_outputs)

    def point_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, rows, cols)`` → ``(B, cols, widths[-1])``: per-point features, column-permutation equivariant."""
        pos = x.transpose(1, 2)
        h = pos
        for layer in self.layers:
            h = torch.relu(layer(h, pos))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, rows, cols)`` float → ``(B, n_outputs)``."""
        return self.head(self.point_features(x).amax(dim=1))


def _neighbours(n: int, self_loops: bool, device: torch.device) -> torch.Tensor:
    """``(n, n)`` (every j) or ``(n, n - 1)`` (every j ≠ i) indices of the neighbours of each point i."""
    if self_loops:
        return torch.arange(n, device=device).expand(n, n)
    k = torch.arange(n - 1, device=device)[None, :]
    return k + (k >= torch.arange(n, device=device)[:, None])
