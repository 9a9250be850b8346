"""DVC stage ks_report: reports/ks/benchmark.md and benchmark.csv from every cell's metrics JSON."""

from __future__ import annotations

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
        "reference": ks.reference.source,
    }
    text = render_ks_markdown(summary, models=list(ks.model_names), variants=list(ks.variants), provenance=provenance)
    write_text_atomic(paths.KS_REPORTS / "benchmark.md", text)
    with atomic_path(paths.KS_REPORTS / "benchmark.csv") as tmp:
        summary.to_csv(tmp, index=False, float_format="%.6g")
    logging.getLogger(__name__).info("wrote %s", paths.KS_REPORTS / "benchmark.md")


if __name__ == "__main__":
    main()
