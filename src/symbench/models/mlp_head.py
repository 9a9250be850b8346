"""The two pieces every set model here ends with: pooling over a set axis, then an MLP head to the outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

SetPool = Literal["mean", "max", "sum", "mean+max"]


def mlp_head(
    in_features: int,
    hidden: Sequence[int],
    n_outputs: int,
    *,
    activation: type[nn.Module] = nn.ReLU,
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> nn.Sequential:
    """``Linear → [BatchNorm] → activation → [Dropout]`` per hidden width, then ``Linear`` to ``n_outputs``."""
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(activation())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


def pool_set(h: torch.Tensor, pool: SetPool, dim: int = 1) -> torch.Tensor:
    """Symmetric pooling over axis ``dim``: invariant to any reordering along it (``mean+max`` concatenates)."""
    if pool == "mean":
        return h.mean(dim=dim)
    if pool == "max":
        return h.amax(dim=dim)
    if pool == "sum":
        return h.sum(dim=dim)
    if pool == "mean+max":
        return torch.cat([h.mean(dim=dim), h.amax(dim=dim)], dim=-1)
    raise ValueError(f"pool_set: pool must be 'mean', 'max', 'sum' or 'mean+max', got {pool!r}")
