"""DVC stage music_report: reports/music/brain.md and brain.csv from every decoder's metrics JSON."""

from __future__ import annotations

import json
import logging

from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import atomic_path, write_text_atomic
from symbench.config import load_params
from symbench.music import layout
from symbench.reports.music_brain import brain_summary, render_brain_markdown
from symbench.reports.tables import collect_metrics
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    setup_logging()
    cfg = load_params()
    music = cfg.music
    metrics = collect_metrics(paths.MUSIC_METRICS / "brain")
    metrics = metrics[metrics["model"].isin(list(music.model_names))]
    reference = OmegaConf.to_container(music.reference, resolve=True)
    summary = brain_summary(metrics, reference["brain"])  # type: ignore[index]
    subjects = [layout.subject_label(s) for s in music.data.subjects]
    text = render_brain_markdown(
        summary, models=list(music.model_names), subjects=subjects, provenance=_provenance(cfg, subjects)
    )
    write_text_atomic(paths.MUSIC_REPORTS / "brain.md", text)
    with atomic_path(paths.MUSIC_REPORTS / "brain.csv") as tmp:
        summary.drop(columns=["per_subject"]).to_csv(tmp, index=False, float_format="%.6g")
    logging.getLogger(__name__).info("wrote %s", paths.MUSIC_REPORTS / "brain.md")


def _provenance(cfg, subjects: list[str]) -> dict[str, str]:
    music = cfg.music
    registration = [
        json.loads((paths.music_registration_dir(s) / "registration.json").read_text(encoding="utf-8"))
        for s in subjects
    ]
    sources = sorted({r["data_source"] for r in registration})
    runs = "; ".join(f"{task} runs {', '.join(str(r) for r in numbers)}" for task, numbers in music.data.runs.items())
    lines = {
        "data": " + ".join(sources)
        + (" — synthetic BOLD in the real ds003720 layout (real events and sidecars)" if "fixture" in sources else "")
        + " — OpenNeuro ds003720 v1.0.1",
        "runs": runs,
        "profile": f"`{cfg.run.profile}` — {cfg.run.description}",
        "seeds": ", ".join(str(s) for s in music.seeds),
        "clips": (
            f"{music.extract.n_trs} TRs from onset + {music.extract.hemodynamic_delay_s} s; whole-brain tensors "
            f"block-averaged by {music.extract.brain_downsample}"
        ),
        "regions": ", ".join(f"{name} (atlas {k})" for k, name in music.roi.names.items()),
        "reference": music.reference.source,
    }
    errors = [r["error_vs_fixture_truth_mm"]["mean"] for r in registration if "error_vs_fixture_truth_mm" in r]
    if errors:
        lines["registration"] = (
            f"mean displacement vs the fixture's known transform {min(errors):.2f}–{max(errors):.2f} mm over subjects"
        )
    return lines


if __name__ == "__main__":
    main()
