"""Fit any configured model: one entry point for torch (through Lightning) and XGBoost, for both studies.

A model config has ``kind: torch`` (``net`` with a ``_target_``, ``task``, ``optimizer``/``scheduler`` partials and
the training schedule) or ``kind: xgboost`` (``params``, ``num_boost_round``, ``early_stopping_rounds``).

Augmentation (``augment=True``): torch models see a fresh random (σ, τ) of every matrix in every batch; XGBoost,
which boosts on a fixed matrix, trains on ``augment_copies`` randomly permuted copies of the train part.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from symbench.groups import permuted_copies
from symbench.training.data import SplitArrays
from symbench.training.fit_torch import FitResult, fit_torch
from symbench.training.fit_xgboost import fit_xgboost


def fit_from_config(
    model_cfg: DictConfig,
    trainer_cfg: DictConfig,
    data: SplitArrays,
    *,
    seed: int,
    out_dir: Path,
    augment: bool | None = None,
    resume: bool = False,
) -> FitResult:
    """Build the model ``model_cfg`` describes and fit it on ``data``; artefacts go to ``out_dir``.

    ``augment`` overrides the model config's ``augment`` key when given; ``resume`` continues an interrupted torch
    fit from its last checkpoint in ``out_dir`` (XGBoost refits: a boosting run is minutes, not hours).
    """
    augment = bool(model_cfg.get("augment", False)) if augment is None else augment
    if model_cfg.kind == "xgboost":
        if augment:
            copies = int(model_cfg.get("augment_copies", 4))
            data = replace(
                data,
                x_train=permuted_copies(data.x_train, copies, seed=seed),
                y_train=np.tile(data.y_train, copies),
            )
        return fit_xgboost(
            data,
            params=OmegaConf.to_container(model_cfg.params, resolve=True),
            num_boost_round=model_cfg.num_boost_round,
            early_stopping_rounds=model_cfg.early_stopping_rounds,
            seed=seed,
            out_dir=out_dir,
            device="cuda" if trainer_cfg.accelerator == "gpu" else "cpu",
            nthread=trainer_cfg.num_threads,
        )
    if model_cfg.kind != "torch":
        raise ValueError(f"model kind must be 'torch' or 'xgboost', got {model_cfg.kind!r}")
    import pytorch_lightning as pl

    pl.seed_everything(seed, workers=True, verbose=False)  # the initial weights depend on the seed too
    return fit_torch(
        instantiate(model_cfg.net),
        data,
        task=model_cfg.task,
        optimizer=instantiate(model_cfg.optimizer),
        scheduler=instantiate(model_cfg.scheduler) if model_cfg.get("scheduler") else None,
        batch_size=model_cfg.batch_size,
        max_epochs=model_cfg.max_epochs,
        patience=model_cfg.patience,
        seed=seed,
        out_dir=out_dir,
        accelerator=trainer_cfg.accelerator,
        devices=trainer_cfg.devices,
        precision=trainer_cfg.precision,
        deterministic=trainer_cfg.deterministic,
        augment=augment,
        num_threads=trainer_cfg.num_threads,
        regression_loss=model_cfg.get("regression_loss", "mse"),
        strategy=trainer_cfg.get("strategy", "auto"),
        num_nodes=trainer_cfg.get("num_nodes", 1),
        resume=resume,
    )
