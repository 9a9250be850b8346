"""Genre decoders for the music study: every model kind behind one call, ``fit_predict_decoder``.

Per subject, a decoder is fitted on the clips of the Training runs and predicts the genre (0..9) of the clips
of the Test runs; test labels are never read. A spec (one model config, a mapping) names the model ``kind`` and
the ``input`` array the caller passes:

- ``input: roi``: ROI features ``(n_clips, n_voxels, T)``; ``input: brain``: whole-brain clips
  ``(n_clips, T, X, Y, Z)``. ``features`` (every kind but ``cnn3d``): ``flatten`` (every voxel × TR value, the
  default) or ``time_mean`` (each voxel averaged over the T TRs of the clip).
- ``chance``: ``DummyClassifier(strategy="uniform")``, expected accuracy 1 / n_classes.
- ``knn``: StandardScaler → k nearest neighbours, k from ``k_grid`` by validation.
- ``logreg`` / ``linear_svm``: StandardScaler → LogisticRegression / LinearSVC with ``C`` (or the best of
  ``C_grid`` by validation).
- ``brain_svm`` (``input: brain``): drop zero-variance features → SelectKBest(f_classif, ``n_voxels``) →
  StandardScaler → LinearSVC, all inside one Pipeline, so the selection is fitted on training clips only (and
  on the training folds only during validation). Under ``features: flatten`` a "voxel" is one voxel × TR value.
- The three linear kinds solve in the span of their training clips (``sample_span: true``, the default): a PCA
  with every component (an orthonormal basis of the scaled training rows) sits before the model. With an L2
  penalty the optimal weights lie in that span (representer theorem), so the fit is the same problem in n instead
  of p unknowns per class (here ~120 clips against 71,730 ROI values: LinearSVC's C grid went from 139 s to 9 s
  per subject, identical test predictions); ``n_params`` counts the weights mapped back to the features.
- ``xgboost``: :func:`symbench.training.fit_xgboost.fit_xgboost` (``multi:softprob``) on the features.
- ``cnn3d`` (``input: brain``): :class:`symbench.models.brain_cnn3d.BrainCNN3d` through
  :func:`symbench.training.fit_torch.fit_torch` on the raw clips, TRs as channels.

Validation never leaves the Training runs. Grid searches (``k_grid``, ``C_grid``) score accuracy with
LeaveOneGroupOut over runs (``cv: logo``, the default) or GroupKFold (``cv: group_kfold``, ``cv_folds``
folds); only with a single run do they fall back to StratifiedKFold, and ``DecoderResult.chosen["cv"]`` says
which was used. ``xgboost`` and ``cnn3d`` early-stop on one held-out training run (``val_run``, default the
highest run number; a stratified ``val_fraction`` of the clips if there is one run) and are then used as they
are, trained on the other runs. Same data + seed → same predictions on CPU (``cnn3d`` on CUDA needs
``downsample: stride`` with the default ``deterministic: true``: MaxPool3d has no deterministic CUDA backward).

Spec keys: ``kind``, ``input``, an optional ``name``, and those of :data:`SPEC_DEFAULTS` for the kind (which
lists them with their defaults). Unknown keys are an error (a typo must not fall back to a default silently).
sklearn kinds write nothing to ``out_dir``; ``xgboost`` writes ``model.ubj``, ``cnn3d`` ``model.pt`` and
``logs/metrics.csv``. Memory: ``cnn3d`` and ``features: flatten`` on brain clips hold the training clips as
float32 (``fit_torch`` converts the whole train part at once): 480 clips of 10 × 48 × 48 × 34 are ~1.5 GB.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, LeaveOneGroupOut, StratifiedKFold, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from symbench.training.data import SplitArrays

__all__ = ["KINDS", "SPEC_DEFAULTS", "DecoderData", "DecoderResult", "fit_predict_decoder"]

KINDS = ("chance", "knn", "logreg", "linear_svm", "xgboost", "cnn3d", "brain_svm")
INPUTS = ("roi", "brain")
FEATURES = ("flatten", "time_mean")

_NDIM = {"roi": 3, "brain": 5}
_TIME_AXIS = {"roi": 2, "brain": 1}
_BRAIN_ONLY = ("cnn3d", "brain_svm")
_COMMON_KEYS = ("kind", "input", "name")
_FEATURES = {"features": "flatten"}
_CV = {"cv": "logo", "cv_folds": 5}
_HOLDOUT = {"val_run": None, "val_fraction": 0.2}  # val_run None: the highest training run number
# C_grid None: fit C as given, no validation; sample_span: solve in the training clips' span (exact, see above)
_LINEAR = {"C": 1.0, "C_grid": None, "max_iter": 10_000, "sample_span": True}
SPEC_DEFAULTS: dict[str, dict[str, Any]] = {
    "chance": {"n_classes": 10, **_FEATURES},
    "knn": {
        "n_classes": 10,
        **_FEATURES,
        "k_grid": (1, 3, 5, 7, 9),
        "weights": "uniform",
        "metric": "euclidean",
        **_CV,
    },
    "logreg": {"n_classes": 10, **_FEATURES, **_LINEAR, **_CV},
    "linear_svm": {"n_classes": 10, **_FEATURES, **_LINEAR, **_CV},
    "brain_svm": {"n_classes": 10, **_FEATURES, "n_voxels": 5000, **_LINEAR, **_CV},
    "xgboost": {
        "n_classes": 10,
        **_FEATURES,
        "params": {},  # XGBoost's own; objective multi:softprob and num_class = n_classes unless given
        "num_boost_round": 500,
        "early_stopping_rounds": 30,
        "device": "cpu",
        **_HOLDOUT,
    },
    "cnn3d": {
        "n_classes": 10,
        "widths": (16, 32, 64),
        "kernel_size": 3,
        "downsample": "max",
        "dropout": 0.5,
        "input_norm": True,
        "lr": 1e-3,  # AdamW
        "weight_decay": 1e-2,
        "batch_size": 16,
        "eval_batch_size": 32,
        "max_epochs": 50,
        "patience": 10,
        "accelerator": "auto",
        "devices": 1,
        "precision": "32-true",
        "deterministic": True,
        "csv_log": True,
        **_HOLDOUT,
    },
}
"""Every key each kind reads besides ``kind``, ``input`` (and an optional ``name``), with its default."""


@dataclass(frozen=True)
class DecoderData:
    """The clips of one part (Training or Test runs) of one subject.

    ``x``: ``(n, n_voxels, T)`` ROI features or ``(n, T, X, Y, Z)`` brain clips; ``y``: int64 genre ``(n,)``;
    ``groups``: the run number of each clip ``(n,)`` (validation folds are whole runs).
    """

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray

    def __post_init__(self) -> None:
        n = self.x.shape[0] if self.x.ndim else 0
        if self.x.ndim < 2 or n == 0:
            raise ValueError(f"DecoderData.x: expected a non-empty array (n, ...), got shape {self.x.shape}")
        for name in ("y", "groups"):
            value = getattr(self, name)
            if value.shape != (n,) or not np.issubdtype(value.dtype, np.integer):
                raise ValueError(
                    f"DecoderData.{name}: expected integers of shape ({n},), got {value.dtype} {value.shape}"
                )


@dataclass
class DecoderResult:
    """Test predictions of one fitted decoder and what the report needs about the fit.

    ``y_pred``: int64 genre per test clip. ``chosen``: the hyperparameters used (validated ones included) and the
    validation scheme (``cv`` or ``val``). ``n_features``: values per clip the model is given (before any
    selection). ``n_params``: fitted coefficients (linear models), tree nodes (XGBoost), trainable weights
    (CNN), ``None`` for chance and kNN. ``best_val_score``: validation accuracy of the chosen setting (mean over
    folds for grid searches), ``None`` when nothing was validated.
    """

    y_pred: np.ndarray
    chosen: dict[str, Any]
    n_features: int
    fit_seconds: float
    n_params: int | None
    best_val_score: float | None


def fit_predict_decoder(
    spec: Mapping[str, Any],
    train: DecoderData,
    test: DecoderData,
    *,
    seed: int,
    out_dir: Path,
    num_threads: int | None = None,
) -> DecoderResult:
    """Fit the decoder ``spec`` describes on ``train`` and predict the genres of ``test`` (``test.y`` unread).

    ``num_threads`` caps BLAS/OpenMP threads of the sklearn kinds, XGBoost's ``nthread`` and torch's
    intra-op threads. Raises ``ValueError`` naming the spec for an unknown kind, input, feature mode or key, and
    for arrays that do not match the input.
    """
    kind = _check_spec(spec, train, test)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    limits = threadpool_limits(limits=num_threads) if num_threads is not None else nullcontext()
    with limits:
        if kind == "cnn3d":
            return _fit_predict_cnn3d(spec, train, test, seed=seed, out_dir=out_dir, num_threads=num_threads)
        if kind == "xgboost":
            return _fit_predict_xgboost(spec, train, test, seed=seed, out_dir=out_dir, num_threads=num_threads)
        return _fit_predict_sklearn(spec, train, test, seed=seed)


def _get(spec: Mapping[str, Any], key: str) -> Any:
    """``spec[key]``, or the kind's default."""
    return spec.get(key, SPEC_DEFAULTS[spec["kind"]][key])


def _check_spec(spec: Mapping[str, Any], train: DecoderData, test: DecoderData) -> str:
    """The spec's kind, once kind, input, features, keys and the arrays' shapes and labels are consistent."""
    kind, input_ = spec.get("kind"), spec.get("input")
    where = f"decoder spec {dict(spec)!r}"
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    if input_ not in INPUTS:
        raise ValueError(f"{where}: input must be one of {INPUTS}, got {input_!r}")
    if kind in _BRAIN_ONLY and input_ != "brain":
        raise ValueError(f"{where}: kind {kind!r} needs input 'brain', got {input_!r}")
    allowed = {*_COMMON_KEYS, *SPEC_DEFAULTS[kind]}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown} for kind {kind!r}; allowed: {sorted(allowed)}")
    if kind != "cnn3d" and _get(spec, "features") not in FEATURES:
        raise ValueError(f"{where}: features must be one of {FEATURES}, got {spec.get('features')!r}")
    n_classes = int(_get(spec, "n_classes"))
    for part, data in (("train", train), ("test", test)):
        if data.x.ndim != _NDIM[input_]:
            raise ValueError(
                f"{where}: {part}.x for input {input_!r} must have {_NDIM[input_]} axes, got {data.x.shape}"
            )
    if train.x.shape[1:] != test.x.shape[1:]:
        raise ValueError(f"{where}: train and test clips differ in shape: {train.x.shape[1:]} vs {test.x.shape[1:]}")
    if train.y.min() < 0 or train.y.max() >= n_classes:
        raise ValueError(f"{where}: train.y must be genre indices in 0..{n_classes - 1}, got {np.unique(train.y)}")
    return kind


def _features(x: np.ndarray, spec: Mapping[str, Any]) -> np.ndarray:
    """Clips → float32 ``(n, n_features)``: every voxel × TR value, or each voxel's mean over the TRs."""
    if _get(spec, "features") == "time_mean":
        x = np.mean(x, axis=_TIME_AXIS[spec["input"]], dtype=np.float32)
    return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)


def _as_float64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _n_features(x: np.ndarray, spec: Mapping[str, Any]) -> int:
    shape = list(x.shape[1:])
    if spec["kind"] != "cnn3d" and _get(spec, "features") == "time_mean":
        del shape[_TIME_AXIS[spec["input"]] - 1]
    return int(np.prod(shape))


def _sklearn_estimator(spec: Mapping[str, Any], seed: int) -> tuple[BaseEstimator, dict[str, list[Any]]]:
    """The unfitted Pipeline of a sklearn kind and its search grid (empty: no validation)."""
    kind = spec["kind"]
    if kind == "chance":
        return DummyClassifier(strategy="uniform", random_state=seed), {}
    if kind == "knn":
        knn = KNeighborsClassifier(weights=_get(spec, "weights"), metric=_get(spec, "metric"))
        grid = {"model__n_neighbors": [int(k) for k in _get(spec, "k_grid")]}
        # sklearn 1.9's float32 Euclidean neighbour search is ~30x slower than float64 on 10^5-10^6 features
        # (measured: 39 x 78 clips of 783,360 features, 11.6 s vs 0.36 s), so the scaled features are float64.
        scale = StandardScaler()
        return Pipeline([("scale", scale), ("float64", FunctionTransformer(_as_float64)), ("model", knn)]), grid
    C, max_iter = float(_get(spec, "C")), int(_get(spec, "max_iter"))
    if kind == "logreg":
        model: BaseEstimator = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    else:
        model = LinearSVC(C=C, max_iter=max_iter, random_state=seed)
    steps: list[tuple[str, BaseEstimator]] = [("scale", StandardScaler())]
    if _get(spec, "sample_span"):
        # every component: a rotation onto the span of the (centred) training rows, nothing is discarded
        steps.append(("span", PCA(n_components=None, svd_solver="full")))
    steps.append(("model", model))
    if kind == "brain_svm":
        selection = [
            ("variance", VarianceThreshold(0.0)),
            ("select", SelectKBest(f_classif, k=int(_get(spec, "n_voxels")))),
        ]
        steps = selection + steps
    c_grid = _get(spec, "C_grid")
    grid = {"model__C": [float(c) for c in c_grid]} if c_grid is not None else {}
    return Pipeline(steps), grid


def _fit_sklearn(
    spec: Mapping[str, Any], x: np.ndarray, train: DecoderData, seed: int
) -> tuple[BaseEstimator, dict[str, Any], float | None]:
    """Fit a sklearn kind on features ``x`` of ``train``: (fitted estimator, chosen, validation score)."""
    estimator, grid = _sklearn_estimator(spec, seed)
    chosen: dict[str, Any] = {"features": _get(spec, "features")}
    score: float | None = None
    if grid:
        cv, chosen["cv"] = _cv_splitter(spec, train, seed)
        groups = None if isinstance(cv, StratifiedKFold) else train.groups
        if spec["kind"] == "knn" and _get(spec, "weights") == "uniform":
            k, score = _search_k(estimator, grid["model__n_neighbors"], x, train.y, cv, groups)
            estimator.set_params(model__n_neighbors=k).fit(x, train.y)
            chosen["n_neighbors"] = k
        else:
            search = GridSearchCV(estimator, grid, scoring="accuracy", cv=cv, refit=True, error_score="raise")
            search.fit(x, train.y, groups=groups)
            estimator, score = search.best_estimator_, float(search.best_score_)
            chosen |= {name.removeprefix("model__"): value for name, value in search.best_params_.items()}
    else:
        estimator.fit(x, train.y)
    if isinstance(estimator, Pipeline):
        model = estimator.named_steps["model"]
        if "C" not in chosen and hasattr(model, "C"):
            chosen["C"] = float(model.C)
        if "span" in estimator.named_steps:
            chosen["sample_span"] = True
        if "select" in estimator.named_steps:
            chosen["n_voxels"] = int(estimator.named_steps["select"].get_support().sum())
    return estimator, chosen, score


def _fit_predict_sklearn(spec: Mapping[str, Any], train: DecoderData, test: DecoderData, *, seed: int) -> DecoderResult:
    start = time.perf_counter()
    if spec["kind"] == "chance":  # the uniform draw never looks at x
        x_train, x_test = np.zeros((len(train.y), 1)), np.zeros((len(test.y), 1))
    else:
        x_train, x_test = _features(train.x, spec), _features(test.x, spec)
    estimator, chosen, score = _fit_sklearn(spec, x_train, train, seed)
    fit_seconds = time.perf_counter() - start
    model = estimator.named_steps["model"] if isinstance(estimator, Pipeline) else estimator
    coef = getattr(model, "coef_", None)
    if coef is not None and "span" in estimator.named_steps:
        coef = coef @ estimator.named_steps["span"].components_  # the weights on the features themselves
    n_params = None if coef is None else int(coef.size + np.size(model.intercept_))
    return DecoderResult(
        y_pred=np.asarray(estimator.predict(x_test), dtype=np.int64),
        chosen=chosen,
        n_features=_n_features(train.x, spec),
        fit_seconds=fit_seconds,
        n_params=n_params,
        best_val_score=score,
    )


def _search_k(
    estimator: Pipeline, k_grid: list[int], x: np.ndarray, y: np.ndarray, cv: Any, groups: np.ndarray | None
) -> tuple[int, float]:
    """(best k, its mean validation accuracy): what ``GridSearchCV(estimator, {"model__n_neighbors": k_grid})``
    chooses (the first best k in grid order; tested to agree), with one scaler fit and one neighbour search per fold
    instead of one per fold and k. Not GridSearchCV itself because on whole-brain clips (783,360 values) refitting
    the scaler and searching again for every k was 3/4 of the decoder's time. Uniform weights only: a majority vote
    over the k nearest, ties to the smallest label, as ``KNeighborsClassifier.predict``."""
    k_grid = [int(k) for k in k_grid]
    scores = []
    for fit_idx, val_idx in cv.split(x, y, groups):
        fold = clone(estimator).set_params(model__n_neighbors=max(k_grid)).fit(x[fit_idx], y[fit_idx])
        knn = fold.named_steps["model"]
        neighbours = knn.kneighbors(fold[:-1].transform(x[val_idx]), return_distance=False)  # nearest first
        votes = np.searchsorted(knn.classes_, y[fit_idx])[neighbours]  # class index of each neighbour
        fold_scores = []
        for k in k_grid:
            counts = np.apply_along_axis(np.bincount, 1, votes[:, :k], minlength=len(knn.classes_))
            fold_scores.append(float(np.mean(knn.classes_[counts.argmax(axis=1)] == y[val_idx])))
        scores.append(fold_scores)
    mean = np.mean(scores, axis=0)
    best = int(np.argmax(mean))  # the first of equal scores, as GridSearchCV's rank
    return k_grid[best], float(mean[best])


def _cv_splitter(spec: Mapping[str, Any], train: DecoderData, seed: int) -> tuple[Any, str]:
    """Folds over whole runs; StratifiedKFold only when all clips come from one run. Returns (cv, description)."""
    n_runs = len(np.unique(train.groups))
    folds = int(_get(spec, "cv_folds"))
    if n_runs >= 2:
        if _get(spec, "cv") == "logo":
            return LeaveOneGroupOut(), f"LeaveOneGroupOut over {n_runs} runs"
        if _get(spec, "cv") == "group_kfold":
            folds = min(folds, n_runs)
            return GroupKFold(n_splits=folds), f"GroupKFold({folds}) over {n_runs} runs"
        raise ValueError(f"decoder spec {dict(spec)!r}: cv must be 'logo' or 'group_kfold', got {spec['cv']!r}")
    folds = min(folds, int(np.unique(train.y, return_counts=True)[1].min()))  # every fold needs every genre
    if folds < 2:
        raise ValueError(f"decoder spec {dict(spec)!r}: one training run with too few clips per genre to validate")
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed), f"StratifiedKFold({folds}), one run"


def _holdout(spec: Mapping[str, Any], train: DecoderData, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(fit indices, validation indices, description): one held-out run, or a stratified share of one run."""
    runs = np.unique(train.groups)
    if len(runs) >= 2:
        val_run = _get(spec, "val_run")
        val_run = int(runs.max()) if val_run is None else val_run
        if val_run not in runs:
            raise ValueError(f"decoder spec {dict(spec)!r}: val_run {val_run!r} is not a training run {runs.tolist()}")
        is_val = train.groups == val_run
        return np.flatnonzero(~is_val), np.flatnonzero(is_val), f"run {val_run}"
    fraction = float(_get(spec, "val_fraction"))
    fit_idx, val_idx = train_test_split(
        np.arange(len(train.y)), test_size=fraction, stratify=train.y, random_state=seed
    )
    return np.sort(fit_idx), np.sort(val_idx), f"stratified {fraction:g} of run {int(runs[0])}"


def _split_arrays(x: np.ndarray, train: DecoderData, spec: Mapping[str, Any], seed: int) -> tuple[SplitArrays, str]:
    """``SplitArrays`` of fit / validation clips with an empty test part: the fit functions never see test."""
    fit_idx, val_idx, described = _holdout(spec, train, seed)
    y = train.y.astype(np.int64)
    split = SplitArrays(x[fit_idx], y[fit_idx], x[val_idx], y[val_idx], x[:0], y[:0])
    return split, described


def _fit_predict_xgboost(
    spec: Mapping[str, Any], train: DecoderData, test: DecoderData, *, seed: int, out_dir: Path, num_threads: int | None
) -> DecoderResult:
    from symbench.training.fit_xgboost import fit_xgboost

    start = time.perf_counter()
    split, described = _split_arrays(_features(train.x, spec), train, spec, seed)
    params = {"objective": "multi:softprob", "num_class": int(_get(spec, "n_classes")), **dict(_get(spec, "params"))}
    fit = fit_xgboost(
        split,
        params=params,
        num_boost_round=int(_get(spec, "num_boost_round")),
        early_stopping_rounds=_get(spec, "early_stopping_rounds"),
        seed=seed,
        out_dir=out_dir,
        device=str(_get(spec, "device")),
        nthread=num_threads,
    )
    fit_seconds = time.perf_counter() - start
    chosen = {"features": _get(spec, "features"), "val": described, "best_round": fit.best_epoch, "params": params}
    return DecoderResult(
        y_pred=fit.predict(_features(test.x, spec)),
        chosen=chosen,
        n_features=_n_features(train.x, spec),
        fit_seconds=fit_seconds,
        n_params=fit.n_params,
        best_val_score=fit.best_val_acc,
    )


def _fit_predict_cnn3d(
    spec: Mapping[str, Any], train: DecoderData, test: DecoderData, *, seed: int, out_dir: Path, num_threads: int | None
) -> DecoderResult:
    import torch

    from symbench.models.brain_cnn3d import BrainCNN3d
    from symbench.training.fit_torch import fit_torch

    start = time.perf_counter()
    split, described = _split_arrays(train.x, train, spec, seed)
    net = {
        "widths": tuple(int(w) for w in _get(spec, "widths")),
        "kernel_size": int(_get(spec, "kernel_size")),
        "downsample": _get(spec, "downsample"),
        "dropout": float(_get(spec, "dropout")),
        "input_norm": bool(_get(spec, "input_norm")),
    }
    optim = {"lr": float(_get(spec, "lr")), "weight_decay": float(_get(spec, "weight_decay"))}
    # a factory: fit_torch seeds first, then builds, so the initial weights come from ``seed``
    model = partial(BrainCNN3d, n_outputs=int(_get(spec, "n_classes")), in_channels=train.x.shape[1], **net)
    fit = fit_torch(
        model,
        split,
        task="classification",
        optimizer=partial(torch.optim.AdamW, **optim),
        scheduler=None,
        batch_size=int(_get(spec, "batch_size")),
        max_epochs=int(_get(spec, "max_epochs")),
        patience=int(_get(spec, "patience")),
        seed=seed,
        out_dir=out_dir,
        accelerator=str(_get(spec, "accelerator")),
        devices=_get(spec, "devices"),
        precision=str(_get(spec, "precision")),
        deterministic=_get(spec, "deterministic"),
        num_threads=num_threads,
        eval_batch_size=int(_get(spec, "eval_batch_size")),
        csv_log=bool(_get(spec, "csv_log")),
    )
    fit_seconds = time.perf_counter() - start
    chosen = {"val": described, "best_epoch": fit.best_epoch, "epochs_run": fit.epochs_run, **net, **optim}
    return DecoderResult(
        y_pred=fit.predict(test.x),
        chosen=chosen,
        n_features=_n_features(train.x, spec),
        fit_seconds=fit_seconds,
        n_params=fit.n_params,
        best_val_score=fit.best_val_acc,
    )
