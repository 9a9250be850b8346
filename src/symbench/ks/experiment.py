"""One cell of the KS benchmark: fit a model on a data variant with a seed, score it on the test split.

The DVC stage and the Hydra sweep CLI both call :func:`run_ks_cell`, so a cluster sweep computes exactly what
``dvc repro`` computes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from symbench import paths
from symbench.evaluation.invariance import invariance_error
from symbench.evaluation.metrics import accuracy, majority_baseline, mean_absolute_error
from symbench.ks.parse import KSPolytopes
from symbench.ks.variants import is_augmented, projection
from symbench.training.data import SplitArrays
from symbench.training.fit_from_config import fit_from_config

log = logging.getLogger(__name__)


def load_ks_split(variant: str) -> SplitArrays:
    """The variant's matrices and the h11 labels, cut by the stored split."""
    h11 = KSPolytopes.load(paths.KS_POLYTOPES).h11.astype(np.int64)
    with np.load(paths.ks_variant(variant)) as npz:
        X = npz["vertices"]
    if len(X) != len(h11):
        raise ValueError(
            f"{paths.ks_variant(variant)}: {len(X)} matrices, but {len(h11)} labels in {paths.KS_POLYTOPES}"
        )
    with np.load(paths.KS_SPLIT) as split:
        tr, va, te = split["train"], split["val"], split["test"]
    return SplitArrays(X[tr], h11[tr], X[va], h11[va], X[te], h11[te])


def run_ks_cell(
    cfg: DictConfig, model: str, variant: str, seed: int, out_dir: Path, *, resume: bool = False
) -> dict[str, Any]:
    """Fit ``model`` on ``variant`` with ``seed``; return the metrics record of the cell.

    ``resume`` continues an interrupted fit from its last checkpoint in ``out_dir`` (sweeps on a cluster).
    """
    if model not in cfg.ks.models:
        raise KeyError(f"no model {model!r} in ks.models; configured: {', '.join(cfg.ks.models)}")
    data = load_ks_split(variant)
    log.info(
        "%s on %s, seed %d: %d train / %d val / %d test",
        model,
        variant,
        seed,
        len(data.y_train),
        len(data.y_val),
        len(data.y_test),
    )
    model_cfg = cfg.ks.models[model]
    augment = is_augmented(variant) or bool(model_cfg.get("augment", False))
    fit = fit_from_config(model_cfg, cfg.trainer, data, seed=seed, out_dir=out_dir, augment=augment, resume=resume)
    y_pred = fit.predict(data.x_test)
    inv_cfg = cfg.ks.invariance
    x_inv = data.x_test if inv_cfg.max_matrices is None else data.x_test[: inv_cfg.max_matrices]
    inv = invariance_error(
        fit.predict_raw,
        fit.raw_kind,  # type: ignore[arg-type]
        x_inv,
        project=projection(variant),
        n_draws=inv_cfg.n_draws,
        seed=inv_cfg.seed,
    )
    record = {
        "study": "ks",
        "model": model,
        "variant": variant,
        "seed": seed,
        "augment": augment,
        "claims_invariance": claimed_invariance(model_cfg.get("claims_invariance", "none"), variant),
        "profile": cfg.run.profile,
        "data_source": cfg.ks.fetch.source,
        "data_sha256": cfg.ks.fetch.sha256,
        "n_train": len(data.y_train),
        "n_val": len(data.y_val),
        "n_test": len(data.y_test),
        "test_accuracy": accuracy(data.y_test, y_pred),
        "test_mae": mean_absolute_error(data.y_test, y_pred),
        "majority_baseline": majority_baseline(data.y_train, data.y_test),
        "invariance_change_rate": inv.prediction_change_rate,
        "invariance_output_change": inv.mean_output_change,
        "invariance_max_output_change": inv.max_output_change,
        "invariance_n_matrices": inv.n_matrices,
        "invariance_n_draws": inv.n_draws,
        "best_val_accuracy": fit.best_val_acc,
        "n_params": fit.n_params,
        "train_seconds": round(fit.train_seconds, 2),
        "epochs_run": fit.epochs_run,
        "best_epoch": fit.best_epoch,
    }
    log.info(
        "%s on %s, seed %d: test accuracy %.4f, predictions changed by random (σ, τ): %.4f",
        model,
        variant,
        seed,
        record["test_accuracy"],
        inv.prediction_change_rate,
    )
    return record


def claimed_invariance(model_claim: str, variant: str) -> str:
    """What the (model, variant) pipeline claims: ``"S4xS26"`` (exact), ``"S26"`` (columns only) or ``"none"``.

    A canonical-form variant makes any model exactly invariant; otherwise the model's own claim stands.
    """
    if model_claim not in ("S4xS26", "S26", "none"):
        raise ValueError(f"claims_invariance must be 'S4xS26', 'S26' or 'none', got {model_claim!r}")
    return "S4xS26" if variant.startswith("canonical") else model_claim
