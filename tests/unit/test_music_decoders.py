"""Genre decoders on synthetic clips with a planted genre signal: every kind fits, learns, validates on runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from symbench.models.brain_cnn3d import BrainCNN3d
from symbench.music.decoders import KINDS, DecoderData, _features, _fit_sklearn, fit_predict_decoder
from symbench.training.data import SplitArrays
from symbench.training.lightning_module import TargetModule

torch.set_num_threads(1)

N_GENRES, N_TR, N_ROI = 10, 10, 50
BRAIN = (8, 8, 6)
CNN_SPEC = {
    "kind": "cnn3d",
    "input": "brain",
    "widths": [4, 8],
    "dropout": 0.1,
    "lr": 3e-3,
    "batch_size": 16,
    "max_epochs": 8,
    "patience": 8,
    "accelerator": "cpu",
    "csv_log": False,
}
SPECS: dict[str, dict[str, Any]] = {
    "chance": {"kind": "chance", "input": "roi"},
    "knn": {"kind": "knn", "input": "roi"},
    "logreg": {"kind": "logreg", "input": "roi", "C": 0.1},
    "linear_svm": {"kind": "linear_svm", "input": "roi", "C_grid": [0.01, 1.0]},
    "xgboost": {
        "kind": "xgboost",
        "input": "roi",
        "num_boost_round": 100,
        "early_stopping_rounds": 10,
        "params": {"max_depth": 2, "learning_rate": 0.3},
    },
    "cnn3d": CNN_SPEC,
    "brain_svm": {"kind": "brain_svm", "input": "brain", "n_voxels": 300, "C": 0.1},
}


def _clips(rng: np.random.Generator, y: np.ndarray, runs: np.ndarray) -> dict[str, DecoderData]:
    """ROI clips: a genre prototype (voxels × TRs) plus noise. Brain clips: inside a box mask, a genre time
    course times a fixed spatial map plus noise; exactly zero outside (zero-variance voxels)."""
    protos = np.random.default_rng(1).normal(size=(N_GENRES, N_ROI, N_TR))
    codes = np.random.default_rng(2).normal(size=(N_GENRES, N_TR))
    spatial = 1.0 + 0.5 * np.random.default_rng(3).normal(size=BRAIN)
    roi = 0.5 * protos[y] + rng.normal(size=(len(y), N_ROI, N_TR))
    brain = np.zeros((len(y), N_TR, *BRAIN))
    inside = (slice(None), slice(None), slice(1, 7), slice(1, 7), slice(1, 5))
    signal = codes[y][:, :, None, None, None] * spatial[None, None]
    brain[inside] = (signal + rng.normal(size=brain.shape))[inside]
    return {
        "roi": DecoderData(roi.astype(np.float32), y, runs),
        "brain": DecoderData(brain.astype(np.float16), y, runs),
    }


def _part(first_run: int, n_runs: int, seed: int) -> dict[str, DecoderData]:
    """``n_runs`` runs of 40 clips (4 per genre), run numbers from ``first_run``."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([rng.permutation(np.repeat(np.arange(N_GENRES), 4)) for _ in range(n_runs)])
    runs = np.repeat(np.arange(first_run, first_run + n_runs), 40)
    return _clips(rng, y.astype(np.int64), runs)


@pytest.fixture(scope="module")
def train() -> dict[str, DecoderData]:
    return _part(1, 4, seed=10)


@pytest.fixture(scope="module")
def test() -> dict[str, DecoderData]:
    return _part(5, 2, seed=11)


def _run(spec: dict[str, Any], train: dict, test: dict, out_dir: Path, seed: int = 0):
    return fit_predict_decoder(spec, train[spec["input"]], test[spec["input"]], seed=seed, out_dir=out_dir)


def _accuracy(result, test: dict, spec: dict[str, Any]) -> float:
    return float(np.mean(result.y_pred == test[spec["input"]].y))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_fits_predicts_and_learns(kind: str, train: dict, test: dict, tmp_path: Path) -> None:
    spec = SPECS[kind]
    result = _run(spec, train, test, tmp_path)
    assert result.y_pred.shape == (80,) and result.y_pred.dtype == np.int64
    assert set(np.unique(result.y_pred)) <= set(range(N_GENRES))
    assert result.n_features > 0 and result.fit_seconds >= 0
    if kind != "chance":
        # planted signal: chance is 0.1; every learnable kind clears it by far (the 8-epoch CNN by 3x, ~0.6 here)
        assert _accuracy(result, test, spec) >= (0.3 if kind == "cnn3d" else 0.5), (kind, _accuracy(result, test, spec))
    if kind in ("knn", "linear_svm", "xgboost", "cnn3d"):
        assert result.best_val_score is not None and 0 <= result.best_val_score <= 1
    if kind == "xgboost":
        assert (tmp_path / "model.ubj").is_file() and result.chosen["val"] == "run 4"
    if kind == "cnn3d":
        assert (tmp_path / "model.pt").is_file()
        assert result.n_params == sum(p.numel() for p in BrainCNN3d(widths=(4, 8)).parameters())


@pytest.mark.parametrize(("input_", "n_features"), [("roi", N_ROI), ("brain", int(np.prod(BRAIN)))])
def test_time_mean_features_average_the_trs(
    input_: str, n_features: int, train: dict, test: dict, tmp_path: Path
) -> None:
    spec = {"kind": "knn", "input": input_, "features": "time_mean", "k_grid": [5]}
    result = _run(spec, train, test, tmp_path)
    assert result.n_features == n_features
    x = train[input_].x
    time_axis = 2 if input_ == "roi" else 1
    np.testing.assert_allclose(
        _features(x, spec), x.astype(np.float32).mean(axis=time_axis).reshape(len(x), -1), rtol=1e-5
    )
    if input_ == "roi":  # the ROI prototypes differ in their voxel means too
        assert _accuracy(result, test, spec) >= 0.5


def test_chance_is_uniform_at_ten_percent(train: dict, test: dict, tmp_path: Path) -> None:
    spec = SPECS["chance"]
    # 20 seeds x 80 clips: the mean accuracy's sd is 0.0075, so [0.05, 0.15] is > 6 sd wide either side
    results = [_run(spec, train, test, tmp_path, seed=seed) for seed in range(20)]
    accuracies = [_accuracy(r, test, spec) for r in results]
    assert 0.05 <= np.mean(accuracies) <= 0.15
    counts = np.bincount(np.concatenate([r.y_pred for r in results]), minlength=N_GENRES)
    assert counts.min() >= 100  # 1600 draws over 10 genres, 160 expected each
    assert results[0].n_params is None and results[0].best_val_score is None


@pytest.mark.parametrize("kind", ["logreg", "linear_svm", "brain_svm"])
def test_sample_span_solves_the_same_l2_problem(kind: str, tmp_path: Path) -> None:
    """More values per clip than clips (the ROI case): solving in the training clips' span gives the weights of
    the full problem, mapped back, and the same predictions."""
    train_p, test_p = _part(1, 2, seed=20), _part(3, 1, seed=21)  # 80 training clips, 500 ROI values each
    spec = {**SPECS[kind], "C": 0.05, "C_grid": None}
    results = {
        span: _run({**spec, "sample_span": span}, train_p, test_p, tmp_path / str(span)) for span in (True, False)
    }
    assert train_p[spec["input"]].x[0].size > len(train_p[spec["input"]].y)
    np.testing.assert_array_equal(results[True].y_pred, results[False].y_pred)
    assert results[True].n_params == results[False].n_params
    x = train_p[spec["input"]].x.reshape(80, -1).astype(np.float32)
    estimator, _, _ = _fit_sklearn({**spec, "sample_span": True}, x, train_p[spec["input"]], seed=0)
    reference, _, _ = _fit_sklearn({**spec, "sample_span": False}, x, train_p[spec["input"]], seed=0)
    span_coef = estimator.named_steps["model"].coef_ @ estimator.named_steps["span"].components_
    full_coef = reference.named_steps["model"].coef_
    assert span_coef.shape == full_coef.shape
    np.testing.assert_allclose(span_coef, full_coef, atol=2e-3 * np.abs(full_coef).max())


def _decoy_knn_data() -> DecoderData:
    """Data where only k = 1 is right under leave-one-run-out.

    Runs 1 and 2 share prototype A[g, j] for clip j of genre g, runs 3 and 4 prototype B[g, j] = A[g - 1, j]
    + a small offset: a held-out clip's single nearest neighbour is its twin in the paired run (same genre),
    its next two are decoys of a neighbouring genre, so k >= 3 votes wrong.
    """
    rng = np.random.default_rng(7)
    a = rng.normal(size=(N_GENRES, 4, 60)) * 3.0
    b = np.roll(a, 1, axis=0) + 0.6 * rng.normal(size=a.shape)
    xs, ys, runs = [], [], []
    for run, proto in ((1, a), (2, a), (3, b), (4, b)):
        xs.append(proto.reshape(-1, 60) + 0.1 * rng.normal(size=(N_GENRES * 4, 60)))
        ys.append(np.repeat(np.arange(N_GENRES), 4))
        runs.append(np.full(N_GENRES * 4, run))
    x = np.concatenate(xs).reshape(-1, 6, 10).astype(np.float32)  # (clips, "voxels", TRs)
    return DecoderData(x, np.concatenate(ys).astype(np.int64), np.concatenate(runs))


def test_knn_picks_k_by_leave_one_run_out(tmp_path: Path) -> None:
    data = _decoy_knn_data()
    spec = {"kind": "knn", "input": "roi", "k_grid": [9, 7, 5, 3, 1]}
    result = fit_predict_decoder(spec, data, data, seed=0, out_dir=tmp_path)
    assert result.chosen["n_neighbors"] == 1
    assert result.chosen["cv"] == "LeaveOneGroupOut over 4 runs"
    # the reported score is exactly the leave-one-run-out score of k = 1: the folds were the runs
    pipe = Pipeline([("scale", StandardScaler()), ("model", KNeighborsClassifier(n_neighbors=1))])
    x = data.x.reshape(len(data.x), -1)
    expected = cross_val_score(pipe, x, data.y, groups=data.groups, cv=LeaveOneGroupOut()).mean()
    assert result.best_val_score == pytest.approx(expected) and result.best_val_score > 0.9
    for k in (3, 5):
        pipe.set_params(model__n_neighbors=k)
        assert cross_val_score(pipe, x, data.y, groups=data.groups, cv=LeaveOneGroupOut()).mean() < 0.5


@pytest.mark.parametrize("data_seed", [0, 4, 5])  # 4, 5: two ks share the best score
def test_knn_search_chooses_what_grid_search_would(data_seed: int) -> None:
    """One neighbour search per fold gives GridSearchCV's scores for every k and its choice (first best k)."""
    rng = np.random.default_rng(data_seed)
    # weak signal, few clips: many equal scores between ks and vote ties within a clip's neighbours
    y = np.tile(np.arange(N_GENRES), 9)
    x = (0.3 * rng.normal(size=(N_GENRES, 40))[y] + rng.normal(size=(len(y), 40))).astype(np.float32)
    train = DecoderData(x[:, :, None], y.astype(np.int64), np.repeat([1, 2, 3], 30))
    k_grid = [8, 1, 3, 4, 5, 6, 2, 7, 9]
    spec = {"kind": "knn", "input": "roi", "k_grid": k_grid}
    estimator, chosen, score = _fit_sklearn(spec, x, train, seed=0)
    search = GridSearchCV(
        Pipeline([("scale", StandardScaler()), ("model", KNeighborsClassifier())]),
        {"model__n_neighbors": k_grid}, scoring="accuracy", cv=LeaveOneGroupOut(),
    ).fit(x, train.y, groups=train.groups)  # fmt: skip
    assert chosen["n_neighbors"] == search.best_params_["model__n_neighbors"]
    assert score == pytest.approx(search.best_score_, abs=1e-12)
    assert estimator.named_steps["model"].n_neighbors == chosen["n_neighbors"]
    np.testing.assert_array_equal(estimator.predict(x), search.best_estimator_.predict(x))


def test_one_run_falls_back_to_stratified_folds(train: dict, test: dict, tmp_path: Path) -> None:
    roi = train["roi"]
    one_run = replace(roi, groups=np.ones_like(roi.groups))
    result = fit_predict_decoder({"kind": "knn", "input": "roi"}, one_run, test["roi"], seed=0, out_dir=tmp_path)
    assert result.chosen["cv"].startswith("StratifiedKFold(")
    xgb_spec = SPECS["xgboost"]
    result = fit_predict_decoder(xgb_spec, one_run, test["roi"], seed=0, out_dir=tmp_path)
    assert result.chosen["val"].startswith("stratified 0.2")


def test_brain_svm_selection_sees_only_training_clips(train: dict, test: dict, tmp_path: Path) -> None:
    spec = SPECS["brain_svm"]
    brain_train, brain_test = train["brain"], test["brain"]
    x = _features(brain_train.x, spec)
    fitted, chosen, _ = _fit_sklearn(spec, x, brain_train, seed=0)
    variance = VarianceThreshold(0.0).fit(x)
    k = spec["n_voxels"]
    expected = SelectKBest(f_classif, k=k).fit(variance.transform(x), brain_train.y).get_support()
    assert np.array_equal(fitted.named_steps["select"].get_support(), expected)
    assert chosen["n_voxels"] == k
    assert variance.get_support().sum() == 6 * 6 * 4 * N_TR  # the zero voxels outside the mask are dropped
    # replacing half of the test clips by noise changes nothing for the other half
    noisy = np.random.default_rng(0).normal(size=brain_test.x.shape).astype(np.float16)
    half = np.arange(len(brain_test.y)) < 40
    other = replace(brain_test, x=np.where(half[:, None, None, None, None], brain_test.x, noisy))
    a = fit_predict_decoder(spec, brain_train, brain_test, seed=0, out_dir=tmp_path)
    b = fit_predict_decoder(spec, brain_train, other, seed=0, out_dir=tmp_path)
    assert np.array_equal(a.y_pred[half], b.y_pred[half])


@pytest.mark.parametrize("kind", ["knn", "logreg", "xgboost", "cnn3d", "brain_svm"])
def test_same_seed_same_predictions(kind: str, train: dict, test: dict, tmp_path: Path) -> None:
    spec = SPECS[kind]
    first = _run(spec, train, test, tmp_path / "a")
    second = _run(spec, train, test, tmp_path / "b")
    assert np.array_equal(first.y_pred, second.y_pred)
    assert first.chosen == second.chosen and first.best_val_score == second.best_val_score


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"kind": "random_forest", "input": "roi"}, "kind must be one of"),
        ({"kind": "knn", "input": "eeg"}, "input must be one of"),
        ({"kind": "cnn3d", "input": "roi"}, "needs input 'brain'"),
        ({"kind": "knn", "input": "roi", "k_gird": [1]}, r"unknown keys \['k_gird'\]"),
        ({"kind": "logreg", "input": "roi", "features": "pca"}, "features must be one of"),
        ({"kind": "logreg", "input": "brain"}, "must have 5 axes"),
    ],
)
def test_bad_spec_is_a_clear_error(spec: dict[str, Any], match: str, train: dict, test: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=match) as error:
        fit_predict_decoder(spec, train["roi"], test["roi"], seed=0, out_dir=tmp_path)
    assert "decoder spec" in str(error.value) and repr(spec["kind"]) in str(error.value)


def test_decoder_data_checks_lengths() -> None:
    with pytest.raises(ValueError, match=r"DecoderData.groups"):
        DecoderData(np.zeros((4, 3, 10)), np.zeros(4, dtype=np.int64), np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize("grid", [(48, 48, 34), BRAIN])
def test_brain_cnn3d_forward_and_parameter_count(grid: tuple[int, int, int]) -> None:
    widths, k = (16, 32, 64), 3
    model = BrainCNN3d(n_outputs=10, in_channels=10, widths=widths, kernel_size=k).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 10, *grid))
    assert out.shape == (2, 10)
    # conv weights (no bias) + BatchNorm weight and bias per block, then the linear head
    expected, in_ch = 0, 10
    for width in widths:
        expected, in_ch = expected + in_ch * width * k**3 + 2 * width, width
    expected += in_ch * 10 + 10
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected
    stride = BrainCNN3d(widths=widths, downsample="stride").eval()
    assert sum(p.numel() for p in stride.parameters()) == expected
    with torch.no_grad():
        assert stride(torch.randn(2, 10, *grid)).shape == (2, 10)


def test_brain_cnn3d_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="downsample"):
        BrainCNN3d(downsample="avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kernel_size"):
        BrainCNN3d(kernel_size=2)
    with pytest.raises(ValueError, match=r"expected input \(B, 10, X, Y, Z\)"):
        BrainCNN3d()(torch.randn(2, 8, 4, 4, 4))


def test_split_arrays_take_any_sample_shape_and_keep_their_checks() -> None:
    y = np.zeros(4, dtype=np.int64)
    for shape in ((4, 7), (4, 10, *BRAIN)):
        split = SplitArrays(np.zeros(shape), y, np.zeros(shape), y, np.zeros(shape), y)
        with pytest.raises(ValueError, match="matrix_shape"):
            _ = split.matrix_shape
    assert SplitArrays(*[np.zeros((4, 4, 26)), y] * 3).matrix_shape == (4, 26)
    with pytest.raises(ValueError, match=r"x_train: expected shape \(n, \*sample_shape\)"):
        SplitArrays(np.zeros(4), y, np.zeros((4, 2)), y, np.zeros((4, 2)), y)
    with pytest.raises(ValueError, match="differ in shape"):
        SplitArrays(np.zeros((4, 2)), y, np.zeros((4, 3)), y, np.zeros((4, 2)), y)


def test_target_module_augmentation_needs_matrices() -> None:
    module = TargetModule(BrainCNN3d(widths=(2,)), augment=True)
    batch = (torch.randn(2, 10, *BRAIN), torch.tensor([0, 9]))
    with pytest.raises(ValueError, match=r"augment=True\): expected matrices"):
        module.training_step(batch, 0)
    loss = TargetModule(BrainCNN3d(widths=(2,))).training_step(batch, 0)  # genre labels, 5-D input, no augment
    assert loss.ndim == 0 and torch.isfinite(loss)
