"""Exchangeable matrix layers (Hartford et al. 2018, "Deep models of interactions across sets") and a network
built from them that is exactly invariant under S4 × S26 (any row and any column permutation).

Reference: danielplatt/kreuzer-skarke-ML, ``src/models/hartford.py`` (Keras): the input copied into 256
channels, three exchangeable layers of 256 channels, average pooling over the whole matrix, Dense 256×4
(ReLU), a linear output of 35 units, MSE regression on h11 (Adam 1e-3, batch 32, 20 epochs). Two quirks
there that we do not copy: it applies ReLU to each of the four terms *before* adding them, and it regresses
a 35-wide output against a scalar label (Keras broadcasts). Here the nonlinearity follows the sum, as in
the paper, and the output has ``n_outputs`` units (classes, or 1 for regression).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from symbench.models.mlp_head import mlp_head, pool_set

Pool = Literal["mean", "max", "mean+max"]


class ExchangeableLayer(nn.Module):
    """``(B, in_ch, R, C)`` → ``(B, out_ch, R, C)``, equivariant: ``layer(σ x τ) = σ layer(x) τ``.

    Per position (i, j): ``W1·x[:, i, j] + W2·mean_j x[:, i, j] + W3·mean_i x[:, i, j] + W4·mean_ij x + b``,
    where each ``W`` is an ``out_ch × in_ch`` matrix mixing channels: the element itself, its row's mean, its
    column's mean and the mean of the whole matrix, plus a bias. :meth:`forward_channels_last` is the same
    map on ``(B, R, C, in_ch)``; HartfordNet uses it because channel mixing is then a plain matmul (≈1.6×
    faster on CPU).
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.element = nn.Linear(in_ch, out_ch, bias=True)
        self.row_mean = nn.Linear(in_ch, out_ch, bias=False)
        self.column_mean = nn.Linear(in_ch, out_ch, bias=False)
        self.all_mean = nn.Linear(in_ch, out_ch, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, in_ch, R, C)`` → ``(B, out_ch, R, C)``."""
        return self.forward_channels_last(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def forward_channels_last(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, R, C, in_ch)`` → ``(B, R, C, out_ch)``."""
        row_mean = x.mean(dim=2, keepdim=True)  # (B, R, 1, in_ch): one mean per row
        column_mean = x.mean(dim=1, keepdim=True)  # (B, 1, C, in_ch): one mean per column
        all_mean = row_mean.mean(dim=1, keepdim=True)  # (B, 1, 1, in_ch)
        # the pooled terms are mixed on the small tensors and broadcast
        per_row = self.row_mean(row_mean) + self.all_mean(all_mean)
        return self.element(x) + per_row + self.column_mean(column_mean)


class HartfordNet(nn.Module):
    """Exchangeable layers + ReLU, pooled over rows and columns, then an MLP head → ``(B, n_outputs)``.

    Exactly invariant under every row permutation σ ∈ S4 and column permutation τ ∈ S26 (up to floating-point
    rounding in the means): each layer is equivariant, ReLU and the batch norm act per position with
    statistics shared over all positions, and the pooling is symmetric.

    Args:
        n_outputs: number of classes (classification) or 1 (regression).
        channels: channels of each exchangeable layer (reference: 256, 256, 256).
        head_hidden: widths of the ReLU layers of the head (reference: 256 × 4).
        pool: ``"mean"`` (reference), ``"max"``, or ``"mean+max"`` (both, concatenated).
        norm: ``"batch"`` puts a batch norm after each layer (statistics over batch, rows and columns, so
            equivariance is kept); ``"none"`` (reference) does not.
    """

    def __init__(
        self,
        n_outputs: int,
        channels: Sequence[int] = (256, 256, 256),
        head_hidden: Sequence[int] = (256, 256, 256, 256),
        pool: Pool = "mean",
        norm: Literal["none", "batch"] = "none",
    ) -> None:
        super().__init__()
        if pool not in ("mean", "max", "mean+max"):
            raise ValueError(f"HartfordNet: pool must be 'mean', 'max' or 'mean+max', got {pool!r}")
        if norm not in ("none", "batch"):
            raise ValueError(f"HartfordNet: norm must be 'none' or 'batch', got {norm!r}")
        if not channels:
            raise ValueError("HartfordNet: channels must name at least one exchangeable layer")
        self.pool = pool
        self.layers = nn.ModuleList()
        self.norms = nn.ModuleList()
        in_ch = 1
        for out_ch in channels:
            self.layers.append(ExchangeableLayer(in_ch, out_ch))
            self.norms.append(nn.BatchNorm1d(out_ch) if norm == "batch" else nn.Identity())
            in_ch = out_ch
        self.head = mlp_head(in_ch * (2 if pool == "mean+max" else 1), head_hidden, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, rows, cols)`` float → ``(B, n_outputs)``."""
        h = x.unsqueeze(-1)  # channels last: (B, rows, cols, 1)
        for layer, norm in zip(self.layers, self.norms, strict=True):
            h = layer.forward_channels_last(h)
            # BatchNorm over batch, rows and columns together, so equivariance is kept
            h = torch.relu(norm(h.flatten(0, 2)).view_as(h))
        return self.head(pool_set(h.flatten(1, 2), self.pool))  # pooled over all rows*cols entries
