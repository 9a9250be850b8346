"""ds003720 events: the quirks of the real files, the clip counts of the study, and errors on malformed files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from symbench import paths
from symbench.music import layout
from symbench.music.events import (
    GTZAN_GENRES,
    EventsFormatError,
    clip_id,
    clip_table,
    read_events,
    read_repetition_time,
)

DS003720 = paths.SHARED_DATA / "ds003720"
needs_ds003720 = pytest.mark.skipif(
    not DS003720.is_dir(), reason=f"ds003720 metadata mirror not found at {DS003720} (CI provides it)"
)
HEADER = "onset\tduration\tgenre\ttrack\tstart\tend"


def _write(tmp_path: Path, *rows: str, header: str = HEADER, newline: str = "\n") -> Path:
    path = tmp_path / "sub-001_task-Test_run-01_events.tsv"
    path.write_bytes(newline.join([header, *rows]).encode())
    return path


def _unique(table: pd.DataFrame) -> pd.DataFrame:
    return table[~table["is_lead_in_repeat"]]


@pytest.fixture(scope="module")
def tables() -> dict[tuple[str, str], pd.DataFrame]:
    if not DS003720.is_dir():
        pytest.skip(f"ds003720 metadata mirror not found at {DS003720} (CI provides it)")
    return {(sub, task): clip_table(DS003720, sub, task) for sub in layout.SUBJECTS for task in layout.TASK_RUNS}


@needs_ds003720
def test_every_real_run_has_41_rows_of_15_s_and_a_tr_of_1_5_s(tables: dict) -> None:
    for (sub, task), table in tables.items():
        assert table.groupby("run").size().to_dict() == {r: 41 for r in layout.task_runs(task)}, (sub, task)
        assert set(table["duration"]) == {15.0}
        for run in layout.task_runs(task):
            assert read_repetition_time(DS003720 / layout.func_path(sub, task, run, "bold.json")) == 1.5


@needs_ds003720
def test_training_run_04_rows_without_the_leading_quote_parse_to_their_genres() -> None:
    path = DS003720 / layout.func_path(1, "Training", 4, "events.tsv")
    raw = path.read_text().splitlines()
    assert [line.split("\t")[2] for line in raw[-3:]] == ["classical'", "jazz'", "metal'"]
    events = read_events(path)
    assert list(events["genre"].iloc[-3:]) == ["classical", "jazz", "metal"]
    assert set(events["genre"]) <= set(GTZAN_GENRES) and events["genre"].notna().all()


@needs_ds003720
def test_training_has_480_unique_clips_48_per_genre_each_shown_once(tables: dict) -> None:
    clips = _unique(tables["sub-001", "Training"])
    assert len(clips) == 480 and clips["clip_id"].is_unique
    assert clips.groupby("genre", observed=True)["clip_id"].nunique().to_dict() == dict.fromkeys(GTZAN_GENRES, 48)


@needs_ds003720
def test_test_has_60_unique_clips_6_per_genre_each_shown_4_times_within_its_run(tables: dict) -> None:
    clips = _unique(tables["sub-001", "Test"])
    assert clips["clip_id"].nunique() == 60
    assert set(clips["clip_id"].value_counts()) == {4}
    assert clips.groupby("genre", observed=True)["clip_id"].nunique().to_dict() == dict.fromkeys(GTZAN_GENRES, 6)
    assert (clips.groupby("clip_id")["run"].nunique() == 1).all()
    assert set(_unique(tables["sub-001", "Training"])["clip_id"]).isdisjoint(clips["clip_id"])


@needs_ds003720
def test_lead_in_row_repeats_the_previous_training_run_and_the_same_test_run(tables: dict) -> None:
    # Reality, pinned: Training run k starts with run k-1's last clip (run 1 with run 12's); a Test run starts
    # with its own last clip, the end of its 10-clip cycle.
    for task, n_runs in layout.TASK_RUNS.items():
        table = tables["sub-001", task]
        assert list(table.loc[table["is_lead_in_repeat"], "row"]) == [0] * n_runs
        first = table[table["row"] == 0].set_index("run")["clip_id"]
        last = table[table["row"] == 40].set_index("run")["clip_id"]
        for run in layout.task_runs(task):
            source = (run - 2) % n_runs + 1 if task == "Training" else run
            assert first[run] == last[source], (task, run)


@needs_ds003720
def test_events_are_identical_across_the_five_subjects(tables: dict) -> None:
    columns = ["task", "run", "row", "onset", "genre", "track", "start", "end", "clip_id"]
    for task in layout.TASK_RUNS:
        reference = tables["sub-001", task][columns]
        for sub in layout.SUBJECTS[1:]:
            pd.testing.assert_frame_equal(tables[sub, task][columns], reference)


@needs_ds003720
def test_clip_table_has_typed_columns_and_onsets_in_trs(tables: dict) -> None:
    table = tables["sub-002", "Training"]
    assert table["genre"].dtype == pd.CategoricalDtype(list(GTZAN_GENRES))
    assert table["track"].dtype == "int64" and table["onset"].dtype == "float64"
    assert table["is_lead_in_repeat"].dtype == bool
    assert (table["onset_tr"] == table["onset"] / 1.5).all()
    assert list(table["onset_tr"].iloc[:3]) == [0.0, 10.0, 20.0]
    assert set(table["subject"]) == {"sub-002"} and set(table["task"]) == {"Training"}
    first = table.iloc[1]
    assert first["clip_id"] == clip_id(first["genre"], first["track"], first["start"]) == "blues.00098_6.46"


def test_quoted_and_half_quoted_genres_parse_alike_with_crlf_line_ends(tmp_path: Path) -> None:
    path = _write(tmp_path, "0\t15\t'blues'\t14\t9.59\t24.59", "15\t15\tblues'\t3\t0.5\t15.5", newline="\r\n")
    events = read_events(path)
    assert list(events["genre"]) == ["blues", "blues"]
    assert list(events["track"]) == [14, 3] and list(events["end"]) == [24.59, 15.5]
    assert list(events["is_lead_in_repeat"]) == [True, False] and list(events["row"]) == [0, 1]


@pytest.mark.parametrize(
    ("row", "line", "expected"),
    [
        ("0\t15\t'blues'\t14\t9.59", 2, "expected 6 tab-separated fields"),
        ("0\t15\t'polka'\t14\t9.59\t24.59", 2, "expected a GTZAN genre"),
        ("0\t15\t'Blues'\t14\t9.59\t24.59", 2, "expected a GTZAN genre"),
        ("0\t15\t''blues'\t14\t9.59\t24.59", 2, "expected a GTZAN genre"),
        ("zero\t15\t'blues'\t14\t9.59\t24.59", 2, "expected a non-negative number for onset"),
        ("0\t15\t'blues'\t14\t9.59\tnan", 2, "expected a non-negative number for end"),
        ("0\t15\t'blues'\t100\t9.59\t24.59", 2, "expected a track index 0..99"),
        ("0\t15\t'blues'\t1.5\t9.59\t24.59", 2, "expected a track index 0..99"),
        ("0\t15\t'blues'\t14\t9.59\t20.00", 2, "expected end - start = duration"),
    ],
)
def test_malformed_row_names_the_file_the_line_and_the_expectation(
    tmp_path: Path, row: str, line: int, expected: str
) -> None:
    path = _write(tmp_path, row)
    with pytest.raises(EventsFormatError, match=expected) as err:
        read_events(path)
    assert str(err.value).startswith(f"{path} line {line}: ")


def test_error_line_number_counts_the_header_as_line_1(tmp_path: Path) -> None:
    path = _write(tmp_path, "0\t15\t'blues'\t14\t9.59\t24.59", "15\t15\t'rock'\t3\t0.5")
    with pytest.raises(EventsFormatError, match=r"line 3: expected 6 tab-separated fields"):
        read_events(path)


def test_blank_line_inside_the_table_is_an_error_but_trailing_ones_are_not(tmp_path: Path) -> None:
    good = "0\t15\t'blues'\t14\t9.59\t24.59"
    assert len(read_events(_write(tmp_path, good, "", ""))) == 1
    with pytest.raises(EventsFormatError, match="line 3: expected 6 tab-separated fields"):
        read_events(_write(tmp_path, good, "", good))


def test_wrong_header_or_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EventsFormatError, match="line 1: expected header columns"):
        read_events(_write(tmp_path, "0\t15\t'blues'\t14\t9.59\t24.59", header="onset\tduration\ttrial_type"))
    with pytest.raises(EventsFormatError, match="no events after the header"):
        read_events(_write(tmp_path))
    empty = tmp_path / "empty_events.tsv"
    empty.write_text("")
    with pytest.raises(EventsFormatError, match="empty file"):
        read_events(empty)


def test_sidecar_without_a_positive_repetition_time_names_the_file(tmp_path: Path) -> None:
    for text in ('{"EchoTime": 0.03}', '{"RepetitionTime": 0}', "not json"):
        sidecar = tmp_path / "bold.json"
        sidecar.write_text(text)
        with pytest.raises(ValueError, match="RepetitionTime") as err:
            read_repetition_time(sidecar)
        assert str(sidecar) in str(err.value)


def test_subject_labels_and_run_numbers_are_validated() -> None:
    assert [layout.subject_label(s) for s in (1, "1", "001", "sub-001")] == ["sub-001"] * 4
    assert layout.func_path(2, "Test", 6, "bold.nii") == "sub-002/func/sub-002_task-Test_run-06_bold.nii"
    with pytest.raises(ValueError, match="run 7 of task Test"):
        layout.func_path(1, "Test", 7, "bold.nii")
    with pytest.raises(ValueError, match="expected one of"):
        layout.task_runs("Rest")
    with pytest.raises(ValueError, match="expected an integer or a label"):
        layout.subject_label("subject-1")
