"""The brain side of the music study, smoke profile, through `dvc repro` on the fixture (see conftest.smoke_repo)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from symbench.config import load_params

pytestmark = pytest.mark.slow


def test_every_decoder_has_a_number_for_every_subject_labelled_fixture(smoke_repo):
    params = load_params(smoke_repo / "params.yaml")
    models, subjects = list(params.music.model_names), list(params.music.data.subjects)
    assert set(models) == {"chance", "knn", "cnn3d", "roi_logreg", "roi_linear_svm", "roi_xgboost", "brain_svm"}
    with open(smoke_repo / "reports/music/brain.csv", newline="") as fh:
        rows = {r["model"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(models)
    for r in rows.values():
        assert r["data_source"] == "fixture" and int(r["n_subjects"]) == len(subjects)
        assert 0.0 <= float(r["accuracy_mean"]) <= 1.0
    text = (smoke_repo / "reports/music/brain.md").read_text()
    assert "not from brains" in text and "not run" not in text
    assert "| roi_logreg | roi | fixture | 2 |" in text


def test_report_numbers_equal_the_metrics_files(smoke_repo):
    summary = pd.read_csv(smoke_repo / "reports/music/brain.csv").set_index("model")
    for path in sorted((smoke_repo / "reports/music/metrics/brain").glob("*.json")):
        cells = json.loads(path.read_text())["cells"].values()
        per_subject = pd.DataFrame(cells).groupby("subject")["accuracy"].mean()
        assert summary.loc[path.stem, "accuracy_mean"] == pytest.approx(per_subject.mean(), abs=1e-6)
        for cell in cells:
            confusion = np.array(cell["confusion"])
            assert confusion.sum() == cell["n_test"]
            assert np.trace(confusion) / cell["n_test"] == pytest.approx(cell["accuracy"])


def test_registration_recovers_the_fixture_transform_and_draws_its_qc_figure(smoke_repo):
    for sub in load_params(smoke_repo / "params.yaml").music.data.subjects:
        record = json.loads((smoke_repo / f"data/interim/music/registration/{sub}/registration.json").read_text())
        assert record["data_source"] == "fixture"
        assert record["error_vs_fixture_truth_mm"]["mean"] < 2.0  # 4 mm voxels in the smoke fixture
        assert min(record["n_roi_voxels"].values()) > 0 and record["roi_inside_brain"] > 0.9
        png = smoke_repo / f"reports/music/figures/registration_{sub}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clip_tensors_hold_every_presentation_of_the_selected_runs(smoke_repo):
    params = load_params(smoke_repo / "params.yaml").music
    for sub in params.data.subjects:
        folder = smoke_repo / f"data/processed/music/clips/{sub}"
        events = pd.read_csv(folder / "clips.csv")
        with np.load(folder / "roi.npz") as npz:
            roi = npz["roi"]
        brain = np.load(folder / "brain.npy", mmap_mode="r")
        assert roi.shape[0] == brain.shape[0] == len(events)
        assert roi.shape[2] == brain.shape[1] == params.extract.n_trs
        # 40 presentations per run once the lead-in repeat is dropped, minus any window past the run's end
        for task, runs in params.data.runs.items():
            assert 36 * len(runs) <= int((events["task"] == task).sum()) <= 40 * len(runs)
        assert set(events["label"]) <= set(range(10))
        assert np.isfinite(roi).all()


def test_audio_table_has_every_model_and_protocol_labelled_fixture(smoke_repo):
    params = load_params(smoke_repo / "params.yaml").music
    summary = pd.read_csv(smoke_repo / "reports/music/audio.csv")
    expected = {(m, p) for m in params.audio_model_names for p in params.audio_models[m].protocols}
    assert set(zip(summary["model"], summary["protocol"], strict=True)) == expected
    assert (summary["data_source"] == "fixture").all()
    assert summary["accuracy_mean"].between(0, 1).all()
    text = (smoke_repo / "reports/music/audio.md").read_text()
    assert "not from music" in text and "not run" not in text
    for path in sorted((smoke_repo / "reports/music/metrics/audio").glob("*.json")):
        cells = pd.DataFrame(json.loads(path.read_text())["cells"].values())
        for protocol, rows in cells.groupby("protocol"):
            row = summary[(summary["model"] == path.stem) & (summary["protocol"] == protocol)].iloc[0]
            assert row["accuracy_mean"] == pytest.approx(rows["accuracy"].mean(), abs=1e-6)
            for cell in rows.itertuples():
                assert np.array(cell.confusion).sum() == cell.n_test


def test_gtzan_quirks_are_recorded_not_fatal(smoke_repo):
    report = json.loads((smoke_repo / "reports/music/gtzan_data.json").read_text())
    assert report["data_source"] == "fixture"
    assert "jazz.00054" in report["unreadable"] and report["short"] == {"rock.00027": 29.9}
    stimuli = pd.read_csv(smoke_repo / "data/processed/music/audio/stimuli.csv")
    assert len(stimuli) == 540 and set(stimuli["task"]) == {"Training", "Test"}
    logmel = np.load(smoke_repo / "data/processed/music/audio/stimuli_logmel.npy", mmap_mode="r")
    assert logmel.shape[0] == int(stimuli["rendered"].sum()) and logmel.shape[1] == 128
