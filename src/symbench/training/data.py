"""Containers passed to and returned by the fit functions: the split arrays in, a fitted predictor out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SplitArrays:
    """Train / validation / test parts of one data variant.

    ``x_*``: arrays ``(n, *sample_shape)`` with at least one axis after ``n`` and the same ``sample_shape`` in
    every part: int8 vertex matrices ``(n, rows, cols)`` (4 × 26) for KS, float fMRI clips (ROI features or
    whole-brain tensors) for the music study. ``y_*``: int64 targets (the h11 value or the genre index, used
    directly as the class index by classifiers). The validation part is carved from train and used for early
    stopping only; test is never looked at during fitting.
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
            if x.ndim < 2:
                raise ValueError(f"SplitArrays.x_{part}: expected shape (n, *sample_shape), got {x.shape}")
            if y.shape != (x.shape[0],):
                raise ValueError(f"SplitArrays.y_{part}: expected shape ({x.shape[0]},), got {y.shape}")
        shapes = {getattr(self, f"x_{p}").shape[1:] for p in ("train", "val", "test")}
        if len(shapes) != 1:
            raise ValueError(f"SplitArrays: train/val/test samples differ in shape: {sorted(shapes)}")

    @property
    def matrix_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of every matrix; only for matrix samples ``(n, rows, cols)``."""
        shape = self.x_train.shape[1:]
        if len(shape) != 2:
            raise ValueError(f"SplitArrays.matrix_shape: samples are not (rows, cols) matrices but {shape}")
        rows, cols = shape
        return int(rows), int(cols)


@dataclass
class FitResult:
    """A fitted model as functions plus what the report needs about the fit.

    ``predict``: int8/float samples shaped like ``SplitArrays.x_*`` (KS: matrices ``(n, rows, cols)``) →
    predicted class (h11, genre) as int64 ``(n,)`` (argmax class, or the rounded regression value).
    ``predict_raw``: the same samples → float outputs (logits
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
