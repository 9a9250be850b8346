"""DVC stage music_decode: one brain decoder, every subject and seed; trained on Training runs, tested on Test runs.

Writes reports/music/metrics/brain/<model>.json (a record per subject and seed under ``cells``) and the fitted
models under models/music/<model>/seed<k>/<sub>/.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import write_json_atomic
from symbench.config import load_params
from symbench.evaluation.metrics import accuracy
from symbench.music import layout
from symbench.music.bids_source import data_source
from symbench.music.confusion import genre_confusion
from symbench.music.decoders import DecoderData, fit_predict_decoder
from symbench.music.events import GTZAN_GENRES
from symbench.stages.logging_setup import setup_logging

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    model = parser.parse_args(argv).model
    cfg = load_params()
    music = cfg.music
    if model not in music.models:
        raise SystemExit(f"--model {model!r}: expected one of {', '.join(music.models)} (music.models)")
    spec = OmegaConf.to_container(music.models[model], resolve=True)
    source = data_source(paths.MUSIC_BIDS)
    cells = {}
    for seed in music.seeds:
        for subject in music.data.subjects:
            sub = layout.subject_label(subject)
            train, test = _load(sub, spec["input"])  # type: ignore[index]
            result = fit_predict_decoder(
                spec,  # type: ignore[arg-type]
                train,
                test,
                seed=int(seed),
                out_dir=paths.MUSIC_MODELS / model / f"seed{seed}" / sub,
                num_threads=cfg.trainer.get("num_threads"),
            )
            record = {
                "study": "music_brain",
                "model": model,
                "kind": spec["kind"],  # type: ignore[index]
                "input": spec["input"],  # type: ignore[index]
                "subject": sub,
                "seed": int(seed),
                "data_source": source,
                "profile": cfg.run.profile,
                "accuracy": accuracy(test.y, result.y_pred),
                "n_train": len(train.y),
                "n_test": len(test.y),
                "n_train_runs": len(np.unique(train.groups)),
                "n_features": result.n_features,
                "n_params": result.n_params,
                "fit_seconds": result.fit_seconds,
                "best_val_score": result.best_val_score,
                "chosen": result.chosen,
                "confusion": genre_confusion(test.y, result.y_pred).tolist(),
                "genres": list(GTZAN_GENRES),
            }
            log.info("%s %s seed %d: test accuracy %.3f", model, sub, seed, record["accuracy"])
            cells[f"{sub}-seed{seed}"] = record
    write_json_atomic(paths.music_brain_metrics(model), {"cells": cells})


def _load(sub: str, which: str) -> tuple[DecoderData, DecoderData]:
    """Training-run and Test-run clips of one subject: ROI tensors or whole-brain tensors."""
    folder = paths.music_clips_dir(sub)
    events = pd.read_csv(folder / "clips.csv")
    if which == "roi":
        with np.load(folder / "roi.npz") as npz:
            x = npz["roi"]
    elif which == "brain":
        x = np.load(folder / "brain.npy", mmap_mode="r")
    else:
        raise ValueError(f"music model input {which!r}: expected roi or brain")
    parts = []
    for task in ("Training", "Test"):
        rows = np.flatnonzero(events["task"].to_numpy() == task)
        if rows.size == 0:
            raise ValueError(f"{folder / 'clips.csv'}: no {task} clips; music.data.runs must select {task} runs")
        parts.append(
            DecoderData(
                x=np.asarray(x[rows]),
                y=events["label"].to_numpy()[rows].astype(np.int64),
                groups=events["run"].to_numpy()[rows].astype(np.int64),
            )
        )
    return parts[0], parts[1]


if __name__ == "__main__":
    main()
