"""Cost of the shared Lightning training path against a bare PyTorch loop: same model, data, schedule and seed.

    .venv/bin/python bench/bench_lightning_overhead.py [--models cnn hartford] [--repeats 3] [--n-train 56497]

Both sides train the default profile's model for the same number of epochs on the same real KS matrices (the
``original`` variant when ``dvc repro`` has built it, synthetic matrices otherwise: the JSON says which), with
Adam/AdamW and OneCycleLR stepped per batch, and a validation pass every epoch. The bare loop does nothing else; the
Lightning side is :func:`symbench.training.fit_torch.fit_torch` as the pipeline runs it (early stopping, the
best-epoch checkpoint, CSV logging). Runs alternate (bare, Lightning, bare, ...) so machine noise hits both;
the ratio is of the medians in one run. Writes reports/bench/lightning_overhead.json and .md. Goal: ≤ 1.10×.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader, TensorDataset

from symbench import paths
from symbench.atomic import write_json_atomic, write_text_atomic
from symbench.config import compose_config
from symbench.training.data import SplitArrays
from symbench.training.fit_torch import fit_torch

GOAL = 1.10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["cnn", "hartford"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=56497)
    parser.add_argument("--n-val", type=int, default=6277)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=paths.BENCH_REPORTS)
    args = parser.parse_args()
    cfg = compose_config(["profile=default"])
    data, source = _data(args.n_train, args.n_val)
    results = []
    for name in args.models:
        model_cfg = cfg.ks.models[name]
        bare, lightning = [], []
        for _ in range(args.repeats):
            bare.append(_bare_loop(model_cfg, data, args.epochs))
            lightning.append(_lightning(model_cfg, data, args.epochs))
        ratio = statistics.median(lightning) / statistics.median(bare)
        results.append(
            {
                "model": name,
                "batch_size": int(model_cfg.batch_size),
                "epochs": args.epochs,
                "bare_seconds": [round(t, 3) for t in bare],
                "lightning_seconds": [round(t, 3) for t in lightning],
                "median_bare_seconds": round(statistics.median(bare), 3),
                "median_lightning_seconds": round(statistics.median(lightning), 3),
                "ratio": round(ratio, 3),
                "within_goal": ratio <= GOAL,
            }
        )
        print(
            f"{name}: bare {statistics.median(bare):.2f} s, Lightning {statistics.median(lightning):.2f} s, "
            f"ratio {ratio:.3f}"
        )
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "data": source,
        "n_train": len(data.y_train),
        "n_val": len(data.y_val),
        "repeats": args.repeats,
        "goal_ratio": GOAL,
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "lightning_overhead.json", record)
    write_text_atomic(args.out / "lightning_overhead.md", _markdown(record))


def _data(n_train: int, n_val: int) -> tuple[SplitArrays, str]:
    variant = paths.ks_variant("original")
    if variant.exists() and paths.KS_POLYTOPES.exists():
        from symbench.ks.experiment import load_ks_split

        full = load_ks_split("original")
        source = "real KS matrices (original variant), first rows of the train and validation parts"
        x_tr, y_tr, x_va, y_va = full.x_train, full.y_train, full.x_val, full.y_val
    else:
        rng = np.random.default_rng(0)
        x_tr = rng.integers(-8, 7, (n_train, 4, 26)).astype(np.int8)
        y_tr = rng.integers(6, 43, n_train)
        x_va = rng.integers(-8, 7, (n_val, 4, 26)).astype(np.int8)
        y_va = rng.integers(6, 43, n_val)
        source = "synthetic matrices (run `dvc repro ks_variant@original` for real ones)"
    data = SplitArrays(x_tr[:n_train], y_tr[:n_train], x_va[:n_val], y_va[:n_val], x_va[:n_val], y_va[:n_val])
    return data, source


def _bare_loop(model_cfg, data: SplitArrays, epochs: int) -> float:
    """The same training a hand-written loop would do: epochs of Adam + OneCycle, one validation pass each."""
    torch.manual_seed(0)
    model = instantiate(model_cfg.net)
    optimizer = instantiate(model_cfg.optimizer)(model.parameters())
    steps = math.ceil(len(data.y_train) / model_cfg.batch_size) * epochs
    scheduler = instantiate(model_cfg.scheduler)(optimizer, total_steps=steps) if model_cfg.scheduler else None
    x = torch.as_tensor(data.x_train, dtype=torch.float32)
    y = torch.as_tensor(data.y_train)
    loader = DataLoader(
        TensorDataset(x, y), batch_size=model_cfg.batch_size, shuffle=True, generator=torch.Generator().manual_seed(0)
    )
    x_val = torch.as_tensor(data.x_val, dtype=torch.float32)
    y_val = torch.as_tensor(data.y_val)
    classification = model_cfg.task == "classification"
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            out = model(xb)
            if classification:
                loss = torch.nn.functional.cross_entropy(out, yb)
            else:
                loss = torch.nn.functional.mse_loss(out.squeeze(-1), yb.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        model.eval()
        with torch.inference_mode():
            out = torch.cat([model(x_val[i : i + 4096]) for i in range(0, len(x_val), 4096)])
            pred = out.argmax(-1) if classification else out.squeeze(-1).round()
            float((pred == y_val).float().mean())
    return time.perf_counter() - start


def _lightning(model_cfg, data: SplitArrays, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        fit = fit_torch(
            instantiate(model_cfg.net),
            data,
            task=model_cfg.task,
            optimizer=instantiate(model_cfg.optimizer),
            scheduler=instantiate(model_cfg.scheduler) if model_cfg.scheduler else None,
            batch_size=model_cfg.batch_size,
            max_epochs=epochs,
            patience=epochs,
            seed=0,
            out_dir=tmp,
            accelerator="cpu",
            devices=1,
        )
    return fit.train_seconds


def _markdown(record: dict) -> str:
    lines = [
        "# Lightning training path vs a bare PyTorch loop",
        "",
        f"{record['date']}, {record['machine']['cpus']} CPUs, torch {record['machine']['torch']}, "
        f"{record['machine']['threads']} threads; {record['n_train']:,} train / {record['n_val']:,} validation "
        f"matrices ({record['data']}); median of {record['repeats']} alternating runs. Goal: ≤ {GOAL:.2f}×.",
        "",
        "| model | batch | epochs | bare loop (s) | Lightning `fit_torch` (s) | ratio | within goal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in record["results"]:
        lines.append(
            f"| {r['model']} | {r['batch_size']} | {r['epochs']} | {r['median_bare_seconds']:.2f} | "
            f"{r['median_lightning_seconds']:.2f} | {r['ratio']:.3f} | {'yes' if r['within_goal'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
