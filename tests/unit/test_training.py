"""fit_torch and fit_xgboost on a tiny synthetic problem: they learn, save their model, and repeat exactly."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import xgboost as xgb

import symbench.training.fit_torch as fit_torch_module
from symbench.models.hartford import HartfordNet
from symbench.models.invariant_mlp import InvariantMLP
from symbench.training.data import SplitArrays
from symbench.training.fit_torch import _bind_total_steps, fit_torch
from symbench.training.fit_xgboost import fit_xgboost
from symbench.training.lightning_module import (
    TargetModule,
    _apply_permutations,
    _permutation_functions,
    _random_permutations,
    outputs_to_predictions,
)

# one thread: tiny models gain nothing from two, and lose badly when the other core is busy
torch.set_num_threads(1)


def _synthetic_split(n: int = 600, seed: int = 0) -> SplitArrays:
    """h11 = 10 + which quarter the entry sum falls in: invariant, learnable, chance ≈ 0.25–0.3."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(n, 4, 26)).astype(np.int8)
    y = (10 + np.digitize(x.sum(axis=(1, 2)), [-10, 0, 10])).astype(np.int64)
    a, b = int(0.6 * n), int(0.8 * n)
    return SplitArrays(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


@pytest.fixture(scope="module")
def data() -> SplitArrays:
    return _synthetic_split()


def _majority_rate(y_train: np.ndarray, y_test: np.ndarray) -> float:
    values, counts = np.unique(y_train, return_counts=True)
    return float(np.mean(y_test == values[counts.argmax()]))


def _fit_hartford(data: SplitArrays, out_dir: Path, seed: int = 0):
    return fit_torch(
        HartfordNet(n_outputs=16, channels=(16, 16), head_hidden=(32,)),
        data,
        task="classification",
        optimizer=partial(torch.optim.Adam, lr=3e-3),
        scheduler=None,
        batch_size=32,
        max_epochs=5,
        patience=5,
        seed=seed,
        out_dir=out_dir,
        accelerator="cpu",
        num_threads=1,
    )


def test_fit_torch_learns_above_chance_saves_model_and_same_seed_gives_identical_predictions(
    data: SplitArrays, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[dict] = []
    real_load = torch.load

    def spy_load(*args, **kwargs):
        loads.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(fit_torch_module.torch, "load", spy_load)
    first = _fit_hartford(data, tmp_path / "a")
    second = _fit_hartford(data, tmp_path / "b")

    assert loads and all(kw.get("weights_only") is True for kw in loads)
    pred = first.predict(data.x_test)
    assert pred.dtype == np.int64 and pred.shape == (len(data.y_test),)
    accuracy = float(np.mean(pred == data.y_test))
    assert accuracy > _majority_rate(data.y_train, data.y_test) + 0.15, accuracy
    np.testing.assert_array_equal(pred, second.predict(data.x_test))
    np.testing.assert_array_equal(first.predict_raw(data.x_test), second.predict_raw(data.x_test))
    assert first.predict_raw(data.x_test).shape == (len(data.y_test), 16)

    assert 1 <= first.epochs_run <= 5 and 0 <= first.best_epoch < first.epochs_run
    assert first.n_params == sum(
        p.numel() for p in HartfordNet(n_outputs=16, channels=(16, 16), head_hidden=(32,)).parameters()
    )
    assert first.train_seconds > 0 and 0 <= first.best_val_acc <= 1
    assert not (tmp_path / "a" / "checkpoints").exists()
    assert (tmp_path / "a" / "logs" / "metrics.csv").exists()

    state = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    reloaded = HartfordNet(n_outputs=16, channels=(16, 16), head_hidden=(32,))
    reloaded.load_state_dict(state)
    reloaded.eval()
    with torch.no_grad():
        logits = reloaded(torch.as_tensor(data.x_test, dtype=torch.float32))
    np.testing.assert_array_equal(logits.argmax(dim=1).numpy(), pred)


def test_fit_torch_regression_with_one_cycle_and_augmentation_rounds_predictions_and_repeats(
    data: SplitArrays, tmp_path: Path
) -> None:
    def fit(out_dir: Path):
        return fit_torch(
            lambda: InvariantMLP(n_outputs=1, encoder_widths=(16, 16), decoder_widths=(16,)),
            data,
            task="regression",
            optimizer=partial(torch.optim.AdamW, lr=1e-3),
            scheduler=partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=1e-2),
            batch_size=64,
            max_epochs=2,
            patience=2,
            seed=1,
            out_dir=out_dir,
            accelerator="cpu",
            augment=True,
            num_threads=1,
            csv_log=False,
        )

    result = fit(tmp_path / "a")
    pred = result.predict(data.x_test)
    raw = result.predict_raw(data.x_test)
    assert pred.dtype == np.int64 and raw.shape == (len(data.y_test),)
    np.testing.assert_array_equal(pred, np.rint(raw).astype(np.int64))
    assert (tmp_path / "a" / "model.pt").exists()
    np.testing.assert_array_equal(raw, fit(tmp_path / "b").predict_raw(data.x_test))


def test_augmentation_uses_the_groups_permutation_helpers() -> None:
    from symbench.groups import permutations

    assert _permutation_functions() == (
        permutations.random_permutations_torch,
        permutations.apply_permutations_torch,
    )


def test_bind_total_steps_fills_one_cycle_and_leaves_other_schedulers_alone() -> None:
    one_cycle = _bind_total_steps(partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.1), 120)
    assert one_cycle.keywords["total_steps"] == 120
    fixed = partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.1, total_steps=7)
    assert _bind_total_steps(fixed, 120) is fixed
    cosine = partial(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=5)
    assert _bind_total_steps(cosine, 120) is cosine
    assert _bind_total_steps(None, 120) is None


def test_target_module_steps_one_cycle_every_batch_and_others_every_epoch() -> None:
    model = torch.nn.Linear(26, 3)
    module = TargetModule(model, scheduler=partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.1, total_steps=10))
    assert module.configure_optimizers()["lr_scheduler"]["interval"] == "step"
    module = TargetModule(model, scheduler=partial(torch.optim.lr_scheduler.StepLR, step_size=2))
    assert module.configure_optimizers()["lr_scheduler"]["interval"] == "epoch"
    assert isinstance(TargetModule(model).configure_optimizers(), torch.optim.Adam)


def test_local_permutation_fallback_permutes_each_matrix_by_its_own_sigma_and_tau() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 4, 26)
    sigma, tau = _random_permutations(g, 5, 4, 26, "cpu")
    assert all(sorted(s.tolist()) == list(range(4)) for s in sigma)
    out = _apply_permutations(x, sigma, tau)
    for b in range(5):
        torch.testing.assert_close(out[b], x[b][sigma[b]][:, tau[b]])


def test_outputs_to_predictions_is_argmax_for_classes_and_round_for_regression() -> None:
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])
    assert outputs_to_predictions(logits, "classification").tolist() == [1, 0]
    assert outputs_to_predictions(torch.tensor([[15.4], [15.6]]), "regression").tolist() == [15, 16]


@pytest.mark.parametrize("objective", ["reg:tweedie", "multi:softprob"])
def test_fit_xgboost_saves_model_returns_integer_predictions_and_repeats_with_the_same_seed(
    data: SplitArrays, tmp_path: Path, objective: str
) -> None:
    params = {
        "objective": objective,
        "colsample_bytree": 0.5,
        "learning_rate": 0.1,
        "max_depth": 4,
        "alpha": 1,
    }
    fits = [
        fit_xgboost(
            data,
            params=params,
            num_boost_round=60,
            early_stopping_rounds=10,
            seed=3,
            out_dir=tmp_path / run,
            nthread=1,
        )
        for run in ("a", "b")
    ]
    pred = fits[0].predict(data.x_test)
    assert pred.dtype == np.int64 and pred.shape == (len(data.y_test),)
    assert np.mean(pred == data.y_test) > _majority_rate(data.y_train, data.y_test)
    np.testing.assert_array_equal(pred, fits[1].predict(data.x_test))
    assert fits[0].n_params > 0 and 0 <= fits[0].best_epoch < fits[0].epochs_run <= 60

    saved = xgb.Booster()
    saved.load_model(str(tmp_path / "a" / "model.ubj"))
    assert saved.num_boosted_rounds() == fits[0].best_epoch + 1
    raw = saved.predict(xgb.DMatrix(data.x_test.reshape(len(data.x_test), -1).astype(np.float32)))
    np.testing.assert_allclose(raw, fits[0].predict_raw(data.x_test))


class _StopAtEpoch(pl.Callback):
    """Simulates a job killed at the start of epoch ``epoch`` (after the previous epoch's checkpoint)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            raise RuntimeError("killed")


class _EpochRecorder(pl.Callback):
    def __init__(self) -> None:
        self.epochs: list[int] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.epochs.append(trainer.current_epoch)


def test_an_interrupted_fit_resumes_from_its_last_checkpoint_and_runs_only_the_remaining_epochs(
    data: SplitArrays, tmp_path: Path
) -> None:
    def fit(max_epochs: int, callbacks, resume: bool):
        return fit_torch(
            HartfordNet(n_outputs=16, channels=(8,), head_hidden=(16,)),
            data,
            task="classification",
            optimizer=partial(torch.optim.Adam, lr=3e-3),
            scheduler=None,
            batch_size=64,
            max_epochs=max_epochs,
            patience=max_epochs,
            seed=0,
            out_dir=tmp_path,
            accelerator="cpu",
            num_threads=1,
            resume=resume,
            callbacks=callbacks,
        )

    with pytest.raises(RuntimeError, match="killed"):
        fit(4, [_StopAtEpoch(2)], resume=True)
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    recorder = _EpochRecorder()
    result = fit(4, [recorder], resume=True)
    assert recorder.epochs == [2, 3]  # epochs 0 and 1 were not trained again
    assert result.epochs_run == 4 and not (tmp_path / "checkpoints").exists()
    fresh = _EpochRecorder()
    fit(2, [fresh], resume=True)  # nothing left to resume: a complete run from epoch 0
    assert fresh.epochs == [0, 1]
