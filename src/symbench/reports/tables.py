"""Collect per-cell metrics JSONs and aggregate them over seeds; shared by both studies' reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def collect_metrics(root: Path) -> pd.DataFrame:
    """One row per cell in the metrics JSONs below ``root`` (any depth); an unreadable file is an error naming it.

    A file is one cell's record, or several under ``"cells"`` (a mapping name → record, as one stage writes them).
    """
    rows = []
    for path in sorted(root.rglob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        if not isinstance(record, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(record).__name__}")
        cells = record.get("cells")
        if cells is None:
            rows.append(record)
        elif isinstance(cells, dict):
            rows.extend(cells.values())
        else:
            raise ValueError(f"{path}: 'cells' must map names to records, got {type(cells).__name__}")
    if not rows:
        raise FileNotFoundError(f"{root}: no metrics files; run the training stages first")
    return pd.DataFrame(rows)


def aggregate_over_seeds(df: pd.DataFrame, keys: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Mean, sample sd (ddof=1; NaN for one seed) and seed count of ``metrics`` per ``keys`` group."""
    grouped = df.groupby(list(keys), sort=False)
    out = grouped[list(metrics)].agg(["mean", "std"])
    out.columns = [f"{m}_{stat}" for m, stat in out.columns]
    out["n_seeds"] = grouped.size()
    return out.reset_index()


def mean_sd(mean: float, sd: float | None, digits: int = 3) -> str:
    """``0.955 ± 0.004``, or just the mean when the sd is unknown (one seed)."""
    if mean is None or pd.isna(mean):
        return "—"
    if sd is None or pd.isna(sd):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"
