"""DVC stage music_audio_train: one audio model over its protocols (stimulus split, GTZAN folds) and seeds.

Writes reports/music/metrics/audio/<model>.json (a record per protocol, fold and seed under ``cells``) and the fitted
models under models/music/audio/<model>/.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import write_json_atomic
from symbench.config import load_params
from symbench.evaluation.metrics import accuracy
from symbench.music.audio_protocols import gtzan_folds, stimulus_split
from symbench.music.audio_training import fit_audio_model
from symbench.music.confusion import genre_confusion
from symbench.music.events import GTZAN_GENRES
from symbench.progress import progress
from symbench.stages.logging_setup import setup_logging

log = logging.getLogger(__name__)
WAVE_RATE = 16000


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    model = parser.parse_args(argv).model
    cfg = load_params()
    audio = cfg.music.audio
    if model not in cfg.music.audio_models:
        raise SystemExit(f"--model {model!r}: expected one of {', '.join(cfg.music.audio_models)}")
    spec = OmegaConf.to_container(cfg.music.audio_models[model], resolve=True)
    source = json.loads((paths.MUSIC_REPORTS / "gtzan_data.json").read_text(encoding="utf-8"))["data_source"]
    cells = {}
    for protocol in spec["protocols"]:  # type: ignore[index]
        x, table = _inputs(spec, protocol, audio.logmel)  # type: ignore[arg-type]
        y = table["label"].to_numpy().astype(np.int64)
        if protocol == "stimuli":
            splits = [(None, stimulus_split(table["task"].to_numpy()))]
        else:
            folds = gtzan_folds(y, n_folds=int(audio.protocols.gtzan.n_folds), seed=int(audio.protocols.gtzan.seed))
            chosen = audio.protocols.gtzan.folds
            splits = [(k, folds[k]) for k in (range(len(folds)) if chosen is None else chosen)]
        for seed in audio.seeds:
            for fold, (train_idx, test_idx) in progress(splits, desc=f"{model} {protocol}", unit="split"):
                name = protocol if fold is None else f"{protocol}-fold{fold}"
                fit = fit_audio_model(
                    spec,  # type: ignore[arg-type]
                    x,
                    y,
                    train_idx,
                    test_idx,
                    seed=int(seed),
                    out_dir=paths.MUSIC_AUDIO_MODELS / model / f"seed{seed}" / name,
                    num_threads=cfg.trainer.get("num_threads"),
                )
                y_test = y[test_idx]
                record = {
                    "study": "music_audio",
                    "model": model,
                    "protocol": protocol,
                    "fold": fold,
                    "n_folds": None if fold is None else int(audio.protocols.gtzan.n_folds),
                    "seed": int(seed),
                    "data_source": source,
                    "profile": cfg.run.profile,
                    "weights": fit.weights,
                    "accuracy": accuracy(y_test, fit.y_pred),
                    "n_train": len(train_idx),
                    "n_test": len(test_idx),
                    "input": spec["input"],  # type: ignore[index]
                    "crop_s": spec.get("crop_s"),  # type: ignore[union-attr]
                    "input_shape": list(x.shape[1:]),
                    "n_params": fit.n_params,
                    "epochs_run": fit.epochs_run,
                    "best_val_acc": fit.best_val_acc,
                    "fit_seconds": fit.fit_seconds,
                    "confusion": genre_confusion(y_test, fit.y_pred).tolist(),
                    "genres": list(GTZAN_GENRES),
                }
                log.info("%s %s seed %d: test accuracy %.3f", model, name, seed, record["accuracy"])
                cells[f"{name}-seed{seed}"] = record
    write_json_atomic(paths.music_audio_metrics(model), {"cells": cells})


def _inputs(spec: dict, protocol: str, logmel: Any) -> tuple[np.ndarray, pd.DataFrame]:
    """The model's input array for a protocol (log-mel or 16 kHz audio) and its clip table; with ``crop_s``, the
    middle ``crop_s`` seconds of every clip (train, validation and test alike)."""
    folder = paths.MUSIC_AUDIO
    stem = {"stimuli": "stimuli", "gtzan": "gtzan"}[protocol]
    table = pd.read_csv(folder / f"{stem}.csv")
    if protocol == "stimuli":
        table = table[table["rendered"]].reset_index(drop=True)
    if spec["input"] == "logmel":
        x, per_second = np.load(folder / f"{stem}_logmel.npy", mmap_mode="r"), logmel.sample_rate / logmel.hop_length
    elif spec["input"] == "wave16k" and protocol == "stimuli":
        x, per_second = np.load(folder / "stimuli_16k.npy", mmap_mode="r"), WAVE_RATE
    else:
        raise ValueError(
            f"audio model input {spec['input']!r} on protocol {protocol!r}: expected logmel (any "
            "protocol) or wave16k (stimuli)"
        )
    if spec.get("crop_s") is not None:
        n = int(round(float(spec["crop_s"]) * per_second))
        start = max(0, (x.shape[-1] - n) // 2)
        x = x[..., start : start + n]
    return np.asarray(x, dtype=np.float32), table


if __name__ == "__main__":
    main()
