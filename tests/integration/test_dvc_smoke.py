"""The whole pipeline, smoke profile, through `dvc repro` in a temporary copy of the repository."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pytest

from symbench import paths
from symbench.config import load_params

pytestmark = pytest.mark.slow


def test_smoke_repro_fills_every_cell_of_the_table(smoke_repo):
    params = load_params(smoke_repo / "params.yaml")
    models, variants = list(params.ks.model_names), list(params.ks.variants)
    assert {"cnn", "xgboost", "invariant_mlp", "hartford", "vit", "pointnet", "pointnet2", "feature_mlp"} <= set(models)
    assert "augmented" in variants and "canonical_permuted" in variants
    with open(smoke_repo / "reports/ks/benchmark.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["model"], r["variant"]) for r in rows} == {(m, v) for m in models for v in variants}
    for r in rows:
        assert 0.0 <= float(r["test_accuracy_mean"]) <= 1.0
        assert 0.0 <= float(r["invariance_change_rate_mean"]) <= 1.0
        assert r["profile"] == "smoke" and r["data_source"] == "real"
    text = (smoke_repo / "reports/ks/benchmark.md").read_text()
    assert "not run" not in text and "ref 0.960" in text and "## Summary" in text


def test_every_pipeline_that_claims_exact_invariance_measures_zero_in_the_smoke_run(smoke_repo):
    with open(smoke_repo / "reports/ks/benchmark.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    exact = [r for r in rows if r["claims_invariance"] == "S4xS26"]
    assert {r["model"] for r in exact} >= {"hartford", "feature_mlp"}
    assert {r["variant"] for r in exact} >= {"canonical", "canonical_permuted"}
    for r in exact:
        assert float(r["invariance_change_rate_mean"]) == 0.0, (r["model"], r["variant"])
    text = (smoke_repo / "reports/ks/benchmark.md").read_text()
    assert "S4xS26 **violated**" not in text and "contradicted by measurement" not in text


def test_palp_label_check_ran_or_says_why_not(smoke_repo):
    report = json.loads((smoke_repo / "reports/ks/palp_check.json").read_text())
    if shutil.which("poly-4d.x"):
        assert report["status"] == "passed" and report["n_checked"] == 200 and report["n_mismatched"] == 0
    else:
        assert report["status"] == "skipped" and "palp" in report["reason"]


def test_second_repro_is_a_no_op(smoke_repo, repo_run):
    out = repo_run(["dvc", "repro"], smoke_repo)
    assert "Running stage" not in out, out
    assert "is cached" in out or "didn't change" in out


def test_changing_one_cnn_hyperparameter_reruns_only_cnn_stages(smoke_repo, repo_run):
    out = repo_run(
        [
            "dvc",
            "exp",
            "run",
            "-S",
            "profile=smoke",
            "-S",
            "ks.models.cnn.optimizer.lr=0.0007",
            "-S",
            f"ks.fetch.mirror={paths.SHARED_DATA}",
            "-S",
            f"music.data.mirror={paths.SHARED_DATA / 'ds003720'}",
        ],
        smoke_repo,
    )
    ran = set(re.findall(r"Running stage '([^']+)'", out))
    assert ran, out
    assert ran == {"ks_train@cnn-0", "ks_report", "report"}, ran  # report: the page reads every metrics file
