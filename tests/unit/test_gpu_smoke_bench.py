"""bench/gpu_smoke.py: every KS model trains a few steps and reports throughput (on CPU here, on CUDA when present)."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from symbench import paths


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_smoke", paths.ROOT / "bench" / "gpu_smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_smoke_runs_every_model_on_cpu_and_writes_json_and_markdown(tmp_path):
    args = ["--device", "cpu", "--profile", "smoke", "--steps", "1", "--warmup", "0", "--rounds", "2"]
    record = _bench().main([*args, "--out", str(tmp_path)])
    names = {r["model"] for r in record["results"]}
    assert {"cnn", "xgboost", "hartford", "vit", "pointnet", "pointnet2", "feature_mlp"} <= names
    for r in record["results"]:
        assert "error" not in r, r
        assert r["samples_per_second"] > 0
    assert json.loads((tmp_path / "gpu_smoke.json").read_text())["results"] == record["results"]
    assert "| cnn |" in (tmp_path / "gpu_smoke.md").read_text()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_smoke_on_cuda_reports_peak_memory(tmp_path):
    args = ["--device", "cuda", "--profile", "smoke", "--steps", "2", "--warmup", "1", "--rounds", "2"]
    record = _bench().main([*args, "--out", str(tmp_path)])
    torch_rows = [r for r in record["results"] if r.get("kind") == "torch"]
    assert torch_rows and all(r["peak_memory_mib"] > 0 for r in torch_rows)
