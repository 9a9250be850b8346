"""`python -m symbench.train` computes what the DVC stage computes: one cell, a submitit multirun, DDP on CPU."""

from __future__ import annotations

import json
import sys

import pytest

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "symbench.train"]
SAME = ("test_accuracy", "test_mae", "invariance_change_rate", "n_params", "best_epoch", "n_test", "claims_invariance")


def _dvc_cell(repo, model: str, variant: str) -> dict:
    return json.loads((repo / f"reports/ks/metrics/{model}/seed0.json").read_text())["cells"][variant]


def test_one_cell_from_the_cli_equals_the_cell_the_dvc_stage_computed(smoke_repo, repo_run):
    repo_run([*CLI, "profile=smoke", "cell.model=hartford", "cell.variant=canonical_permuted"], smoke_repo)
    record = json.loads((smoke_repo / "outputs/ks/hartford/canonical_permuted/seed0/metrics.json").read_text())
    expected = _dvc_cell(smoke_repo, "hartford", "canonical_permuted")
    assert set(record) == set(expected)
    assert {k: record[k] for k in SAME} == {k: expected[k] for k in SAME}
    assert (smoke_repo / "outputs/ks/hartford/canonical_permuted/seed0/model/model.pt").is_file()


def test_a_two_job_multirun_through_submitit_local_writes_both_results(smoke_repo, repo_run):
    overrides = ["profile=smoke", "hydra/launcher=local", "cell.model=cnn,xgboost", "cell.variant=original"]
    out = repo_run([*CLI, "-m", *overrides], smoke_repo)  # Hydra wants its flags before the overrides
    for model in ("cnn", "xgboost"):
        path = smoke_repo / f"multirun/ks/{model}/original/seed0/metrics.json"
        assert path.is_file(), out[-3000:]
        record = json.loads(path.read_text())
        assert (
            record["model"] == model
            and record["test_accuracy"] == _dvc_cell(smoke_repo, model, "original")["test_accuracy"]
        )
    assert (smoke_repo / "multirun/ks/.submitit").is_dir()  # the jobs went through submitit, not the basic launcher


def test_ddp_with_two_cpu_processes_over_gloo_trains_and_writes_the_same_metrics_layout(smoke_repo, repo_run):
    out = repo_run(
        [
            *CLI,
            "profile=smoke",
            "trainer=ddp_cpu",
            "cell.model=hartford",
            "cell.variant=original",
            "hydra.run.dir=outputs/ddp",
        ],
        smoke_repo,
    )
    record = json.loads((smoke_repo / "outputs/ddp/metrics.json").read_text())
    assert set(record) == set(_dvc_cell(smoke_repo, "hartford", "original"))
    assert 0.0 <= record["test_accuracy"] <= 1.0 and record["invariance_change_rate"] == 0.0
    assert "distributed_backend=gloo" in out and "Starting with 2 processes" in out, out[-3000:]
