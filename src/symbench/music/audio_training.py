"""Fit one audio genre model (BBNN on log-mel, DistilHuBERT on 16 kHz audio) on one split, through ``fit_torch``.

A spec (one ``music.audio.models.<name>`` config) names the model's ``kind`` (bbnn | distilhubert), its network
arguments (``net``), optimiser and schedule. The train part is split once more (stratified) for early stopping, so
the test part is touched only for the final prediction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symbench.music.audio_protocols import validation_part
from symbench.training.data import SplitArrays
from symbench.training.fit_torch import fit_torch

log = logging.getLogger(__name__)

KINDS = ("bbnn", "distilhubert")


@dataclass
class AudioFit:
    """Test predictions of one fit and what the report needs about it."""

    y_pred: np.ndarray
    n_params: int
    fit_seconds: float
    epochs_run: int
    best_val_acc: float
    weights: str  # "random init" for BBNN; DistilHuBERT says whether pretrained weights were loaded


def fit_audio_model(
    spec: Mapping[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    seed: int,
    out_dir: Path,
    num_threads: int | None = None,
) -> AudioFit:
    """Train ``spec`` on ``x[train_idx]`` (minus a validation part), predict ``x[test_idx]``."""
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"audio model spec {dict(spec)}: kind {kind!r}, expected one of {KINDS}")
    fit_idx, val_idx = validation_part(train_idx, y, fraction=float(spec.get("val_fraction", 0.1)), seed=seed)
    data = SplitArrays(x[fit_idx], y[fit_idx], x[val_idx], y[val_idx], x[test_idx], y[test_idx])
    factory, weights = _factory(spec)
    result = fit_torch(
        factory,
        data,
        task="classification",
        optimizer=partial(torch.optim.AdamW, lr=float(spec["lr"]), weight_decay=float(spec.get("weight_decay", 0))),
        scheduler=None,
        batch_size=int(spec["batch_size"]),
        max_epochs=int(spec["max_epochs"]),
        patience=int(spec["patience"]),
        seed=seed,
        out_dir=out_dir,
        accelerator=str(spec.get("accelerator", "auto")),
        devices=spec.get("devices", 1),
        precision=str(spec.get("precision", "32-true")),
        num_threads=num_threads,
        reset_parameters=False,  # the factory builds (and for DistilHuBERT loads) the weights after seeding
        eval_batch_size=int(spec.get("eval_batch_size", 32)),
    )
    return AudioFit(
        y_pred=result.predict(data.x_test),
        n_params=result.n_params,
        fit_seconds=result.train_seconds,
        epochs_run=result.epochs_run,
        best_val_acc=result.best_val_acc,
        weights=weights,
    )


def _factory(spec: Mapping[str, Any]) -> tuple[Any, str]:
    """A zero-argument model factory (called by ``fit_torch`` after seeding) and a line on its weights."""
    net = dict(spec.get("net", {}))
    if spec["kind"] == "bbnn":
        from symbench.models.bbnn import BBNN

        return partial(BBNN, **net), "random init (trained from scratch)"
    from symbench.models.distilhubert import build_distilhubert

    _, info = build_distilhubert(**net)  # once, to learn whether the pretrained weights load here
    return (lambda: build_distilhubert(**net)[0]), str(info["weights"])
