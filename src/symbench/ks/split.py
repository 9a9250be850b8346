"""The reference's train/test split, plus a validation part carved from train for early stopping."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SplitIndices:
    """Row indices into the polytope arrays; disjoint, together a subset of range(N)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def reference_split(
    n: int,
    *,
    seed: int = 42,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    val_seed: int = 0,
    max_train: int | None = None,
    max_test: int | None = None,
) -> SplitIndices:
    """Shuffle with ``np.random.RandomState(seed)`` and cut ``int((1 - test_fraction) * n)`` for train.

    This is the reference's protocol (78,468 -> 62,774 train / 15,694 test). Validation rows are a seeded share of
    train, so the test part stays untouched by model selection. ``max_*`` cap sizes for quick profiles.
    """
    if not 0 < test_fraction < 1 or not 0 < val_fraction < 1:
        raise ValueError(f"fractions must lie in (0, 1): test={test_fraction}, val={val_fraction}")
    order = np.random.RandomState(seed).permutation(n)
    n_train = int((1 - test_fraction) * n)
    train_all, test = order[:n_train], order[n_train:]
    if max_train is not None:
        train_all = train_all[:max_train]
    if max_test is not None:
        test = test[:max_test]
    val_order = np.random.default_rng(val_seed).permutation(len(train_all))
    n_val = max(1, int(round(val_fraction * len(train_all))))
    val, train = train_all[np.sort(val_order[:n_val])], train_all[np.sort(val_order[n_val:])]
    return SplitIndices(train=train, val=val, test=test)
