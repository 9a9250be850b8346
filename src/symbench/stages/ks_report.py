"""DVC stage ks_report: reports/ks/benchmark.md and benchmark.csv from every cell's metrics JSON."""

from __future__ import annotations

import json
import logging

from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import atomic_path, write_text_atomic
from symbench.config import load_params
from symbench.reports.ks_benchmark import ks_summary, render_ks_markdown
from symbench.reports.tables import collect_metrics
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    setup_logging()
    cfg = load_params()
    ks = cfg.ks
    metrics = collect_metrics(paths.KS_METRICS)
    metrics = metrics[metrics.model.isin(list(ks.model_names)) & metrics.variant.isin(list(ks.variants))]
    summary = ks_summary(metrics, OmegaConf.to_container(ks.reference, resolve=True))
    first = metrics.iloc[0]
    provenance = {
        "data": f"{ks.fetch.source} — upstream Kreuzer–Skarke `v26.gz` (sha256 `{ks.fetch.sha256[:16]}…`)",
        "split": f"{first.n_train:,} train / {first.n_val:,} validation (early stopping) / {first.n_test:,} test",
        "profile": f"`{cfg.run.profile}` — {cfg.run.description}",
        "seeds": ", ".join(str(s) for s in ks.seeds),
        "invariance error": (
            f"{ks.invariance.n_draws} random (σ, τ) per test matrix on "
            f"{'all' if ks.invariance.max_matrices is None else f'the first {ks.invariance.max_matrices:,}'} "
            "test matrices, through the variant's preprocessing"
        ),
        "labels": _palp_line(),
        "reference": ks.reference.source,
    }
    if cfg.run.profile != "paper":
        provenance["note"] = (
            f"the `{cfg.run.profile}` profile trains for far fewer epochs than the reference (20 epochs, GPU); "
            "compare strategies within this table, and run the `paper` profile to compare with the reference"
        )
    text = render_ks_markdown(summary, models=list(ks.model_names), variants=list(ks.variants), provenance=provenance)
    write_text_atomic(paths.KS_REPORTS / "benchmark.md", text)
    with atomic_path(paths.KS_REPORTS / "benchmark.csv") as tmp:
        summary.to_csv(tmp, index=False, float_format="%.6g")
    logging.getLogger(__name__).info("wrote %s", paths.KS_REPORTS / "benchmark.md")


def _palp_line() -> str:
    """One line on the PALP label check (stage ks_palp_check), or why there is none."""
    path = paths.KS_REPORTS / "palp_check.json"
    if not path.exists():
        return "not checked with PALP (no reports/ks/palp_check.json)"
    report = json.loads(path.read_text(encoding="utf-8"))
    if report["status"] == "skipped":
        return f"not checked with PALP: {report['reason']}"
    return (
        f"(h11, h21) of {report['n_checked']:,} entries recomputed with PALP {report.get('palp_version') or ''}: "
        f"{report['status']}, {report['n_mismatched']} mismatches"
    )


if __name__ == "__main__":
    main()
