"""Every repo-relative path of the project, in one place.

Stages write only below these folders; DVC declares the same paths in ``dvc.yaml``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
DATA = ROOT / "data"
RAW = DATA / "raw"
INTERIM = DATA / "interim"
PROCESSED = DATA / "processed"
MODELS = ROOT / "models"
REPORTS = ROOT / "reports"
BENCH_REPORTS = REPORTS / "bench"

# Kreuzer-Skarke study
KS_RAW = RAW / "ks"
KS_PROCESSED = PROCESSED / "ks"
KS_POLYTOPES = KS_PROCESSED / "polytopes.npz"
KS_SPLIT = KS_PROCESSED / "split.npz"
KS_VARIANTS = KS_PROCESSED / "variants"
KS_MODELS = MODELS / "ks"
KS_REPORTS = REPORTS / "ks"
KS_METRICS = KS_REPORTS / "metrics"


def ks_variant(variant: str) -> Path:
    """Processed vertex matrices of one data variant."""
    return KS_VARIANTS / f"{variant}.npz"


def ks_run_dir(model: str, variant: str, seed: int) -> Path:
    """Checkpoints and fitted models of one (model, variant, seed) cell."""
    return KS_MODELS / model / variant / f"seed{seed}"


def ks_metrics(model: str, variant: str, seed: int) -> Path:
    """Metrics JSON of one (model, variant, seed) cell."""
    return KS_METRICS / model / variant / f"seed{seed}.json"


def resolve(path: str | Path) -> Path:
    """A config path: absolute as given, relative to the repository root otherwise."""
    p = Path(path)
    return p if p.is_absolute() else ROOT / p
