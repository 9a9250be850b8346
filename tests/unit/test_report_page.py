"""The generated page (stage report): its numbers are the metrics files', every image exists, every row has a source.

The stage runs once per module, in a subprocess on a temporary root holding small metrics fixtures (written by
:func:`write_report_inputs`, which the Chromium test reuses), exactly as DVC runs it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html.parser
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from symbench import paths
from symbench.reports import index_page
from symbench.reports.ks_benchmark import ks_summary
from symbench.reports.music_audio import audio_summary
from symbench.reports.music_brain import brain_summary
from symbench.stages import report

GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
KS_REFERENCE = {
    "source": "danielplatt/kreuzer-skarke-ML (repository logs)",
    "accuracy": {"cnn": {"original": 0.507}, "hartford": {"original": 0.792}},
    "sd": {"cnn": {"original": 0.011}},
}
BRAIN_REFERENCE = {"roi_logreg": {"accuracy": 0.199, "sd": None, "note": "ROI-66 + linear"}}
AUDIO_REFERENCE = {"bbnn": {"accuracy": 0.7324, "sd": 0.0796}}


def write_report_inputs(root: Path, *, ks_logs: bool = True) -> None:
    """What the earlier stages leave for stage report, small: metrics JSONs, CSV summaries, registration, logs."""
    rng = np.random.default_rng(7)
    (root / "conf").mkdir(parents=True, exist_ok=True)
    (root / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    params = {
        "run": {"profile": "smoke", "description": "tiny fixtures <for tests>"},
        "ks": {"reference": KS_REFERENCE},
    }
    (root / "params.yaml").write_text(json.dumps(params), encoding="utf-8")  # JSON is YAML

    ks_rows = []
    for model, claims in (("cnn", "none"), ("invariant_mlp", "none")):
        for seed in (0, 1):
            cells = {}
            for variant in ("original", "canonical"):
                cells[variant] = {
                    "model": model, "variant": variant, "seed": seed, "profile": "smoke", "data_source": "real",
                    "claims_invariance": "S4xS26" if variant == "canonical" else claims,
                    "test_accuracy": float(rng.uniform(0.2, 0.9)), "test_mae": float(rng.uniform(0.1, 2)),
                    "majority_baseline": 0.111, "n_params": 1000, "train_seconds": 3.0,
                    "best_val_accuracy": 0.5, "invariance_output_change": 0.0,
                    "invariance_change_rate": 0.0 if variant == "canonical" else float(rng.uniform(0.1, 0.9)),
                }  # fmt: skip
            ks_rows += cells.values()
            _write_json(root / f"reports/ks/metrics/{model}/seed{seed}.json", {"cells": cells, "model": model})
    ks_summary(pd.DataFrame(ks_rows), KS_REFERENCE).to_csv(root / "reports/ks/benchmark.csv", index=False)
    if ks_logs:
        log = "epoch,step,train/acc,train/loss,val/acc,val/loss\n"
        log += "0,9,,,0.30,2.1\n0,9,0.2,2.3,,\n1,19,,,0.42,1.9\n1,19,0.4,2.0,,\n"  # Lightning: val, train rows
        for variant in ("original", "canonical"):
            _write_text(root / f"models/ks/cnn/seed0/{variant}/logs/metrics.csv", log)

    brain_rows = []
    for model, kind in (("chance", "chance"), ("roi_logreg", "logreg")):
        cells = {}
        for subject in ("sub-001", "sub-002"):
            for seed in (0, 1):
                cells[f"{subject}-seed{seed}"] = {
                    "model": model, "kind": kind, "input": "roi", "data_source": "fixture", "subject": subject,
                    "seed": seed, "accuracy": float(rng.uniform(0.05, 0.6)), "n_train": 78, "n_test": 39,
                    "n_features": 903, "fit_seconds": 0.1, "profile": "smoke", "genres": GENRES,
                    "confusion": rng.integers(0, 4, size=(10, 10)).tolist(),
                }  # fmt: skip
        brain_rows += cells.values()
        _write_json(root / f"reports/music/metrics/brain/{model}.json", {"cells": cells})
    brain = brain_summary(pd.DataFrame(brain_rows), BRAIN_REFERENCE).drop(columns=["per_subject"])
    brain.to_csv(root / "reports/music/brain.csv", index=False)

    audio_rows = []
    for model in ("bbnn", "distilhubert"):
        cells = {}
        for fold in (0, 1, 2):
            cells[f"gtzan-fold{fold}-seed0"] = {
                "model": model, "protocol": "gtzan", "data_source": "fixture", "weights": "random init",
                "fold": fold, "n_folds": 3, "seed": 0, "accuracy": float(rng.uniform(0.1, 0.8)), "n_train": 80,
                "n_test": 41, "n_params": 3046, "fit_seconds": 1.0, "profile": "smoke", "genres": GENRES,
                "confusion": rng.integers(0, 5, size=(10, 10)).tolist(),
            }  # fmt: skip
            if model == "bbnn":
                cells[f"gtzan-fold{fold}-seed0"] |= {"input": "logmel", "crop_s": 5.0, "input_shape": [128, 108]}
        audio_rows += cells.values()
        _write_json(root / f"reports/music/metrics/audio/{model}.json", {"cells": cells})
    audio_summary(pd.DataFrame(audio_rows), AUDIO_REFERENCE).to_csv(root / "reports/music/audio.csv", index=False)
    gtzan = {"data_source": "fixture", "n_expected": 1000, "n_readable": 121, "n_missing": 878, "n_unreadable": 1}
    _write_json(root / "reports/music/gtzan_data.json", gtzan)

    for subject in ("sub-001", "sub-002"):
        registration = {"data_source": "fixture", "error_vs_fixture_truth_mm": {"mean": 0.05, "max": 0.09}}
        _write_json(root / f"data/interim/music/registration/{subject}/registration.json", registration)
        (root / "reports/music/figures").mkdir(parents=True, exist_ok=True)
        qc = Figure(figsize=(2, 1))
        FigureCanvasAgg(qc)
        qc.text(0.5, 0.5, f"QC {subject}")
        qc.savefig(root / f"reports/music/figures/registration_{subject}.png")


def run_report_stage(root: Path) -> subprocess.CompletedProcess:
    """``python -m symbench.stages.report`` with ``root`` as the repository, as DVC runs it."""
    env = {**os.environ, "SYMBENCH_ROOT": str(root), "PYTHONPATH": str(paths.ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "symbench.stages.report"], cwd=root, env=env, capture_output=True, text=True, check=True
    )


def read_html_tables(text: str) -> list[list[list[str]]]:
    """Every ``<table>`` of a page as rows of cell texts (the header row first)."""

    class Tables(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tables: list[list[list[str]]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append([])
            elif tag == "tr":
                self.tables[-1].append([])
            elif tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.tables[-1][-1].append("".join(self.cell))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    parser = Tables()
    parser.feed(text)
    return parser.tables


@pytest.fixture(scope="module")
def report_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report") / "repo"
    write_report_inputs(root)
    run_report_stage(root)
    return root


def test_ks_table_numbers_equal_the_metrics_files(report_root: Path):
    records = _cells(report_root / "reports/ks/metrics")
    tables = _tables_with(report_root, "variant")
    assert tables, "no KS table in the page"
    for rows in tables:
        header, body = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        assert header[-1] == "provenance"
        for (model, variant), cells in records.groupby(["model", "variant"]):
            row = next(r for r in body if r["model"] == model and r["variant"] == variant)
            acc = cells["test_accuracy"]
            assert row["accuracy"] == f"{acc.mean():.3f} ± {acc.std(ddof=1):.3f}"
            rate = cells["invariance_change_rate"].mean()
            assert row["inv change rate"] == ("0" if rate == 0 else f"{rate:.3f}")
            assert row["seeds"] == "2"
        cnn = next(r for r in body if r["model"] == "cnn" and r["variant"] == "original")
        assert (cnn["reference"], cnn["provenance"]) == ("0.507 ± 0.011", "real + reference")
        hartford = next(r for r in body if r["model"] == "hartford")  # only in the reference's logs
        assert (hartford["accuracy"], hartford["reference"], hartford["provenance"]) == (
            "not run",
            "0.792",
            "reference",
        )


def test_music_tables_numbers_equal_the_metrics_files(report_root: Path):
    brain = _cells(report_root / "reports/music/metrics/brain")
    per_subject = brain.groupby(["model", "subject"])["accuracy"].mean()
    decoders = {r[0]: dict(zip(t[0], r, strict=True)) for t in _tables_with(report_root, "input") for r in t[1:]}
    subjects = {r[0]: dict(zip(t[0], r, strict=True)) for t in _tables_with(report_root, "sub-001") for r in t[1:]}
    for model in ("chance", "roi_logreg"):
        acc = per_subject[model]
        assert decoders[model]["accuracy"] == f"{acc.mean():.3f} ± {acc.std(ddof=1):.3f}"
        assert decoders[model]["provenance"].startswith("fixture")
        for subject, value in acc.items():
            assert subjects[model][subject] == f"{value:.3f}"
    assert decoders["roi_logreg"]["seed's"] == "0.199"
    assert decoders["roi_logreg"]["provenance"] == "fixture + reference"
    audio = _cells(report_root / "reports/music/metrics/audio")
    rows = {r[0]: dict(zip(t[0], r, strict=True)) for t in _tables_with(report_root, "protocol") for r in t[1:]}
    for model, cells in audio.groupby("model"):
        acc = cells["accuracy"]
        assert rows[model]["accuracy"] == f"{acc.mean():.3f} ± {acc.std(ddof=1):.3f}"
    assert rows["bbnn"]["provenance"] == "fixture + reference"
    assert rows["distilhubert"]["provenance"] == "fixture"
    inputs = pd.read_csv(report_root / "reports/music/audio.csv").set_index("model")["input"]
    assert inputs["bbnn"] == "logmel 128×108, the middle 5 s of each clip"
    assert inputs["distilhubert"] == "—"  # records without the fields


def test_markdown_twin_has_the_same_tables_as_the_html(report_root: Path):
    html_tables = read_html_tables((report_root / "reports/index.html").read_text(encoding="utf-8"))
    data_tables = [t for t in html_tables if t and t[0][-1] == "provenance"]
    markdown = (report_root / "reports/README.md").read_text(encoding="utf-8")
    md_rows = [
        [c.strip().replace("\\|", "|").replace("\\<", "<") for c in line.strip()[1:-1].split(" | ")]
        for line in markdown.splitlines()
        if line.startswith("| ") and not line.startswith("|---")
    ]
    assert len(data_tables) == 4  # KS, decoders, per subject, audio
    assert sum(row[-1] == "provenance" for row in md_rows) == 4
    for row in (row for table in data_tables for row in table):
        assert row in md_rows


def test_every_image_of_the_page_is_an_existing_png(report_root: Path):
    reports = report_root / "reports"
    page = (reports / "index.html").read_text(encoding="utf-8")
    srcs = _attr_values(page, "img", "src")
    markdown = (reports / "README.md").read_text(encoding="utf-8")
    md_srcs = [line[line.index("](") + 2 : -1] for line in markdown.splitlines() if line.startswith("![")]
    assert srcs == md_srcs
    expected = {
        "figures/ks_accuracy_vs_invariance.png",
        "figures/ks_accuracy_per_variant.png",
        "figures/ks_learning_val_acc.png",
        "figures/music_brain_per_subject.png",
        "figures/music_brain_confusion_best.png",
        "figures/music_rois_mni.png",
        "figures/music_audio_confusion_best.png",
        "music/figures/registration_sub-001.png",
    }
    assert expected <= set(srcs)
    for src in srcs:
        assert (reports / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
    assert sorted(p.name for p in (reports / "figures").iterdir()) == sorted(
        Path(s).name for s in srcs if s.startswith("figures/")
    )


def test_page_header_names_profile_config_hash_date_and_revision(report_root: Path):
    page = (report_root / "reports/index.html").read_text(encoding="utf-8")
    digest = hashlib.sha256((report_root / "params.yaml").read_bytes()).hexdigest()[:12]
    header = dict(read_html_tables(page)[0])
    assert header["profile"] == "smoke — tiny fixtures <for tests>"  # escaped in the source, plain as text
    assert "&lt;for tests&gt;" in page
    assert header["config hash"].startswith(digest)
    assert header["git revision"] == "unknown"  # the temporary root is not a git checkout
    assert dt.datetime.strptime(header["generated"], "%Y-%m-%d %H:%M UTC")
    assert "No KS confusion matrix" in page  # said, not faked


def test_ks_section_without_logs_or_benchmark_says_what_is_missing(tmp_path: Path, monkeypatch):
    write_report_inputs(tmp_path, ks_logs=False)
    for name, rel in (("ROOT", ""), ("REPORTS", "reports"), ("KS_REPORTS", "reports/ks")):
        monkeypatch.setattr(paths, name, tmp_path / rel)
    monkeypatch.setattr(paths, "KS_METRICS", tmp_path / "reports/ks/metrics")
    monkeypatch.setattr(paths, "KS_MODELS", tmp_path / "models/ks")
    without_logs = report.ks_section(KS_REFERENCE, [])
    assert "KS: no training logs" in " ".join(without_logs.notes)
    assert [f.src for f in without_logs.figures] == [
        "figures/ks_accuracy_vs_invariance.png",
        "figures/ks_accuracy_per_variant.png",
    ]
    (tmp_path / "reports/ks/benchmark.csv").unlink()
    without_benchmark = report.ks_section(KS_REFERENCE, [])
    assert "reports/ks/benchmark.csv missing" in without_benchmark.notes[0]
    assert not without_benchmark.tables and not without_benchmark.figures
    assert report.KS_CONFUSION_NOTE in without_benchmark.notes  # said, not faked


def test_git_revision_is_short_head_plus_dirty_when_tracked_files_change(tmp_path: Path):
    assert index_page.git_revision(tmp_path) == "unknown"
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True)
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert index_page.git_revision(tmp_path) == head
    (tmp_path / "a.txt").write_text("b", encoding="utf-8")
    assert index_page.git_revision(tmp_path) == f"{head}+dirty"


def test_render_html_escapes_every_string():
    header = index_page.PageHeader("smoke", "", "0123456789ab", "2026-01-01 00:00 UTC", "unknown")
    frame = pd.DataFrame([{"model": "<script>alert(1)</script>", "provenance": "fixture"}])
    section = index_page.Section("a & b", tables=[index_page.Table("t", frame)])
    page = index_page.render_html(header, [section])
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "a &amp; b" in page


def _cells(root: Path) -> pd.DataFrame:
    rows = [r for p in sorted(root.rglob("*.json")) for r in json.loads(p.read_text())["cells"].values()]
    return pd.DataFrame(rows)


def _tables_with(root: Path, column: str) -> list[list[list[str]]]:
    page = (root / "reports/index.html").read_text(encoding="utf-8")
    return [t for t in read_html_tables(page) if t and column in t[0] and t[0][-1] == "provenance"]


def _attr_values(page: str, tag: str, attr: str) -> list[str]:
    class Collect(html.parser.HTMLParser):
        values: list[str] = []

        def handle_starttag(self, t, attrs):
            if t == tag:
                self.values.append(dict(attrs)[attr])

    parser = Collect()
    parser.values = []
    parser.feed(page)
    return parser.values


def _write_json(path: Path, obj: object) -> None:
    _write_text(path, json.dumps(obj))


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_above_chance_needs_more_than_a_hair_over_ten_percent():
    from symbench.reports.music_brain import above_chance

    assert not above_chance(0.103, 5 * 39)  # 4 of 39 on every subject: a model that predicts one genre
    assert above_chance(0.30, 5 * 39)
    assert not above_chance(0.30, 0)
