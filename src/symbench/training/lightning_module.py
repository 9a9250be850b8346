"""One LightningModule for every torch model: h11 as a class (cross-entropy) or as a number (MSE/L1).

Classification uses the raw h11 value as the class index (the model's ``n_outputs`` must exceed the largest
h11, e.g. 48); regression predicts one number and rounds it. Accuracy is exact h11 in both cases. The module
itself is shape-agnostic: any integer class labels (e.g. the music study's genre index 0..9) and any input
shape the model takes work without ``augment``, which needs KS matrices ``(B, rows, cols)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

Task = Literal["classification", "regression"]
OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]

# schedulers that change the learning rate every optimizer step, not every epoch
_PER_STEP_SCHEDULERS = (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR)


class TargetModule(pl.LightningModule):
    """Wraps ``model`` (``(B, rows, cols)`` float → ``(B, n_outputs)``) for training on h11.

    Args:
        model: any ``nn.Module`` with that contract; ``n_outputs`` = number of classes, or 1 for regression.
            Without ``augment`` the input may have any shape ``(B, ...)`` (e.g. fMRI clips ``(B, T, X, Y, Z)``).
        task: ``"classification"`` (cross-entropy, prediction = argmax) or ``"regression"``
            (``regression_loss`` on the float target, prediction = round).
        optimizer: ``params → Optimizer``, typically ``functools.partial(torch.optim.AdamW, lr=...)`` or a
            Hydra ``_partial_: true`` node; ``None`` means Adam with lr 1e-3 (the reference's choice).
        scheduler: ``optimizer → LRScheduler`` or ``None``. OneCycleLR/CyclicLR are stepped every batch,
            all others every epoch; ReduceLROnPlateau watches ``val/loss``. A OneCycleLR partial must carry
            ``total_steps``: :func:`symbench.training.fit_torch.fit_torch` binds it for you.
        augment: apply a fresh random row permutation σ and column permutation τ to every training matrix
            at every step (labels are invariant under S4 × S26); needs inputs ``(B, rows, cols)``.
        regression_loss: ``"mse"`` (reference) or ``"l1"``.

    Logs ``train/loss`` and ``train/acc`` (epoch means), ``val/loss`` and ``val/acc``.
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task = "classification",
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        augment: bool = False,
        regression_loss: Literal["mse", "l1"] = "mse",
    ) -> None:
        super().__init__()
        if task not in ("classification", "regression"):
            raise ValueError(f"TargetModule: task must be 'classification' or 'regression', got {task!r}")
        if regression_loss not in ("mse", "l1"):
            raise ValueError(f"TargetModule: regression_loss must be 'mse' or 'l1', got {regression_loss!r}")
        self.model = model
        self.task = task
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.augment = augment
        self.regression_loss = regression_loss
        self._augment_seed = 0
        self._augment_generator: torch.Generator | None = None
        self._permute: tuple[Callable, Callable] | None = None
        # (loss sum, correct, count) of the current training epoch: logged once per epoch, because a per-step
        # self.log costs ~1 ms on CPU, as much as a whole step of the small models here (bench_lightning_overhead)
        self._train_sums: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        if self.augment:
            x = self._randomly_permute(x)
        out = self.model(x)
        loss = self._loss(out, y)
        with torch.no_grad():
            correct = (outputs_to_predictions(out.detach(), self.task) == y).sum()
            step = torch.stack([loss.detach() * y.shape[0], correct.to(loss.dtype), loss.new_tensor(y.shape[0])])
            self._train_sums = step if self._train_sums is None else self._train_sums + step
        return loss

    def on_train_epoch_start(self) -> None:
        self._train_sums = None

    def on_train_epoch_end(self) -> None:
        if self._train_sums is None:
            return
        loss_sum, correct, count = self._train_sums.float()
        self.log("train/loss", loss_sum / count, sync_dist=True)
        self.log("train/acc", correct / count, sync_dist=True)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        out = self.model(x)
        n = x.shape[0]
        # sync_dist: under DDP each rank sees part of the validation set; early stopping needs the global value
        self.log("val/loss", self._loss(out, y), on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        acc = (outputs_to_predictions(out, self.task) == y).float().mean()
        self.log("val/acc", acc, on_step=False, on_epoch=True, batch_size=n, prog_bar=True, sync_dist=True)

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        """``{"pred": int64 h11 (B,), "raw": logits (B, n_classes) or regression values (B,)}``."""
        x = batch[0] if isinstance(batch, list | tuple) else batch
        raw = self.model(x)
        if self.task == "regression":
            raw = raw.squeeze(-1)
        return {"pred": outputs_to_predictions(raw, self.task), "raw": raw}

    def configure_optimizers(self) -> Any:
        params = self.model.parameters()
        optimizer = self.optimizer_factory(params) if self.optimizer_factory else torch.optim.Adam(params, lr=1e-3)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        config: dict[str, Any] = {
            "scheduler": scheduler,
            "interval": "step" if isinstance(scheduler, _PER_STEP_SCHEDULERS) else "epoch",
        }
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            config["monitor"] = "val/loss"
        return {"optimizer": optimizer, "lr_scheduler": config}

    def on_fit_start(self) -> None:
        if not self.augment:
            return
        # drawn from the global RNG, which seed_everything has seeded: same seed, same augmentations
        self._augment_seed = int(torch.randint(0, 2**62, (1,)).item())
        self._augment_generator = None

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.task == "classification":
            return F.cross_entropy(out, y)
        pred = out.squeeze(-1)
        target = y.to(pred.dtype)
        return F.mse_loss(pred, target) if self.regression_loss == "mse" else F.l1_loss(pred, target)

    def _randomly_permute(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3:
            raise ValueError(f"TargetModule(augment=True): expected matrices (B, rows, cols), got {tuple(x.shape)}")
        if self._permute is None:
            self._permute = _permutation_functions()
        if self._augment_generator is None or self._augment_generator.device != x.device:
            # the permutations are drawn where the batch lives
            self._augment_generator = torch.Generator(device=x.device).manual_seed(self._augment_seed)
        random_permutations, apply_permutations = self._permute
        sigma, tau = random_permutations(self._augment_generator, x.shape[0], x.shape[1], x.shape[2], x.device)
        return apply_permutations(x, sigma, tau)


def outputs_to_predictions(raw: torch.Tensor, task: Task) -> torch.Tensor:
    """Model outputs → int64 h11: argmax over classes, or the rounded regression value."""
    if task == "classification":
        return raw.argmax(dim=-1)
    if raw.ndim == 2:
        raw = raw.squeeze(-1)
    return torch.round(raw).to(torch.int64)


def _permutation_functions() -> tuple[Callable, Callable]:
    """The project's permutation helpers from :mod:`symbench.groups.permutations`, or local equivalents."""
    try:
        from symbench.groups.permutations import apply_permutations_torch, random_permutations_torch
    except ImportError:  # only if groups/ is missing: these local twins keep training usable
        return _random_permutations, _apply_permutations
    return random_permutations_torch, apply_permutations_torch


def _random_permutations(
    generator: torch.Generator, n: int, rows: int, cols: int, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` uniform random (σ, τ): int64 ``(n, rows)``, ``(n, cols)``; ``generator`` lives on ``device``."""
    sigma = torch.argsort(torch.rand(n, rows, generator=generator, device=device), dim=1)
    tau = torch.argsort(torch.rand(n, cols, generator=generator, device=device), dim=1)
    return sigma, tau


def _apply_permutations(x: torch.Tensor, sigma: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """``out[b, i, j] = x[b, sigma[b, i], tau[b, j]]`` for ``x`` of shape ``(n, rows, cols)``."""
    n, rows, cols = x.shape
    x = torch.gather(x, 1, sigma[:, :, None].expand(n, rows, cols))
    return torch.gather(x, 2, tau[:, None, :].expand(n, rows, cols))
