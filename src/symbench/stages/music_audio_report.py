"""DVC stage music_audio_report: reports/music/audio.md and audio.csv from every audio model's metrics JSON."""

from __future__ import annotations

import json
import logging

from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import atomic_path, write_text_atomic
from symbench.config import load_params
from symbench.reports.music_audio import audio_summary, render_audio_markdown
from symbench.reports.tables import collect_metrics
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    setup_logging()
    cfg = load_params()
    music = cfg.music
    metrics = collect_metrics(paths.MUSIC_METRICS / "audio")
    metrics = metrics[metrics["model"].isin(list(music.audio_model_names))]
    reference = OmegaConf.to_container(music.reference, resolve=True)
    summary = audio_summary(metrics, reference["audio"])  # type: ignore[index]
    gtzan = json.loads((paths.MUSIC_REPORTS / "gtzan_data.json").read_text(encoding="utf-8"))
    stimuli = json.loads((paths.MUSIC_REPORTS / "stimuli_problems.json").read_text(encoding="utf-8"))
    missing = gtzan["missing"]
    faults = [*gtzan["unreadable"], *(f"{k} ({v} s)" for k, v in gtzan["short"].items())]
    clip_line = (
        f"{gtzan['n_readable']} readable of {gtzan['n_expected']}; unreadable or short: {', '.join(faults) or 'none'}"
    )
    if missing:
        clip_line += f"; {len(missing)} missing ({', '.join(missing[:3])}{', …' if len(missing) > 3 else ''})"
    provenance = {
        "data": f"GTZAN, {gtzan['data_source']}"
        + (" — synthetic clips in the GTZAN layout (FIXTURE.json)" if gtzan["data_source"] == "fixture" else ""),
        "GTZAN clips": clip_line,
        "stimuli": f"{stimuli['n_rendered']} of {stimuli['n_stimuli']} excerpts rendered (2-s fades, RMS-normalised)",
        "profile": f"`{cfg.run.profile}` — {cfg.run.description}",
        "log-mel": ", ".join(f"{k} {v}" for k, v in music.audio.logmel.items()),
        "schedules": "; ".join(
            f"{name}: up to {spec.max_epochs} epochs (patience {spec.patience}), batch {spec.batch_size}"
            + (f", net {dict(spec.net)}" if "net" in spec else "")
            for name, spec in music.audio_models.items()
        ),
        "reference": "the seed study's audio rows ("
        + ", ".join(f"{m} {r['accuracy']:.4f} ± {r['sd']:.4f}" for m, r in reference["audio"].items())  # type: ignore[index]
        + "; the seed does not say which protocol)",
    }
    text = render_audio_markdown(summary, models=list(music.audio_model_names), provenance=provenance)
    write_text_atomic(paths.MUSIC_REPORTS / "audio.md", text)
    with atomic_path(paths.MUSIC_REPORTS / "audio.csv") as tmp:
        summary.to_csv(tmp, index=False, float_format="%.6g")
    logging.getLogger(__name__).info("wrote %s", paths.MUSIC_REPORTS / "audio.md")


if __name__ == "__main__":
    main()
