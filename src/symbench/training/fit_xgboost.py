"""Fit XGBoost (native API) on the flattened vertex matrices; early stopping on the validation part.

Reference: danielplatt/kreuzer-skarke-ML, ``src/models/xgboost.py``: ``reg:tweedie``, ``colsample_bytree``
0.5, ``learning_rate`` 0.01, ``max_depth`` 6, ``alpha`` 1, on the 104 entries of the row-major flattened
matrix, prediction = round(pred).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from symbench.atomic import atomic_path
from symbench.training.data import FitResult, SplitArrays

__all__ = ["fit_xgboost"]

log = logging.getLogger(__name__)

MODEL_FILE = "model.ubj"
_CLASSIFICATION_OBJECTIVES = ("multi:softprob", "multi:softmax")


def fit_xgboost(
    data: SplitArrays,
    *,
    params: dict[str, Any],
    num_boost_round: int,
    early_stopping_rounds: int | None,
    seed: int,
    out_dir: str | Path,
    device: str = "cpu",
    nthread: int | None = None,
) -> FitResult:
    """Boost on the train part; stop once the validation metric stalls for ``early_stopping_rounds`` rounds.

    ``params`` are XGBoost's (``objective`` defaults to the reference's ``reg:tweedie``); ``seed``,
    ``device`` and ``nthread`` override any given there. Early stopping watches the objective's default
    evaluation metric (or the last ``eval_metric`` in ``params``) on the validation part, and the returned
    model is cut at the best round. Regression objectives predict ``round(pred)``; ``multi:softprob``
    predicts the argmax class, with ``num_class`` defaulting to ``max(y) + 1`` over train and validation.
    Writes ``out_dir/model.ubj`` (atomically).

    ``FitResult.n_params`` is the number of tree nodes (splits and leaves) in the saved model;
    ``epochs_run`` is the number of boosting rounds run and ``best_epoch`` the 0-based best round.
    """
    params = {"objective": "reg:tweedie", **params, "seed": seed, "device": device}
    if nthread is not None:
        params["nthread"] = nthread
    objective = str(params["objective"])
    classification = objective in _CLASSIFICATION_OBJECTIVES
    if classification:
        params.setdefault("num_class", int(max(data.y_train.max(), data.y_val.max())) + 1)
    elif objective.startswith("multi:"):
        raise ValueError(f"fit_xgboost: objective {objective!r} is not supported; use multi:softprob")

    dtrain = xgb.DMatrix(_features(data.x_train), label=data.y_train.astype(np.float32))
    dval = xgb.DMatrix(_features(data.x_val), label=data.y_val.astype(np.float32))
    start = time.perf_counter()
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=num_boost_round,
        evals=[(dval, "val")],
        early_stopping_rounds=early_stopping_rounds,
        verbose_eval=False,
    )
    train_seconds = time.perf_counter() - start
    epochs_run = booster.num_boosted_rounds()
    best_round = int(booster.best_iteration) if early_stopping_rounds else epochs_run - 1
    booster = booster[: best_round + 1]

    out_dir = Path(out_dir)
    with atomic_path(out_dir / MODEL_FILE) as tmp:
        # xgboost picks the format from the suffix (and warns about .tmp), so save as .ubj and move
        ubj = tmp.with_suffix(".ubj")
        booster.save_model(str(ubj))
        ubj.replace(tmp)

    predict_raw = partial(_predict_raw, booster)
    predict = partial(_predict, predict_raw, classification)
    best_val_acc = float(np.mean(predict(data.x_val) == data.y_val))
    log.info(
        "fit_xgboost: %d rounds, best %d, val acc %.4f, %.1f s",
        epochs_run,
        best_round,
        best_val_acc,
        train_seconds,
    )
    return FitResult(
        predict=predict,
        predict_raw=predict_raw,
        n_params=_count_tree_nodes(booster),
        train_seconds=train_seconds,
        epochs_run=epochs_run,
        best_epoch=best_round,
        best_val_acc=best_val_acc,
        raw_kind="probabilities" if classification else "values",
    )


def _features(x: np.ndarray) -> np.ndarray:
    """``(n, rows, cols)`` → ``(n, rows*cols)`` float32, row-major (the reference's 104 features)."""
    return np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)


def _predict_raw(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    return booster.predict(xgb.DMatrix(_features(x)))


def _predict(predict_raw: Any, classification: bool, x: np.ndarray) -> np.ndarray:
    raw = predict_raw(x)
    if classification:
        return (raw.argmax(axis=1) if raw.ndim == 2 else raw).astype(np.int64)
    return np.rint(raw).astype(np.int64)


def _count_tree_nodes(booster: xgb.Booster) -> int:
    # one line per node (split or leaf) in the text dump of each tree
    return sum(len(tree.strip().splitlines()) for tree in booster.get_dump())
