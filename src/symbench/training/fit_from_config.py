"""Fit any configured model: one entry point for torch (through Lightning) and XGBoost, for both studies.

A model config has ``kind: torch`` (``net`` with a ``_target_``, ``task``, ``optimizer``/``scheduler`` partials and
the training schedule) or ``kind: xgboost`` (``params``, ``num_boost_round``, ``early_stopping_rounds``).
"""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from symbench.training.data import SplitArrays
from symbench.training.fit_torch import FitResult, fit_torch
from symbench.training.fit_xgboost import fit_xgboost


def fit_from_config(
    model_cfg: DictConfig, trainer_cfg: DictConfig, data: SplitArrays, *, seed: int, out_dir: Path
) -> FitResult:
    """Build the model ``model_cfg`` describes and fit it on ``data``; artefacts go to ``out_dir``."""
    if model_cfg.kind == "xgboost":
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
        augment=model_cfg.get("augment", False),
        num_threads=trainer_cfg.num_threads,
        regression_loss=model_cfg.get("regression_loss", "mse"),
    )
