"""Containers passed to and returned by the fit functions: the split arrays in, a fitted predictor out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SplitArrays:
    """Train / validation / test parts of one data variant.

    ``x_*``: int8 vertex matrices ``(n, rows, cols)`` (4 × 26 for KS); ``y_*``: int64 targets (the h11 value
    itself, used directly as the class index by classifiers). The validation part is carved from train and
    used for early stopping only; test is never looked at during fitting.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self) -> None:
        for part in ("train", "val", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.ndim != 3:
                raise ValueError(f"SplitArrays.x_{part}: expected shape (n, rows, cols), got {x.shape}")
            if y.shape != (x.shape[0],):
                raise ValueError(f"SplitArrays.y_{part}: expected shape ({x.shape[0]},), got {y.shape}")
        shapes = {getattr(self, f"x_{p}").shape[1:] for p in ("train", "val", "test")}
        if len(shapes) != 1:
            raise ValueError(f"SplitArrays: train/val/test matrices differ in shape: {sorted(shapes)}")

    @property
    def matrix_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of every matrix."""
        rows, cols = self.x_train.shape[1:]
        return int(rows), int(cols)


@dataclass
class FitResult:
    """A fitted model as functions plus what the report needs about the fit.

    ``predict``: int8/float matrices ``(n, rows, cols)`` → predicted h11 as int64 ``(n,)`` (argmax class,
    or the rounded regression value). ``predict_raw``: the same matrices → float outputs (logits
    ``(n, n_classes)``, class probabilities for XGBoost ``multi:softprob``, or regression values ``(n,)``).
    ``n_params``: trainable parameters (torch) or tree nodes (XGBoost). ``epochs_run``/``best_epoch``:
    epochs (torch, 0-based best) or boosting rounds (XGBoost, 0-based best iteration). ``best_val_acc``:
    accuracy on the validation part of the model that is returned. ``raw_kind``: what ``predict_raw`` returns,
    ``"logits"``, ``"probabilities"`` or ``"values"`` (see :mod:`symbench.evaluation.invariance`).
    """

    predict: Callable[[np.ndarray], np.ndarray]
    predict_raw: Callable[[np.ndarray], np.ndarray]
    n_params: int
    train_seconds: float
    epochs_run: int
    best_epoch: int
    best_val_acc: float
    raw_kind: str
