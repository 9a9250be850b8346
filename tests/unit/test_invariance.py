"""Measured invariance: the metric itself, and trained models and pipelines that claim invariance show 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from symbench.evaluation.invariance import invariance_error, raw_to_labels, raw_to_values
from symbench.groups import canonical_form, dirichlet_ascent, permuted_copies
from symbench.ks.experiment import claimed_invariance
from symbench.ks.variants import is_augmented, make_variant, projection
from symbench.training.data import SplitArrays
from symbench.training.fit_from_config import fit_from_config

torch.set_num_threads(1)

TRAINER = OmegaConf.create(
    {"accelerator": "cpu", "devices": 1, "precision": "32-true", "deterministic": True, "num_threads": 1}
)


def _sum_model(x: np.ndarray) -> np.ndarray:
    """Regression on the entry sum: exactly invariant (integer sums)."""
    return x.reshape(len(x), -1).sum(axis=1).astype(np.float64)


def _first_column_model(x: np.ndarray) -> np.ndarray:
    """Logits from the first column: changed by almost every column permutation."""
    return np.eye(48)[np.clip(x[:, :, 0].sum(axis=1) + 20, 0, 47)] * 5.0


def test_an_exactly_invariant_function_has_zero_change_rate_and_zero_output_change(vertex_matrices):
    err = invariance_error(_sum_model, "values", vertex_matrices, n_draws=3)
    assert err.prediction_change_rate == 0 and err.mean_output_change == 0 and err.max_output_change == 0
    assert (err.n_matrices, err.n_draws) == (64, 3)


def test_a_function_of_one_column_is_caught_and_the_measurement_is_seeded(vertex_matrices):
    a = invariance_error(_first_column_model, "logits", vertex_matrices, n_draws=3, seed=1)
    b = invariance_error(_first_column_model, "logits", vertex_matrices, n_draws=3, seed=1)
    assert a.prediction_change_rate > 0.5 and a.mean_output_change > 0
    assert a == b


def test_column_only_draws_leave_rows_alone(vertex_matrices):
    def row_order_model(x: np.ndarray) -> np.ndarray:  # depends on the row order only through row sums
        return x.sum(axis=2)[:, 0].astype(np.float64)

    assert invariance_error(row_order_model, "values", vertex_matrices, act_on="columns").prediction_change_rate == 0
    assert invariance_error(row_order_model, "values", vertex_matrices).prediction_change_rate > 0


def test_canonical_preprocessing_makes_any_model_exactly_invariant_and_dirichlet_does_not(vertex_matrices):
    canon = canonical_form(vertex_matrices)
    err = invariance_error(_first_column_model, "logits", canon, project=canonical_form, n_draws=4)
    assert err.prediction_change_rate == 0 and err.mean_output_change == 0
    local = dirichlet_ascent(vertex_matrices)
    assert invariance_error(_first_column_model, "logits", local, project=dirichlet_ascent).prediction_change_rate > 0


def test_raw_outputs_become_labels_and_h11_values_consistently():
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]))
    np.testing.assert_array_equal(raw_to_labels(logits, "logits"), [2, 0])
    np.testing.assert_allclose(raw_to_values(logits, "logits"), [1.6, 0.75])
    np.testing.assert_allclose(raw_to_values(np.exp(logits), "probabilities"), [1.6, 0.75])
    np.testing.assert_array_equal(raw_to_labels(np.array([6.4, 6.6]), "values"), [6, 7])
    with pytest.raises(ValueError, match="raw_kind"):
        raw_to_labels(logits, "scores")  # type: ignore[arg-type]


def test_invariance_error_rejects_bad_input(vertex_matrices):
    with pytest.raises(ValueError, match="non-empty stack"):
        invariance_error(_sum_model, "values", vertex_matrices[0])
    with pytest.raises(ValueError, match="n_draws"):
        invariance_error(_sum_model, "values", vertex_matrices, n_draws=0)


def test_permuted_copies_are_permutations_of_each_matrix(vertex_matrices):
    out = permuted_copies(vertex_matrices, copies=3, seed=0)
    assert out.shape == (3 * 64, 4, 26) and out.dtype == vertex_matrices.dtype
    for k in range(3):
        block = out[k * 64 : (k + 1) * 64]
        np.testing.assert_array_equal(np.sort(block.reshape(64, -1), axis=1), np.sort(vertex_matrices.reshape(64, -1)))
        np.testing.assert_array_equal(canonical_form(block), canonical_form(vertex_matrices))
    assert not np.array_equal(out[:64], out[64:128])


def test_augmented_variant_holds_the_permuted_matrices_and_trains_with_augmentation(vertex_matrices):
    np.testing.assert_array_equal(
        make_variant("augmented", vertex_matrices, 4), make_variant("original_permuted", vertex_matrices, 4)
    )
    assert is_augmented("augmented") and not is_augmented("original_permuted")
    assert projection("augmented") is None and projection("canonical_permuted") is canonical_form


def test_canonical_variants_claim_exact_invariance_for_any_model():
    assert claimed_invariance("none", "canonical_permuted") == "S4xS26"
    assert claimed_invariance("S26", "original") == "S26"
    with pytest.raises(ValueError, match="claims_invariance"):
        claimed_invariance("all", "original")


def _tiny_split(n: int = 300) -> SplitArrays:
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, size=(n, 4, 26)).astype(np.int8)
    y = (10 + np.digitize(np.abs(x).sum(axis=(1, 2)), [150, 170])).astype(np.int64)
    return SplitArrays(x[:200], y[:200], x[200:250], y[200:250], x[250:], y[250:])


def _torch_cfg(target: str, **net) -> OmegaConf:
    return OmegaConf.create(
        {
            "kind": "torch",
            "task": "classification",
            "net": {"_target_": target, "n_outputs": 16, **net},
            "optimizer": {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.003},
            "scheduler": None,
            "batch_size": 50,
            "max_epochs": 1,
            "patience": 1,
        }
    )


EXACT_MODELS = {
    "hartford": _torch_cfg("symbench.models.hartford.HartfordNet", channels=[8, 8], head_hidden=[16]),
    "feature_mlp": _torch_cfg("symbench.models.invariant_features.InvariantFeatureMLP", hidden=[16]),
}
COLUMN_MODELS = {
    "pointnet": _torch_cfg("symbench.models.pointnet.KSPointNet", widths=[8, 8]),
    "column_transformer": _torch_cfg(
        "symbench.models.column_transformer.ColumnSetTransformer", dim=16, depth=1, heads=2
    ),
}


@pytest.mark.parametrize("name", sorted(EXACT_MODELS))
def test_trained_models_that_claim_s4_x_s26_invariance_measure_zero(name: str, tmp_path: Path):
    data = _tiny_split()
    fit = fit_from_config(EXACT_MODELS[name], TRAINER, data, seed=0, out_dir=tmp_path)
    err = invariance_error(fit.predict_raw, fit.raw_kind, data.x_test, n_draws=4)  # type: ignore[arg-type]
    assert err.prediction_change_rate == 0, name
    assert err.max_output_change < 1e-4, name


@pytest.mark.parametrize("name", sorted(COLUMN_MODELS))
def test_trained_models_that_claim_column_invariance_measure_zero_under_columns_only(name: str, tmp_path: Path):
    data = _tiny_split()
    fit = fit_from_config(COLUMN_MODELS[name], TRAINER, data, seed=0, out_dir=tmp_path)
    kind = fit.raw_kind
    err = invariance_error(fit.predict_raw, kind, data.x_test, act_on="columns")  # type: ignore[arg-type]
    assert err.prediction_change_rate == 0 and err.max_output_change < 1e-4, name


def test_any_trained_model_on_canonical_inputs_measures_exactly_zero(tmp_path: Path):
    data = _tiny_split()
    canon = SplitArrays(
        *(
            canonical_form(a) if a.ndim == 3 else a
            for a in (data.x_train, data.y_train, data.x_val, data.y_val, data.x_test, data.y_test)
        )
    )
    cnn = _torch_cfg("symbench.models.ks_cnn.KSCNN")
    fit = fit_from_config(cnn, TRAINER, canon, seed=0, out_dir=tmp_path)
    err = invariance_error(fit.predict_raw, fit.raw_kind, canon.x_test, project=canonical_form)  # type: ignore[arg-type]
    assert err.prediction_change_rate == 0 and err.mean_output_change == 0


def test_xgboost_augmentation_trains_on_permuted_copies(tmp_path: Path, monkeypatch):
    import symbench.training.fit_from_config as module

    seen = {}

    def spy(data, **kwargs):
        seen["n"] = len(data.y_train)
        seen["x"] = data.x_train
        return "fitted"

    monkeypatch.setattr(module, "fit_xgboost", spy)
    cfg = OmegaConf.create(
        {"kind": "xgboost", "params": {}, "num_boost_round": 2, "early_stopping_rounds": None, "augment_copies": 3}
    )
    data = _tiny_split()
    assert fit_from_config(cfg, TRAINER, data, seed=0, out_dir=tmp_path, augment=True) == "fitted"
    assert seen["n"] == 3 * len(data.y_train)
    np.testing.assert_array_equal(canonical_form(seen["x"][200:400]), canonical_form(data.x_train))
    fit_from_config(cfg, TRAINER, data, seed=0, out_dir=tmp_path)
    assert seen["n"] == len(data.y_train)
