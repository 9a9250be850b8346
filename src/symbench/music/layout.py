"""File naming of OpenNeuro ds003720 (BIDS 1.4): subjects, tasks, runs and their relative paths."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

DATASET = "ds003720"
VERSION = "1.0.1"
SUBJECTS = ("sub-001", "sub-002", "sub-003", "sub-004", "sub-005")
# Twelve training runs and six test runs per subject (README of the dataset).
TASK_RUNS: Mapping[str, int] = {"Training": 12, "Test": 6}
TOP_LEVEL_FILES = ("dataset_description.json", "README", "CHANGES")


def subject_label(subject: int | str) -> str:
    """``'sub-001'`` from ``1``, ``'1'``, ``'001'`` or ``'sub-001'``."""
    text = str(subject)
    match = re.fullmatch(r"(?:sub-)?0*(\d{1,3})", text)
    if match is None:
        raise ValueError(f"subject {subject!r}: expected an integer or a label like 'sub-001'")
    return f"sub-{int(match.group(1)):03d}"


def task_runs(task: str) -> range:
    """The run numbers of ``task`` (``'Training'``: 1..12, ``'Test'``: 1..6)."""
    if task not in TASK_RUNS:
        raise ValueError(f"task {task!r}: expected one of {sorted(TASK_RUNS)}")
    return range(1, TASK_RUNS[task] + 1)


def func_path(subject: int | str, task: str, run: int, suffix: str) -> str:
    """Relative path of a functional file, e.g. ``suffix='bold.nii'``, ``'bold.json'`` or ``'events.tsv'``."""
    if run not in task_runs(task):
        raise ValueError(f"run {run} of task {task}: expected one of {list(task_runs(task))}")
    sub = subject_label(subject)
    return f"{sub}/func/{sub}_task-{task}_run-{run:02d}_{suffix}"


def anat_path(subject: int | str, suffix: str = "T1w.nii") -> str:
    """Relative path of the anatomical image (``'T1w.nii'``) or its sidecar (``'T1w.json'``)."""
    sub = subject_label(subject)
    return f"{sub}/anat/{sub}_{suffix}"


def select_runs(runs: Mapping[str, Sequence[int]] | None) -> dict[str, list[int]]:
    """``{task: runs}`` with every run of both tasks for ``None``; validates task names and run numbers."""
    if runs is None:
        return {task: list(task_runs(task)) for task in TASK_RUNS}
    chosen: dict[str, list[int]] = {}
    for task, numbers in runs.items():
        valid = task_runs(task)
        bad = [n for n in numbers if n not in valid]
        if bad:
            raise ValueError(
                f"task {task}: runs {bad} do not exist; expected numbers in {valid.start}..{valid.stop - 1}"
            )
        chosen[task] = sorted(set(numbers))
    return chosen
