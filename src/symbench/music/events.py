"""Parse the ``*_events.tsv`` files of ds003720 and build a subject's clip table across runs.

Data quirks handled here: genres are written in single quotes (``'blues'``), three rows of Training run-04 lack
the leading quote (``classical'``), lines end in CRLF, and row 0 of every run is a lead-in that repeats a clip
shown elsewhere (Training: the previous run's last clip, run 1 taking run 12's; Test: the same run's last clip).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from symbench.music import layout

log = logging.getLogger(__name__)

GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
GENRE_DTYPE = pd.CategoricalDtype(list(GTZAN_GENRES), ordered=False)
EVENTS_COLUMNS = ("onset", "duration", "genre", "track", "start", "end")
N_TRACKS_PER_GENRE = 100  # GTZAN: blues.00000 .. blues.00099
# end - start equals duration up to the two decimals the files carry (Training run-12 has 14.99 s).
DURATION_TOLERANCE_S = 0.05

_GENRE = re.compile(r"'?([a-z]+)'?")


class EventsFormatError(ValueError):
    """An events file does not have the layout of ds003720; the message names file, line and expectation."""


def read_events(path: str | Path) -> pd.DataFrame:
    """One run's events: typed columns of the file plus ``row`` (0-based) and ``is_lead_in_repeat`` (row 0)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise EventsFormatError(f"{path}: empty file; expected the header line {' '.join(EVENTS_COLUMNS)!r}")
    header = tuple(lines[0].split("\t"))
    if header != EVENTS_COLUMNS:
        raise EventsFormatError(f"{path} line 1: expected header columns {list(EVENTS_COLUMNS)}, got {list(header)}")
    records = [_parse_line(path, number, line) for number, line in enumerate(lines[1:], start=2)]
    if not records:
        raise EventsFormatError(f"{path}: no events after the header; expected at least one row")
    frame = pd.DataFrame.from_records(records, columns=list(EVENTS_COLUMNS))
    frame = frame.astype({"onset": "float64", "duration": "float64", "track": "int64", "start": "float64"})
    frame = frame.astype({"end": "float64", "genre": GENRE_DTYPE})
    frame.insert(0, "row", pd.RangeIndex(len(frame), dtype="int64"))
    frame["is_lead_in_repeat"] = frame["row"] == 0
    return frame


def read_repetition_time(path: str | Path) -> float:
    """``RepetitionTime`` (seconds) from a BOLD JSON sidecar."""
    path = Path(path)
    try:
        tr = json.loads(path.read_text(encoding="utf-8"))["RepetitionTime"]
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: expected a JSON object with a numeric 'RepetitionTime' ({e})") from e
    if not isinstance(tr, int | float) or not tr > 0:
        raise ValueError(f"{path}: expected a positive 'RepetitionTime' in seconds, got {tr!r}")
    return float(tr)


def clip_table(bids_root: str | Path, subject: int | str, task: str, runs: Sequence[int] | None = None) -> pd.DataFrame:
    """One subject's events over ``runs`` of ``task`` (default: all) plus ``subject``, ``task``, ``run``,
    ``onset_tr`` (onset / TR from each run's sidecar) and ``clip_id``; drop ``is_lead_in_repeat`` rows to keep
    unique presentations."""
    root = Path(bids_root)
    sub = layout.subject_label(subject)
    chosen = layout.select_runs({task: list(runs)})[task] if runs is not None else list(layout.task_runs(task))
    frames = []
    for run in chosen:
        events = read_events(root / layout.func_path(sub, task, run, "events.tsv"))
        tr = read_repetition_time(root / layout.func_path(sub, task, run, "bold.json"))
        events.insert(0, "run", run)
        events["onset_tr"] = events["onset"] / tr
        frames.append(events)
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "task", task)
    table.insert(0, "subject", sub)
    table["clip_id"] = [
        clip_id(g, t, s) for g, t, s in zip(table["genre"], table["track"], table["start"], strict=True)
    ]
    log.debug("%s %s: %d events in %d runs", sub, task, len(table), len(frames))
    return table


def clip_id(genre: str, track: int, start: float) -> str:
    """A clip's name: GTZAN file stem and excerpt start, e.g. ``'blues.00014_9.59'``."""
    return f"{genre}.{track:05d}_{start:.2f}"


def _parse_line(path: Path, number: int, line: str) -> tuple[float, float, str, int, float, float]:
    where = f"{path} line {number}"
    fields = line.split("\t")
    if len(fields) != len(EVENTS_COLUMNS):
        raise EventsFormatError(
            f"{where}: expected {len(EVENTS_COLUMNS)} tab-separated fields ({' '.join(EVENTS_COLUMNS)}), "
            f"got {len(fields)}: {line!r}"
        )
    onset, duration = _number(where, "onset", fields[0]), _number(where, "duration", fields[1])
    start, end = _number(where, "start", fields[4]), _number(where, "end", fields[5])
    match = _GENRE.fullmatch(fields[2].strip())
    if match is None or match.group(1) not in GTZAN_GENRES:
        raise EventsFormatError(f"{where}: expected a GTZAN genre ({', '.join(GTZAN_GENRES)}), got {fields[2]!r}")
    if not re.fullmatch(r"\d+", fields[3].strip()) or int(fields[3]) >= N_TRACKS_PER_GENRE:
        raise EventsFormatError(f"{where}: expected a track index 0..{N_TRACKS_PER_GENRE - 1}, got {fields[3]!r}")
    if duration <= 0 or abs((end - start) - duration) > DURATION_TOLERANCE_S:
        raise EventsFormatError(
            f"{where}: expected end - start = duration > 0, got start {start}, end {end}, duration {duration}"
        )
    return onset, duration, match.group(1), int(fields[3]), start, end


def _number(where: str, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise EventsFormatError(f"{where}: expected a non-negative number for {name}, got {text!r}")
    return value
