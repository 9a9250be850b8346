"""Measured invariance of a fitted predictor under random row and column permutations (σ, τ) ∈ S_m × S_n.

For every test matrix B and each of ``n_draws`` random (σ, τ), the predictor sees ``project(σ B τ)`` — the
input it would have received had the polytope been listed in another order: ``project`` is the data variant's
preprocessing (identity, Dirichlet ascent or canonical form), so what is measured is the invariance of the whole
pipeline, preprocessing included. Two numbers summarise it:

- ``prediction_change_rate``: the share of (matrix, draw) pairs whose predicted h11 differs from the prediction
  on B itself; exactly 0 for an exactly invariant pipeline.
- ``mean_output_change``: the mean absolute change of the output in h11 units (the expected h11 under the
  predicted class distribution, or the regression value). Float round-off makes it ~1e-7 rather than 0 for
  invariant architectures that sum in a different order; a canonical-form pipeline feeds identical inputs and
  gives exactly 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from symbench.groups import apply_permutations, random_permutations

RawKind = Literal["logits", "probabilities", "values"]


@dataclass(frozen=True)
class InvarianceError:
    """What a random (σ, τ) does to the predictions on a set of matrices."""

    prediction_change_rate: float
    mean_output_change: float
    max_output_change: float
    n_matrices: int
    n_draws: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def invariance_error(
    predict_raw: Callable[[np.ndarray], np.ndarray],
    raw_kind: RawKind,
    X: np.ndarray,
    *,
    project: Callable[[np.ndarray], np.ndarray] | None = None,
    n_draws: int = 4,
    seed: int = 0,
    act_on: Literal["rows_and_columns", "columns"] = "rows_and_columns",
) -> InvarianceError:
    """Invariance error of ``predict_raw`` (matrices → raw outputs of kind ``raw_kind``) on the stack ``X``.

    ``X`` holds the inputs the predictor normally sees (already projected); ``project`` maps permuted copies back
    through the same preprocessing. Draws are seeded, so the same model gives the same numbers. ``act_on="columns"``
    keeps σ the identity: the error under S_n alone, for models that claim only column invariance.
    """
    X = np.asarray(X)
    if X.ndim != 3 or len(X) == 0:
        raise ValueError(f"invariance_error: expected a non-empty stack of matrices (n, rows, cols), got {X.shape}")
    if act_on not in ("rows_and_columns", "columns"):
        raise ValueError(f"invariance_error: act_on must be 'rows_and_columns' or 'columns', got {act_on!r}")
    if n_draws < 1:
        raise ValueError(f"invariance_error: n_draws must be at least 1, got {n_draws}")
    n, rows, cols = X.shape
    base_raw = predict_raw(X)
    base_labels, base_values = raw_to_labels(base_raw, raw_kind), raw_to_values(base_raw, raw_kind)
    rng = np.random.default_rng(seed)
    changed = 0
    total_change = 0.0
    max_change = 0.0
    for _ in range(n_draws):
        sigma, tau = random_permutations(rng, n, rows, cols)
        if act_on == "columns":
            sigma = np.broadcast_to(np.arange(rows), (n, rows))
        moved = apply_permutations(X, sigma, tau)
        if project is not None:
            moved = project(moved)
        raw = predict_raw(moved)
        changed += int(np.count_nonzero(raw_to_labels(raw, raw_kind) != base_labels))
        change = np.abs(raw_to_values(raw, raw_kind) - base_values)
        total_change += float(change.sum())
        max_change = max(max_change, float(change.max()))
    pairs = n * n_draws
    return InvarianceError(
        prediction_change_rate=changed / pairs,
        mean_output_change=total_change / pairs,
        max_output_change=max_change,
        n_matrices=n,
        n_draws=n_draws,
    )


def raw_to_labels(raw: np.ndarray, raw_kind: RawKind) -> np.ndarray:
    """Predicted h11 (int64): argmax class for logits/probabilities, the rounded value for regression."""
    raw = np.asarray(raw)
    if raw_kind == "values":
        return np.rint(raw.reshape(len(raw))).astype(np.int64)
    _check_kind(raw_kind)
    return raw.argmax(axis=1).astype(np.int64)


def raw_to_values(raw: np.ndarray, raw_kind: RawKind) -> np.ndarray:
    """The output in h11 units (float64): the regression value, or the expected class under the distribution."""
    raw = np.asarray(raw, dtype=np.float64)
    if raw_kind == "values":
        return raw.reshape(len(raw))
    _check_kind(raw_kind)
    if raw_kind == "logits":
        raw = np.exp(raw - raw.max(axis=1, keepdims=True))
        raw /= raw.sum(axis=1, keepdims=True)
    return raw @ np.arange(raw.shape[1], dtype=np.float64)


def _check_kind(raw_kind: str) -> None:
    if raw_kind not in ("logits", "probabilities", "values"):
        raise ValueError(f"raw_kind must be 'logits', 'probabilities' or 'values', got {raw_kind!r}")
