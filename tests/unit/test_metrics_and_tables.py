"""Metrics and the seed aggregation behind every table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from symbench.evaluation.metrics import accuracy, majority_baseline, mean_absolute_error
from symbench.reports.ks_benchmark import ks_summary, render_ks_markdown
from symbench.reports.tables import aggregate_over_seeds, collect_metrics, mean_sd


def test_accuracy_and_mae_on_a_hand_checked_example():
    y, p = np.array([6, 7, 8, 9]), np.array([6, 8, 8, 12])
    assert accuracy(y, p) == 0.5
    assert mean_absolute_error(y, p) == 1.0


def test_metrics_reject_length_mismatch():
    with pytest.raises(ValueError, match="equal in length"):
        accuracy(np.arange(3), np.arange(4))


def test_majority_baseline_uses_the_train_mode():
    assert majority_baseline(np.array([1, 2, 2, 3]), np.array([2, 2, 1, 5])) == 0.5


def test_seed_aggregation_gives_mean_and_sample_sd():
    df = pd.DataFrame({"model": ["a", "a", "b"], "acc": [0.5, 0.7, 0.9]})
    out = aggregate_over_seeds(df, ["model"], ["acc"]).set_index("model")
    assert out.loc["a", "acc_mean"] == pytest.approx(0.6)
    assert out.loc["a", "acc_std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert np.isnan(out.loc["b", "acc_std"]) and out.loc["b", "n_seeds"] == 1
    assert mean_sd(0.6, 0.1414) == "0.600 ± 0.141" and mean_sd(0.9, float("nan")) == "0.900"


def test_collect_metrics_names_a_broken_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "seed0.json").write_text(json.dumps({"model": "cnn"}))
    (tmp_path / "a" / "seed1.json").write_text("{broken")
    with pytest.raises(ValueError, match="seed1.json"):
        collect_metrics(tmp_path)


def test_collect_metrics_on_an_empty_folder_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="training stages"):
        collect_metrics(tmp_path)


def test_ks_markdown_puts_reference_beside_ours_and_marks_missing_cells():
    rows = [
        {
            "model": "cnn",
            "variant": "original",
            "seed": s,
            "profile": "smoke",
            "data_source": "real",
            "test_accuracy": acc,
            "test_mae": 1.0,
            "majority_baseline": 0.11,
            "n_params": 10,
            "train_seconds": 1.0,
            "best_val_accuracy": 0.5,
        }
        for s, acc in enumerate([0.50, 0.54])
    ]
    reference = {"accuracy": {"cnn": {"original": 0.507}}, "sd": {"cnn": {"original": 0.011}}}
    summary = ks_summary(pd.DataFrame(rows), reference)
    text = render_ks_markdown(summary, models=["cnn"], variants=["original", "dirichlet"], provenance={"data": "real"})
    assert "0.520 ± 0.028 (ref 0.507 ± 0.011)" in text
    assert "not run" in text
    assert "- **data**: real" in text


def _cell(model: str, variant: str, acc: float, inv: float, claims: str = "none", seed: int = 0) -> dict:
    return {
        "model": model,
        "variant": variant,
        "seed": seed,
        "profile": "smoke",
        "data_source": "real",
        "claims_invariance": claims,
        "test_accuracy": acc,
        "test_mae": 1.0,
        "majority_baseline": 0.11,
        "n_params": 10,
        "train_seconds": 1.0,
        "best_val_accuracy": 0.5,
        "invariance_change_rate": inv,
        "invariance_output_change": inv / 2,
    }


def test_ks_summary_names_the_winning_strategy_per_permuted_variant_and_counts_reference_cells():
    rows = [
        _cell("cnn", "original", 0.60, 0.9),
        _cell("cnn", "original_permuted", 0.20, 0.9),
        _cell("cnn", "canonical_permuted", 0.55, 0.0, "S4xS26"),
        _cell("cnn", "augmented", 0.30, 0.5),
        _cell("hartford", "original_permuted", 0.70, 0.0, "S4xS26"),
    ]
    reference = {"accuracy": {"cnn": {"original": 0.507, "original_permuted": 0.23}}, "sd": {}}
    summary = ks_summary(pd.DataFrame(rows), reference)
    text = render_ks_markdown(
        summary,
        models=["cnn", "hartford"],
        variants=["original", "original_permuted", "canonical_permuted", "augmented"],
        provenance={},
    )
    assert "- Best cell: **hartford** on `original_permuted`, 0.700 (invariant architecture)." in text
    assert "exactly 0: **hartford**" in text
    assert "  - canonical form: cnn on `canonical_permuted`, 0.550, inv 0" in text
    assert "  - augmentation: cnn on `augmented`, 0.300, inv 0.500" in text
    assert "matched or beaten by the same model on the same variant: 1 of 2" in text
    assert "0.600 (ref 0.507); inv 0.900" in text
    assert "S4xS26 **violated**" not in text


def test_ks_report_flags_a_claim_of_exact_invariance_that_the_measurement_contradicts():
    summary = ks_summary(pd.DataFrame([_cell("hartford", "original", 0.7, 0.01, "S4xS26")]), {})
    text = render_ks_markdown(summary, models=["hartford"], variants=["original"], provenance={})
    assert "S4xS26 **violated**" in text and "contradicted by measurement**: hartford/original" in text
