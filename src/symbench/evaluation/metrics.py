"""Test-split metrics: exact-match accuracy, mean absolute error and the majority-class baseline."""

from __future__ import annotations

import numpy as np


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of exact matches (regression models pass rounded predictions)."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of |y_true - y_pred| over the predicted integer labels."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true.astype(np.float64) - y_pred.astype(np.float64))))


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> float:
    """Accuracy on ``y_test`` of always predicting the most frequent label of ``y_train``."""
    values, counts = np.unique(np.asarray(y_train), return_counts=True)
    return accuracy(y_test, np.full(len(y_test), values[np.argmax(counts)]))


def _check_pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"labels and predictions must be non-empty and equal in length: {y_true.shape} vs {y_pred.shape}"
        )
    return y_true, y_pred
