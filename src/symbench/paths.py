"""Every repo-relative path of the project, in one place.

Stages write only below these folders; DVC declares the same paths in ``dvc.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path


def _find_root() -> Path:
    """``$SYMBENCH_ROOT``, else the nearest folder at or above the working directory holding dvc.yaml and conf/.

    Stages run with the repository as working directory (DVC's convention), so a copy of the repository writes
    into itself even when the package is installed from elsewhere; outside any checkout, the source tree's root.
    """
    if env := os.environ.get("SYMBENCH_ROOT"):
        return Path(env).resolve()
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "dvc.yaml").is_file() and (folder / "conf").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


ROOT = _find_root()
CONF = ROOT / "conf"
DATA = ROOT / "data"
RAW = DATA / "raw"
INTERIM = DATA / "interim"
PROCESSED = DATA / "processed"
MODELS = ROOT / "models"
REPORTS = ROOT / "reports"
BENCH_REPORTS = REPORTS / "bench"
# The read-only data mirror beside a checkout (CI and these machines; `ks.fetch.mirror` defaults to it).
SHARED_DATA = ROOT.parent / "shared" / "data"

# Kreuzer-Skarke study
KS_RAW = RAW / "ks"
KS_PROCESSED = PROCESSED / "ks"
KS_POLYTOPES = KS_PROCESSED / "polytopes.npz"
KS_SPLIT = KS_PROCESSED / "split.npz"
KS_VARIANTS = KS_PROCESSED / "variants"
KS_MODELS = MODELS / "ks"
KS_REPORTS = REPORTS / "ks"
KS_METRICS = KS_REPORTS / "metrics"

# Music study, brain side (OpenNeuro ds003720)
MUSIC_BIDS = RAW / "ds003720"
MUSIC_REGISTRATION = INTERIM / "music" / "registration"
MUSIC_CLIPS = PROCESSED / "music" / "clips"
MUSIC_MODELS = MODELS / "music"
MUSIC_REPORTS = REPORTS / "music"
MUSIC_METRICS = MUSIC_REPORTS / "metrics"
MUSIC_FIGURES = MUSIC_REPORTS / "figures"
# Music study, audio side (GTZAN and the 540 stimuli)
GTZAN_RAW = RAW / "gtzan"
MUSIC_AUDIO = PROCESSED / "music" / "audio"
MUSIC_AUDIO_MODELS = MUSIC_MODELS / "audio"


def ks_variant(variant: str) -> Path:
    """Processed vertex matrices of one data variant."""
    return KS_VARIANTS / f"{variant}.npz"


def ks_run_dir(model: str, variant: str, seed: int) -> Path:
    """Checkpoints and fitted models of one (model, variant, seed) cell."""
    return KS_MODELS / model / f"seed{seed}" / variant


def ks_models_dir(model: str, seed: int) -> Path:
    """Every variant's fitted model of one (model, seed): the out of one ks_train stage."""
    return KS_MODELS / model / f"seed{seed}"


def ks_metrics(model: str, seed: int) -> Path:
    """Metrics JSON of one (model, seed): a record per variant under ``cells``."""
    return KS_METRICS / model / f"seed{seed}.json"


def resolve(path: str | Path) -> Path:
    """A config path: absolute as given, relative to the repository root otherwise."""
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def music_registration_dir(subject: str) -> Path:
    """Mean EPI, transform, native-space atlas and brain mask of one subject."""
    return MUSIC_REGISTRATION / subject


def music_clips_dir(subject: str) -> Path:
    """ROI and whole-brain clip tensors of one subject."""
    return MUSIC_CLIPS / subject


def music_brain_metrics(model: str) -> Path:
    """Metrics JSON of one brain decoder: a record per subject and seed under ``cells``."""
    return MUSIC_METRICS / "brain" / f"{model}.json"


def music_audio_metrics(model: str) -> Path:
    """Metrics JSON of one audio model: a record per protocol, fold and seed under ``cells``."""
    return MUSIC_METRICS / "audio" / f"{model}.json"
