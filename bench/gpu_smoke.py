"""GPU smoke test and throughput: train every KS model for a fixed number of steps, record samples/s and peak memory.

    .venv/bin/python bench/gpu_smoke.py                      # on a GPU machine: the paper profile's models
    .venv/bin/python bench/gpu_smoke.py --device cpu --profile smoke --steps 3   # the same path on a CPU

Torch models run ``steps`` optimizer steps of their configured batch size (bf16 autocast on CUDA, as
``trainer=gpu``) on random 4×26 matrices after ``warmup`` steps; XGBoost boosts ``rounds`` rounds with
``device=cuda``. Writes reports/bench/gpu_smoke.json and .md (device name, samples/s, peak memory per model).
A failure of one model is recorded, not fatal, so one run shows every problem.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate

from symbench import paths
from symbench.atomic import write_json_atomic, write_text_atomic
from symbench.config import compose_config

N_CLASSES = 48


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--out", type=Path, default=paths.BENCH_REPORTS)
    args = parser.parse_args(argv)
    cfg = compose_config([f"profile={args.profile}"])
    device = torch.device(args.device)
    results = []
    for name, model_cfg in cfg.ks.models.items():
        try:
            if model_cfg.kind == "xgboost":
                results.append(_xgboost(name, model_cfg, device, args.rounds))
            else:
                results.append(_torch(name, model_cfg, device, args.steps, args.warmup))
        except Exception as err:  # recorded per model: one run shows every failure
            results.append({"model": name, "error": f"{type(err).__name__}: {err}", "trace": traceback.format_exc()})
        print(_line(results[-1]), flush=True)
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "profile": args.profile,
        "steps": args.steps,
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "gpu_smoke.json", record)
    write_text_atomic(args.out / "gpu_smoke.md", _markdown(record))
    return record


def _torch(name: str, model_cfg: Any, device: torch.device, steps: int, warmup: int) -> dict[str, Any]:
    torch.manual_seed(0)
    net = instantiate(model_cfg.net).to(device)
    optimizer = instantiate(model_cfg.optimizer)(net.parameters())
    batch = int(model_cfg.batch_size)
    x = torch.randint(-8, 7, (batch, 4, 26), device=device).float()
    y = torch.randint(6, 43, (batch,), device=device)
    classification = model_cfg.task == "classification"
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> None:
        with autocast:
            out = net(x)
            out = out.float()
            loss = (
                torch.nn.functional.cross_entropy(out, y)
                if classification
                else torch.nn.functional.mse_loss(out.squeeze(-1), y.float())
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = time.perf_counter() - start
    return {
        "model": name,
        "kind": "torch",
        "batch_size": batch,
        "parameters": sum(p.numel() for p in net.parameters()),
        "samples_per_second": round(steps * batch / seconds, 1),
        "seconds_per_step": round(seconds / steps, 5),
        "peak_memory_mib": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None,
    }


def _xgboost(name: str, model_cfg: Any, device: torch.device, rounds: int) -> dict[str, Any]:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    n = 62_774  # the reference's train size
    x = rng.integers(-8, 7, (n, 104)).astype(np.float32)
    y = rng.integers(6, 43, n).astype(np.float32)
    params = {**dict(model_cfg.params), "device": "cuda" if device.type == "cuda" else "cpu", "seed": 0}
    start = time.perf_counter()
    xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=rounds)
    seconds = time.perf_counter() - start
    return {
        "model": name,
        "kind": "xgboost",
        "rows": n,
        "rounds": rounds,
        "samples_per_second": round(n * rounds / seconds, 1),
        "seconds_per_round": round(seconds / rounds, 5),
        "peak_memory_mib": None,
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _line(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['model']}: FAILED {r['error']}"
    return f"{r['model']}: {r['samples_per_second']:,.0f} samples/s, peak {r['peak_memory_mib']} MiB"


def _markdown(record: dict[str, Any]) -> str:
    lines = [
        "# GPU smoke test: training throughput per KS model",
        "",
        f"{record['date']} on {record['device']} (torch {record['torch']}, CUDA {record['cuda']}), profile "
        f"`{record['profile']}`, {record['steps']} timed steps after warm-up.",
        "",
        "| model | batch | parameters | samples/s | peak memory (MiB) | status |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in record["results"]:
        if "error" in r:
            lines.append(f"| {r['model']} | | | | | failed: {r['error']} |")
            continue
        memory = "—" if r["peak_memory_mib"] is None else f"{r['peak_memory_mib']:,.0f}"
        lines.append(
            f"| {r['model']} | {r.get('batch_size', '—')} | {r.get('parameters', '—')} | "
            f"{r['samples_per_second']:,.0f} | {memory} | ok |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
