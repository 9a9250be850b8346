"""Hand-made S4×S26 invariants of a vertex matrix, and an MLP on them: exactly invariant by construction.

Every feature below is unchanged when the rows of X are permuted (σ ∈ S4) and when its columns are permuted
(τ ∈ S26). The recurring argument: the row Gram matrix ``G = X Xᵀ`` (4×4) is unchanged by τ and conjugated by σ;
the column Gram matrix ``H = Xᵀ X`` (26×26) is unchanged by σ and conjugated by τ; a multiset (sorted values,
histogram) of quantities that one factor permutes and the other fixes is invariant under both. ``H`` has the
same nonzero spectrum as ``G``, so its eigenvalues are not listed separately.

All features are computed in float64; for integer entries all but the two spectra are computed exactly (or from
exact integer sums), so they are equal bit for bit across an orbit, and the eigenvalues agree to ~1e-12 relative.
Features are returned in the input's dtype. They are not meant to be differentiated: the
input is detached. This is not a model from the reference (danielplatt/kreuzer-skarke-ML).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from symbench.models.mlp_head import mlp_head

ENTRY_RANGE = (-8, 6)  # the KS entries; values outside are counted in the end bins
GRAM_RANGE = (-24, 24)  # off-diagonal column inner products; values outside are counted in the end bins


def row_gram_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of ``X Xᵀ`` ascending (4): τ fixes the matrix, σ conjugates it (= XᵀX's nonzero spectrum)."""
    return torch.linalg.eigvalsh(x @ x.transpose(1, 2))


def row_gram_off_diagonal(x: torch.Tensor) -> torch.Tensor:
    """Sorted inner products of distinct rows (6): τ fixes each, σ permutes them."""
    i, j = torch.triu_indices(x.shape[1], x.shape[1], 1, device=x.device)
    return (x[:, i] * x[:, j]).sum(dim=-1).sort(dim=1).values


def row_sums(x: torch.Tensor) -> torch.Tensor:
    """Sorted row sums (4): the coordinates of the vertices' sum, permuted by σ, fixed by τ."""
    return x.sum(dim=2).sort(dim=1).values


def row_squared_norms(x: torch.Tensor) -> torch.Tensor:
    """Sorted squared row norms (4), the diagonal of ``X Xᵀ``."""
    return x.square().sum(dim=2).sort(dim=1).values


def row_abs_sums(x: torch.Tensor) -> torch.Tensor:
    """Sorted row L1 norms (4)."""
    return x.abs().sum(dim=2).sort(dim=1).values


def column_sums(x: torch.Tensor) -> torch.Tensor:
    """Sorted column sums (26): σ fixes each column's sum, τ permutes them."""
    return x.sum(dim=1).sort(dim=1).values


def column_squared_norms(x: torch.Tensor) -> torch.Tensor:
    """Sorted squared vertex norms (26), the diagonal of ``Xᵀ X``."""
    return x.square().sum(dim=1).sort(dim=1).values


def column_projections_on_sum(x: torch.Tensor) -> torch.Tensor:
    """Sorted ``xⱼ · Σᵢ xᵢ`` (26): each vertex's inner product with the vertices' sum, i.e. the row sums of ``Xᵀ X``."""
    return (x * x.sum(dim=2, keepdim=True)).sum(dim=1).sort(dim=1).values


def entry_histogram(x: torch.Tensor) -> torch.Tensor:
    """Counts of each entry value in ``ENTRY_RANGE`` (15 for -8..6), the multiset of all entries."""
    return _histogram(x.flatten(1), *ENTRY_RANGE)


def column_gram_histogram(x: torch.Tensor) -> torch.Tensor:
    """Counts of each off-diagonal column inner product ``xᵢ · xⱼ`` (i < j) in ``GRAM_RANGE`` (49 bins)."""
    return _histogram(_column_gram_off_diagonal(x), *GRAM_RANGE)


def column_gram_moments(x: torch.Tensor) -> torch.Tensor:
    """Min, max, mean and standard deviation of the off-diagonal column inner products (4), unclamped."""
    g = _column_gram_off_diagonal(x)
    n = g.shape[1]
    # the variance from sums of integers (exact in float64), so equal multisets give equal bits whatever the order
    total, squares = g.sum(dim=1), g.square().sum(dim=1)
    std = ((squares - total * total / n) / (n - 1)).clamp_min(0).sqrt()
    return torch.stack([g.amin(dim=1), g.amax(dim=1), total / n, std], dim=1)


def column_distance_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Eigenvalues ascending (26) of the squared-distance matrix ``Dᵢⱼ = |xᵢ - xⱼ|²`` between vertices: σ leaves
    it unchanged, τ conjugates it. Unlike ``Xᵀ X``, its spectrum is not determined by ``X Xᵀ``."""
    norms = x.square().sum(dim=1)
    d = norms[:, :, None] + norms[:, None, :] - 2 * (x.transpose(1, 2) @ x)
    return torch.linalg.eigvalsh(d)


def antipodal_pairs(x: torch.Tensor) -> torch.Tensor:
    """Number of unordered pairs of columns with ``xᵢ = -xⱼ`` (1): vertex pairs symmetric through the origin.

    (The number of distinct columns would be invariant too, but it is 26 for every KS matrix.)
    """
    opposite = (x[:, :, :, None] == -x[:, :, None, :]).all(dim=1)  # (B, n, n): column i is minus column j
    upper = torch.ones_like(opposite[0]).triu(1)
    return (opposite & upper).sum(dim=(1, 2))[:, None].to(x.dtype)


FEATURES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    f.__name__: f
    for f in (
        row_gram_spectrum,
        row_gram_off_diagonal,
        row_sums,
        row_squared_norms,
        row_abs_sums,
        column_sums,
        column_squared_norms,
        column_projections_on_sum,
        entry_histogram,
        column_gram_histogram,
        column_gram_moments,
        column_distance_spectrum,
        antipodal_pairs,
    )
}


def invariant_features(x: torch.Tensor) -> torch.Tensor:
    """``(B, rows, cols)`` → ``(B, F)``: every function of :data:`FEATURES` concatenated in order (F = 195 for 4×26)."""
    if x.dim() != 3:
        raise ValueError(
            f"invariant_features: expected a batch of matrices (B, rows, cols), got shape {tuple(x.shape)}"
        )
    x64 = x.detach().to(torch.float64)
    return torch.cat([f(x64) for f in FEATURES.values()], dim=1).to(x.dtype)


class InvariantFeatureMLP(nn.Module):
    """:func:`invariant_features` → (signed log) → standardisation → MLP → ``(B, n_outputs)``.

    Exactly invariant under every row permutation σ ∈ S4 and column permutation τ ∈ S26, up to float rounding in
    the two eigenvalue features (the other features are equal bit for bit across an orbit).

    Args:
        n_outputs: number of classes (classification) or 1 (regression).
        hidden: widths of the hidden layers (Linear → BatchNorm → ReLU → Dropout each).
        dropout: dropout after each hidden layer.
        transform: ``"signed_log"`` maps each feature f to ``sign(f)·log1p(|f|)`` (eigenvalues and Gram
            entries span several orders of magnitude), ``"none"`` keeps it.
        standardize: a BatchNorm without affine parameters on the features (running statistics at eval time).
        batch_norm: BatchNorm in the hidden layers.
    """

    def __init__(
        self,
        n_outputs: int,
        hidden: Sequence[int] = (256, 256),
        dropout: float = 0.1,
        transform: Literal["signed_log", "none"] = "signed_log",
        standardize: bool = True,
        batch_norm: bool = True,
        rows: int = 4,
        cols: int = 26,
    ) -> None:
        super().__init__()
        if transform not in ("signed_log", "none"):
            raise ValueError(f"InvariantFeatureMLP: transform must be 'signed_log' or 'none', got {transform!r}")
        self.transform = transform
        n_features = invariant_features(torch.zeros(1, rows, cols)).shape[1]
        self.standardize = nn.BatchNorm1d(n_features, affine=False) if standardize else nn.Identity()
        self.mlp = mlp_head(n_features, hidden, n_outputs, batch_norm=batch_norm, dropout=dropout)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, rows, cols)`` → ``(B, F)`` transformed features, before standardisation."""
        f = invariant_features(x)
        return torch.sign(f) * torch.log1p(f.abs()) if self.transform == "signed_log" else f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, rows, cols)`` float → ``(B, n_outputs)``."""
        return self.mlp(self.standardize(self.features(x)))


def _column_gram_off_diagonal(x: torch.Tensor) -> torch.Tensor:
    """``(B, n(n-1)/2)`` inner products of distinct columns, in a fixed (not sorted) order."""
    i, j = torch.triu_indices(x.shape[2], x.shape[2], 1, device=x.device)
    gram = x.transpose(1, 2) @ x
    return gram[:, i, j]


def _histogram(values: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """``(B, M)`` → ``(B, hi - lo + 1)`` counts of each integer in ``lo..hi`` after rounding and clamping."""
    bins = values.round().clamp(lo, hi).long() - lo
    return F.one_hot(bins, hi - lo + 1).sum(dim=1).to(values.dtype)
