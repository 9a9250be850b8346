"""Fit any torch model on h11 with a Lightning Trainer; early stopping and checkpointing on ``val/acc``.

Optimizer and scheduler convention (what Hydra's ``_partial_: true`` produces):

- ``optimizer``: a callable ``params → Optimizer``, e.g. ``partial(torch.optim.AdamW, lr=1e-3,
  weight_decay=1e-4)``. ``None`` means Adam, lr 1e-3 (the reference's choice).
- ``scheduler``: ``None``, or a callable ``optimizer → LRScheduler``, e.g. ``partial(CosineAnnealingLR,
  T_max=20)`` (stepped each epoch). A scheduler whose signature has ``total_steps`` (``OneCycleLR``) is
  stepped each batch, and when the partial does not fix ``total_steps`` this function binds it to
  ``ceil(n_train / batch_size) * max_epochs``, the number of optimizer steps of a full run. So
  ``partial(OneCycleLR, max_lr=3e-3)`` is complete as it is.
"""

from __future__ import annotations

import inspect
import logging
import math
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from symbench.atomic import atomic_path
from symbench.training.data import FitResult, SplitArrays
from symbench.training.lightning_module import (
    OptimizerFactory,
    SchedulerFactory,
    TargetModule,
    Task,
    outputs_to_predictions,
)

__all__ = ["FitResult", "fit_torch"]

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"
_CHECKPOINT_DIR = "checkpoints"
_LAST = "last"
_LOG_DIR = "logs"


def fit_torch(
    model: nn.Module | Callable[[], nn.Module],
    data: SplitArrays,
    *,
    task: Task,
    optimizer: OptimizerFactory | None,
    scheduler: SchedulerFactory | None,
    batch_size: int,
    max_epochs: int,
    patience: int,
    seed: int,
    out_dir: str | Path,
    accelerator: str = "auto",
    devices: int | str = "auto",
    precision: str = "32-true",
    deterministic: bool = True,
    augment: bool = False,
    num_threads: int | None = None,
    regression_loss: str = "mse",
    reset_parameters: bool = True,
    csv_log: bool = True,
    eval_batch_size: int = 4096,
    strategy: str = "auto",
    num_nodes: int = 1,
    resume: bool = False,
    callbacks: Sequence[pl.Callback] = (),
) -> FitResult:
    """Train ``model`` on ``data`` (train part), early-stop on ``val/acc``, return the best epoch's model.

    The model's weights are drawn from ``seed``: a factory (e.g. a Hydra partial) is called after seeding,
    and a module has every submodule's ``reset_parameters()`` called after seeding unless
    ``reset_parameters=False`` (then it keeps the weights it came with). With ``deterministic=True`` the
    same seed on the same machine gives identical predictions.

    Writes ``out_dir/model.pt`` (the best epoch's ``state_dict`` of ``model``, atomically) and, if
    ``csv_log``, ``out_dir/logs/metrics.csv``. The Lightning checkpoint is reloaded with
    ``torch.load(weights_only=True)`` and then deleted. ``num_threads`` sets torch's intra-op threads for
    the fit (restored afterwards).

    Resume: every epoch also writes the full training state to ``out_dir/checkpoints/last.ckpt``. With
    ``resume=True`` and that file present (a killed or requeued job), the fit continues from it (loaded with
    ``weights_only=True``) instead of starting over; the checkpoints are deleted only once the fit completes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_dir = out_dir / _CHECKPOINT_DIR
    last = checkpoint_dir / f"{_LAST}.ckpt"
    resume_from = last if resume and last.is_file() else None
    if resume_from is None:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        shutil.rmtree(out_dir / _LOG_DIR, ignore_errors=True)
    else:
        log.info("fit_torch: resuming from %s", resume_from)
    previous_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        pl.seed_everything(seed, workers=True, verbose=False)
        model = _seeded_model(model, reset_parameters)
        train_loader = _loader(data.x_train, data.y_train, batch_size, shuffle=True, seed=seed)
        val_loader = _loader(data.x_val, data.y_val, eval_batch_size, shuffle=False, seed=seed)
        steps_per_epoch = math.ceil(len(data.y_train) / batch_size)
        module = TargetModule(
            model,
            task=task,
            optimizer=optimizer,
            scheduler=_bind_total_steps(scheduler, steps_per_epoch * max_epochs),
            augment=augment,
            regression_loss=regression_loss,  # type: ignore[arg-type]
        )
        checkpoint = ModelCheckpoint(
            dirpath=checkpoint_dir, filename="best", monitor="val/acc", mode="max", save_weights_only=True
        )
        # the full state (optimizer, scheduler, loops, callbacks) of the latest epoch, for resuming
        latest = ModelCheckpoint(dirpath=checkpoint_dir, filename=_LAST, monitor=None, save_top_k=1)
        trainer = pl.Trainer(
            max_epochs=max_epochs,
            accelerator=accelerator,
            devices=devices,
            precision=precision,  # type: ignore[arg-type]
            deterministic=deterministic,
            strategy=strategy,
            num_nodes=num_nodes,
            callbacks=[EarlyStopping(monitor="val/acc", mode="max", patience=patience), checkpoint, latest, *callbacks],
            logger=CSVLogger(out_dir, name="", version=_LOG_DIR) if csv_log else False,
            default_root_dir=out_dir,
            enable_progress_bar=sys.stderr.isatty(),
            enable_model_summary=False,
            num_sanity_val_steps=0,
            log_every_n_steps=max(1, min(50, steps_per_epoch)),
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            trainer.fit(module, train_loader, val_loader, ckpt_path=resume_from, weights_only=True)
        train_seconds = time.perf_counter() - start

        if not checkpoint.best_model_path:
            raise RuntimeError(f"fit_torch: no checkpoint was written under {checkpoint_dir}")
        saved = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(saved["state_dict"])
        best_epoch = int(saved["epoch"])
        with atomic_path(out_dir / MODEL_FILE) as tmp:
            torch.save(model.state_dict(), tmp)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    finally:
        torch.set_num_threads(previous_threads)

    device = _predict_device(accelerator)
    model = model.to(device).eval()
    predict_raw = partial(_predict_raw, model, task, device, eval_batch_size)
    best_val_acc = float(np.mean(_predict(predict_raw, task, data.x_val) == data.y_val))
    log.info(
        "fit_torch: %d epochs, best epoch %d, val acc %.4f, %.1f s",
        trainer.current_epoch,
        best_epoch,
        best_val_acc,
        train_seconds,
    )
    return FitResult(
        predict=partial(_predict, predict_raw, task),
        predict_raw=predict_raw,
        n_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        train_seconds=train_seconds,
        epochs_run=int(trainer.current_epoch),
        best_epoch=best_epoch,
        best_val_acc=best_val_acc,
        raw_kind="logits" if task == "classification" else "values",
    )


def _seeded_model(model: nn.Module | Callable[[], nn.Module], reset_parameters: bool) -> nn.Module:
    if not isinstance(model, nn.Module):
        return model()
    if reset_parameters:
        for sub in model.modules():
            reset = getattr(sub, "reset_parameters", None)
            if callable(reset):
                reset()
    return model


def _loader(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool, seed: int) -> DataLoader:
    dataset = TensorDataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64))
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, num_workers=0)


def _bind_total_steps(scheduler: SchedulerFactory | None, total_steps: int) -> SchedulerFactory | None:
    """Bind ``total_steps`` for schedulers that take it (OneCycleLR) when the partial leaves it open."""
    if scheduler is None:
        return None
    func = scheduler.func if isinstance(scheduler, partial) else scheduler
    bound: dict[str, Any] = scheduler.keywords if isinstance(scheduler, partial) else {}
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return scheduler
    if "total_steps" in parameters and bound.get("total_steps") is None and "epochs" not in bound:
        return partial(scheduler, total_steps=total_steps)
    return scheduler


def _predict_device(accelerator: str) -> torch.device:
    if accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


@torch.inference_mode()
def _predict_raw(model: nn.Module, task: Task, device: torch.device, batch_size: int, x: np.ndarray) -> np.ndarray:
    outputs = []
    for start in range(0, len(x), batch_size):
        batch = torch.as_tensor(x[start : start + batch_size], dtype=torch.float32, device=device)
        raw = model(batch).float()
        outputs.append((raw.squeeze(-1) if task == "regression" else raw).cpu())
    if not outputs:
        return np.zeros((0,) if task == "regression" else (0, 0), dtype=np.float32)
    return torch.cat(outputs).numpy()


def _predict(predict_raw: Callable[[np.ndarray], np.ndarray], task: Task, x: np.ndarray) -> np.ndarray:
    return outputs_to_predictions(torch.from_numpy(predict_raw(x)), task).numpy().astype(np.int64)
