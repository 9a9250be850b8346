"""Genre confusion counts, shared by the brain and the audio stages."""

from __future__ import annotations

import numpy as np

from symbench.music.events import GTZAN_GENRES


def genre_confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """(true genre, predicted genre) counts over the ten GTZAN genres; labels must be genre indices."""
    n = len(GTZAN_GENRES)
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or (
        y_true.size and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= n)
    ):
        raise ValueError(f"genre_confusion: expected equal-length genre indices in 0..{n - 1}")
    return np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n)
