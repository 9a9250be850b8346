"""Evaluation protocols of the audio genre models, as index splits over a clip table.

- :func:`gtzan_folds`: the usual GTZAN protocol, stratified 10-fold cross-validation over the 1000 30-s clips
  (shuffled with a seed); the report gives mean ± sd of the fold accuracies (:mod:`symbench.reports.tables`).
  The fault-filtered split of Kereliuk, Sturm & Larsen (2015) is not provided: its exact track lists are not
  available here, and an approximation would not be that protocol.
- :func:`stimulus_split`: the fMRI study's split of its 540 stimuli, the clips of the Training runs (480) vs
  those of the Test runs (60).
- :func:`validation_part`: a stratified part of a training split for early stopping, so test indices are never
  used to choose an epoch.

Every function returns sorted int64 index arrays into the arrays it was given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

__all__ = ["STIMULUS_TASKS", "gtzan_folds", "stimulus_split", "validation_part"]

STIMULUS_TASKS = ("Training", "Test")


def gtzan_folds(
    labels: np.ndarray | Sequence[int], n_folds: int = 10, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_folds`` stratified ``(train_idx, test_idx)`` pairs: test parts disjoint, covering every clip once.

    ``labels``: the genre index of each clip ``(n,)``. Raises ``ValueError`` if a genre has fewer than
    ``n_folds`` clips (stratification impossible).
    """
    labels = _labels(labels, "gtzan_folds")
    if int(n_folds) < 2:
        raise ValueError(f"gtzan_folds: n_folds must be at least 2, got {n_folds!r}")
    counts = np.unique(labels, return_counts=True)[1]
    if counts.min() < n_folds:
        raise ValueError(
            f"gtzan_folds: every genre needs at least n_folds={n_folds} clips, the smallest has {counts.min()}"
        )
    folds = StratifiedKFold(n_splits=int(n_folds), shuffle=True, random_state=seed)
    return [
        (np.sort(train).astype(np.int64), np.sort(test).astype(np.int64))
        for train, test in folds.split(np.zeros(len(labels)), labels)
    ]


def stimulus_split(tasks: np.ndarray | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, test_idx)``: the clips whose task is ``"Training"``, and those whose task is ``"Test"``.

    ``tasks``: the BIDS task of each clip (the ``task`` column of :func:`symbench.music.events.clip_table`).
    Raises ``ValueError`` for any other task name or when either part is empty.
    """
    tasks = np.asarray(tasks, dtype=object)
    if tasks.ndim != 1:
        raise ValueError(f"stimulus_split: tasks must be one task name per clip (n,), got shape {tasks.shape}")
    unknown = sorted({str(t) for t in tasks} - set(STIMULUS_TASKS))
    if unknown:
        raise ValueError(f"stimulus_split: tasks must be one of {STIMULUS_TASKS}, got {unknown}")
    train = np.flatnonzero(tasks == "Training").astype(np.int64)
    test = np.flatnonzero(tasks == "Test").astype(np.int64)
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"stimulus_split: need both Training and Test clips, got {len(train)} and {len(test)}")
    return train, test


def validation_part(
    train_idx: np.ndarray | Sequence[int],
    labels: np.ndarray | Sequence[int],
    fraction: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(fit_idx, val_idx)``: ``train_idx`` split into a fitting part and a stratified ``fraction`` for validation.

    ``labels`` is indexed by ``train_idx`` (the labels of all clips, not of the training part only). Both parts
    are subsets of ``train_idx`` and disjoint.
    """
    labels = _labels(labels, "validation_part")
    train_idx = np.asarray(train_idx)
    if train_idx.ndim != 1 or not np.issubdtype(train_idx.dtype, np.integer) or len(train_idx) < 2:
        raise ValueError(f"validation_part: train_idx must be at least 2 integer indices, got shape {train_idx.shape}")
    if train_idx.min() < 0 or train_idx.max() >= len(labels):
        raise ValueError(f"validation_part: train_idx must index into labels of length {len(labels)}")
    if len(np.unique(train_idx)) != len(train_idx):
        raise ValueError("validation_part: train_idx has repeated indices")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_part: fraction must be in (0, 1), got {fraction}")
    fit, val = train_test_split(
        train_idx, test_size=fraction, random_state=seed, shuffle=True, stratify=labels[train_idx]
    )
    return np.sort(fit).astype(np.int64), np.sort(val).astype(np.int64)


def _labels(labels: np.ndarray | Sequence[int], where: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{where}: labels must be a non-empty integer array (n,), got {labels.dtype} {labels.shape}")
    return labels
