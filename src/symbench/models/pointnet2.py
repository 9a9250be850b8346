"""PointNet++ (Qi et al. 2017, "PointNet++: Deep Hierarchical Feature Learning on Point Sets in a Metric Space")
with the 26 columns of the vertex matrix as points in R^4; plain batched torch, no CUDA ops.

Each set abstraction (SA) layer picks centroids by farthest-point sampling (FPS), groups neighbours of each
centroid (ball query or kNN), concatenates their coordinates relative to the centroid with their features, runs a
shared MLP and max-pools each group. A final global SA pools all remaining points; an MLP head follows. Not in the
reference repository (danielplatt/kreuzer-skarke-ML has only the single-level PointNet).

What it is invariant to, honestly:

- FPS starts at a **fixed index** (``fps_start``, default point 0) and breaks distance ties by the lowest index,
  kNN breaks distance ties by the lowest index, and a ball query keeps the first ``n_max`` points in index order.
  So the model is a deterministic function of its input, but **not** exactly invariant under column
  permutations τ ∈ S26: τ changes which point FPS starts from and how ties fall. It is permutation invariant up
  to those choices; when every SA layer samples all points and groups all points (``n_samples = k = N``) the
  choices no longer matter and it is exactly τ-invariant (a test pins this).
- Not invariant under row permutations σ ∈ S4: rows are the coordinates of the points and the MLPs read them in
  order (the distances used for sampling and grouping *are* σ-invariant).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from symbench.models.mlp_head import mlp_head

Grouping = Literal["knn", "ball"]


def farthest_point_sample(xyz: torch.Tensor, n_samples: int, start: int = 0) -> torch.Tensor:
    """Indices ``(B, n_samples)`` of iterative farthest points of ``xyz`` ``(B, N, D)``, beginning at point ``start``.

    Each step takes the point whose squared distance to the already chosen set is largest, the lowest index among
    equals (``argmax`` returns the first maximum), so the result is deterministic.
    """
    b, n, _ = xyz.shape
    if not 0 < n_samples <= n:
        raise ValueError(f"farthest_point_sample: n_samples must be in 1..{n}, got {n_samples}")
    if not 0 <= start < n:
        raise ValueError(f"farthest_point_sample: start must be in 0..{n - 1}, got {start}")
    batch = torch.arange(b, device=xyz.device)
    chosen = torch.empty(b, n_samples, dtype=torch.long, device=xyz.device)
    distance = torch.full((b, n), float("inf"), dtype=xyz.dtype, device=xyz.device)
    farthest = torch.full((b,), start, dtype=torch.long, device=xyz.device)
    for i in range(n_samples):
        chosen[:, i] = farthest
        d = (xyz - xyz[batch, farthest][:, None, :]).square().sum(dim=-1)
        distance = torch.minimum(distance, d)
        farthest = distance.argmax(dim=1)
    return chosen


def ball_query(xyz: torch.Tensor, centroids: torch.Tensor, radius: float, n_max: int) -> torch.Tensor:
    """Indices ``(B, S, n_max)`` of points of ``xyz`` ``(B, N, D)`` within ``radius`` of each centroid ``(B, S, D)``.

    As the paper's CUDA op: a point is in the ball when its squared distance is strictly below ``radius²``; the
    first ``n_max`` such points in index order are kept, and a short group is padded with its first index. A
    centroid with no point in its ball (impossible when centroids are points of ``xyz``) gets its nearest point.
    """
    n = xyz.shape[1]
    d2 = _squared_distances(centroids, xyz)  # (B, S, N)
    index = torch.arange(n, device=xyz.device).expand_as(d2)
    candidates = torch.where(d2 < radius * radius, index, n).sort(dim=-1).values[..., :n_max]
    if candidates.shape[-1] < n_max:
        candidates = torch.cat([candidates, candidates.new_full((*candidates.shape[:-1], n_max - n), n)], dim=-1)
    first = candidates[..., :1]
    first = torch.where(first == n, d2.argmin(dim=-1, keepdim=True), first)
    return torch.where(candidates == n, first, candidates)


def knn_query(xyz: torch.Tensor, centroids: torch.Tensor, k: int) -> torch.Tensor:
    """Indices ``(B, S, k)`` of the ``k`` points of ``xyz`` ``(B, N, D)`` nearest each centroid, nearest first.

    Ties in distance go to the lower index (a stable sort), so the result is deterministic.
    """
    if not 0 < k <= xyz.shape[1]:
        raise ValueError(f"knn_query: k must be in 1..{xyz.shape[1]}, got {k}")
    return _squared_distances(centroids, xyz).argsort(dim=-1, stable=True)[..., :k]


def group_points(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``points`` ``(B, N, C)`` gathered by ``idx`` ``(B, S, K)`` → ``(B, S, K, C)`` (any index shape after B)."""
    batch = torch.arange(points.shape[0], device=points.device).view(-1, *([1] * (idx.dim() - 1)))
    return points[batch, idx]


class SetAbstraction(nn.Module):
    """FPS → group (ball or kNN) → [relative coordinates, features] → shared MLP → max over each group.

    With ``n_samples=None`` it is the global SA: one group holding every point, coordinates taken as they are.
    """

    def __init__(
        self,
        in_features: int,
        widths: Sequence[int],
        n_samples: int | None = None,
        grouping: Grouping = "knn",
        k: int = 8,
        radius: float = 4.0,
        pos_features: int = 4,
        batch_norm: bool = True,
        fps_start: int = 0,
    ) -> None:
        super().__init__()
        if grouping not in ("knn", "ball"):
            raise ValueError(f"SetAbstraction: grouping must be 'knn' or 'ball', got {grouping!r}")
        self.n_samples, self.grouping, self.k, self.radius, self.fps_start = n_samples, grouping, k, radius, fps_start
        layers: list[nn.Module] = []
        width = in_features + pos_features
        for out in widths:
            layers += [nn.Linear(width, out), nn.BatchNorm1d(out) if batch_norm else nn.Identity(), nn.ReLU()]
            width = out
        self.mlp = nn.ModuleList(layers)
        self.out_features = width

    def forward(self, xyz: torch.Tensor, features: torch.Tensor | None) -> tuple[torch.Tensor | None, torch.Tensor]:
        """``xyz`` ``(B, N, D)``, ``features`` ``(B, N, C)`` or None → new ``xyz`` ``(B, S, D)`` (None if global),
        new features ``(B, S, C')``."""
        if self.n_samples is None:
            grouped = xyz[:, None]  # (B, 1, N, D)
            new_xyz = None
            if features is not None:
                grouped = torch.cat([grouped, features[:, None]], dim=-1)
        else:
            new_xyz = group_points(xyz, farthest_point_sample(xyz, self.n_samples, self.fps_start))
            if self.grouping == "knn":
                idx = knn_query(xyz, new_xyz, self.k)
            else:
                idx = ball_query(xyz, new_xyz, self.radius, self.k)
            grouped = group_points(xyz, idx) - new_xyz[:, :, None, :]
            if features is not None:
                grouped = torch.cat([grouped, group_points(features, idx)], dim=-1)
        h = grouped
        for layer in self.mlp:
            # BatchNorm1d sees (everything, channels): statistics shared over batch, groups and members
            h = layer(h.flatten(0, -2)).view(*h.shape[:-1], -1) if isinstance(layer, nn.BatchNorm1d) else layer(h)
        return new_xyz, h.amax(dim=2)


class KSPointNet2(nn.Module):
    """PointNet++ classification network on the 26 columns as points in R^4 → ``(B, n_outputs)``.

    Args:
        n_outputs: number of classes (classification) or 1 (regression).
        n_samples: centroids of each SA layer (FPS), in order; each at most the previous layer's count.
        neighbours: group size of each SA layer (kNN: k; ball: the paper's ``nsample``).
        widths: shared-MLP widths of each SA layer.
        global_widths: shared-MLP widths of the final global SA.
        grouping: ``"knn"`` or ``"ball"`` (the paper's default; then ``radii`` is used).
        radii: ball radius of each SA layer (entries are integers, distances up to ~20).
        head_hidden: hidden widths of the head (Linear → BatchNorm → ReLU → Dropout each).
        dropout: dropout in the head (the official PointNet++ classifier: 0.5).
        batch_norm: BatchNorm in the shared MLPs and the head (paper: yes).
        fps_start: the point FPS starts from (see the module docstring on invariance).
        rows: coordinates of a point (4 for the KS data).
    """

    def __init__(
        self,
        n_outputs: int,
        n_samples: Sequence[int] = (16, 8),
        neighbours: Sequence[int] = (8, 8),
        widths: Sequence[Sequence[int]] = ((32, 32, 64), (64, 64, 128)),
        global_widths: Sequence[int] = (128, 256),
        grouping: Grouping = "knn",
        radii: Sequence[float] = (4.0, 8.0),
        head_hidden: Sequence[int] = (256, 128),
        dropout: float = 0.4,
        batch_norm: bool = True,
        fps_start: int = 0,
        rows: int = 4,
    ) -> None:
        super().__init__()
        if not len(n_samples) == len(neighbours) == len(widths) or (grouping == "ball" and len(radii) < len(widths)):
            raise ValueError(
                "KSPointNet2: n_samples, neighbours and widths (and radii for ball grouping) need one entry per SA "
                f"layer, got {len(n_samples)}, {len(neighbours)}, {len(widths)} (radii {len(radii)})"
            )
        self.sa_layers = nn.ModuleList()
        in_features = 0
        for i, (s, k, w) in enumerate(zip(n_samples, neighbours, widths, strict=True)):
            radius = float(radii[i]) if grouping == "ball" else 0.0
            sa = SetAbstraction(in_features, w, int(s), grouping, int(k), radius, rows, batch_norm, fps_start)
            self.sa_layers.append(sa)
            in_features = sa.out_features
        self.global_sa = SetAbstraction(in_features, global_widths, None, pos_features=rows, batch_norm=batch_norm)
        self.head = mlp_head(
            self.global_sa.out_features, head_hidden, n_outputs, batch_norm=batch_norm, dropout=dropout
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, rows, cols)`` float → ``(B, n_outputs)``."""
        xyz: torch.Tensor | None = x.transpose(1, 2).contiguous()
        features: torch.Tensor | None = None
        for sa in self.sa_layers:
            xyz, features = sa(xyz, features)
        _, pooled = self.global_sa(xyz, features)
        return self.head(pooled.squeeze(1))


def _squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(B, S, N)`` squared distances from ``a`` ``(B, S, D)`` to ``b`` ``(B, N, D)``, as sums of squared
    differences (exact for integer coordinates, so ties stay ties)."""
    return (a[:, :, None, :] - b[:, None, :, :]).square().sum(dim=-1)
