"""The 540 excerpts the ds003720 subjects heard, cut from a GTZAN tree (real or fixture) by the events.

Each excerpt is ``[start, end)`` of its GTZAN clip (offsets in s from the events), resampled to the target rate
first when the source rate differs, with a linear fade-in and fade-out (2 s by default, as in the study) and RMS
normalised to a target level in dBFS (20 log10 of the RMS relative to full scale 1.0; no +3 dB sine
convention). The split is the fMRI study's: 480 Training clips and 60 Test clips, identical for every subject,
so audio and brain results compare clip for clip. A clip that is missing, unreadable or shorter than its
excerpt is recorded as a problem and skipped, never raised. Excerpts are not all equally long (pop.00049's is
[9.59, 24.58) s, 14.99 s, though its ``duration`` says 15): :func:`stack_excerpts` pads the short ones with
trailing silence to the longest.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch
import torchaudio.functional as AF

from symbench.music import layout
from symbench.music.events import GENRE_DTYPE, clip_table
from symbench.music.gtzan import GTZAN_SAMPLE_RATE, clip_relpath, find_clip

log = logging.getLogger(__name__)

STIMULUS_COLUMNS = (
    "clip_id", "task", "genre", "label", "track", "start", "end", "source", "n_presentations", "first_run",
)  # fmt: skip
FADE_SHAPES = ("linear", "cosine")


@dataclass(frozen=True)
class StimulusConfig:
    """How excerpts are rendered."""

    sample_rate: int = GTZAN_SAMPLE_RATE  # of the output; sources at another rate are resampled
    fade_s: float = 2.0
    fade_shape: str = "linear"  # or "cosine" (raised cosine)
    target_rms_dbfs: float = -20.0


@dataclass(frozen=True)
class StimulusProblem:
    """Why one excerpt could not be rendered (or was rendered with a caveat, ``fatal=False``)."""

    clip_id: str
    source: str
    kind: str  # "missing", "unreadable", "too_short", "invalid" (e.g. silent); not fatal: "clipping", "padded"
    detail: str
    fatal: bool = True


class StimulusError(ValueError):
    """An excerpt cannot be cut from the wave given; the message says what was expected."""


class ExcerptTooShortError(StimulusError):
    """The source ends before the excerpt does."""


def stimulus_table(bids_root: str | Path, subject: int | str = "sub-001") -> pd.DataFrame:
    """One row per unique clip (480 Training, then 60 Test, each in order of first presentation) from one
    subject's events under ``bids_root`` (a BIDS tree or the events mirror): ``clip_id``, ``task``, ``genre``,
    ``label`` (index in ``GTZAN_GENRES``), ``track``, ``start``, ``end``, ``source`` (path in a GTZAN root),
    ``n_presentations`` (lead-in repeats excluded) and ``first_run``."""
    frames = []
    for task in layout.TASK_RUNS:
        events = clip_table(bids_root, subject, task)
        events = events[~events["is_lead_in_repeat"]]
        counts = events["clip_id"].value_counts()
        unique = events.drop_duplicates("clip_id").copy()
        unique["n_presentations"] = unique["clip_id"].map(counts).astype("int64")
        unique["first_run"] = unique["run"]
        frames.append(unique)
    table = pd.concat(frames, ignore_index=True)
    shared = set(table.loc[table["task"] == "Training", "clip_id"]) & set(table.loc[table["task"] == "Test", "clip_id"])
    if shared:
        raise ValueError(f"{bids_root}: clips {sorted(shared)[:5]} are in both Training and Test; expected disjoint")
    table["genre"] = table["genre"].astype(GENRE_DTYPE)
    table["label"] = table["genre"].cat.codes.astype("int64")
    table["source"] = [clip_relpath(g, t) for g, t in zip(table["genre"], table["track"], strict=True)]
    return table[list(STIMULUS_COLUMNS)].reset_index(drop=True)


def cut_stimulus(
    wave: np.ndarray,
    sr: int,
    start: float,
    end: float,
    fade_s: float = 2.0,
    target_rms_dbfs: float = -20.0,
    *,
    fade_shape: str = "linear",
) -> np.ndarray:
    """Samples ``round(start*sr)`` .. ``+round((end-start)*sr)`` of a mono (or multi-channel, averaged) wave,
    faded in and out over ``fade_s`` and scaled to ``target_rms_dbfs``; float32. Raises StimulusError when the
    wave is shorter than the excerpt or the excerpt is silent."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim == 2:
        wave = wave.mean(axis=1)
    if wave.ndim != 1:
        raise StimulusError(f"wave of shape {wave.shape}: expected (samples,) or (samples, channels)")
    if not 0 <= start < end:
        raise StimulusError(f"excerpt [{start}, {end}) s: expected 0 <= start < end")
    first, n = round(start * sr), round((end - start) * sr)
    if first + n > len(wave):
        raise ExcerptTooShortError(
            f"excerpt [{start}, {end}) s needs {first + n} samples at {sr} Hz, the wave has {len(wave)} "
            f"({len(wave) / sr:.3f} s)"
        )
    excerpt = wave[first : first + n] * fade_envelope(n, round(fade_s * sr), fade_shape)
    rms = math.sqrt(float(np.mean(np.square(excerpt, dtype=np.float64))))
    if rms == 0.0:
        raise StimulusError(f"excerpt [{start}, {end}) s is silent; cannot normalise it to {target_rms_dbfs} dBFS")
    return (excerpt * (10.0 ** (target_rms_dbfs / 20.0) / rms)).astype(np.float32)


def fade_envelope(n: int, n_fade: int, shape: str = "linear") -> np.ndarray:
    """Gain over ``n`` samples rising from 0 over the first ``n_fade`` and falling to 0 over the last ``n_fade``
    (shortened to n/2 when the excerpt is shorter than two fades); float32."""
    if shape not in FADE_SHAPES:
        raise ValueError(f"fade shape {shape!r}: expected one of {FADE_SHAPES}")
    n_fade = max(0, min(n_fade, n // 2))
    gain = np.ones(n, dtype=np.float64)
    if n_fade:
        ramp = np.arange(n_fade) / n_fade  # 0 at the first sample, (n_fade-1)/n_fade at the last faded one
        if shape == "cosine":
            ramp = 0.5 - 0.5 * np.cos(np.pi * ramp)
        gain[:n_fade] = ramp
        gain[n - n_fade :] = np.minimum(gain[n - n_fade :], ramp[::-1])
    return gain.astype(np.float32)


def load_stimulus(gtzan_root: str | Path, row: pd.Series, config: StimulusConfig | None = None) -> np.ndarray:
    """One excerpt (a ``stimulus_table`` row) from the GTZAN tree, at ``config.sample_rate``. Raises
    FileNotFoundError, StimulusError, or soundfile's error for an undecodable file."""
    config = config or StimulusConfig()
    path = find_clip(gtzan_root, str(row["genre"]), int(row["track"]))
    if path is None:
        raise FileNotFoundError(f"{Path(gtzan_root) / row['source']}: missing; expected the GTZAN clip")
    wave, sr = sf.read(str(path), dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)
    if sr != config.sample_rate:
        wave = AF.resample(torch.from_numpy(wave), sr, config.sample_rate).numpy()
    try:
        return cut_stimulus(
            wave, config.sample_rate, float(row["start"]), float(row["end"]), config.fade_s,
            config.target_rms_dbfs, fade_shape=config.fade_shape,
        )  # fmt: skip
    except StimulusError as e:
        raise type(e)(f"{path}: {e}") from e


def iter_stimuli(
    gtzan_root: str | Path, table: pd.DataFrame, config: StimulusConfig | None = None
) -> Iterator[tuple[str, np.ndarray | None, list[StimulusProblem]]]:
    """``(clip_id, excerpt or None, problems)`` for each row of a ``stimulus_table``, one at a time (all 540
    at 22,050 Hz are ~0.7 GB of float32). Missing, unreadable and too-short clips give None and a problem; an
    excerpt that peaks above full scale is returned with a non-fatal "clipping" problem."""
    config = config or StimulusConfig()
    for row in table.itertuples(index=False):
        series = pd.Series(row._asdict())
        clip, source = str(row.clip_id), str(row.source)
        try:
            excerpt = load_stimulus(gtzan_root, series, config)
        except FileNotFoundError as e:
            yield clip, None, [StimulusProblem(clip, source, "missing", str(e))]
            continue
        except StimulusError as e:
            kind = "too_short" if isinstance(e, ExcerptTooShortError) else "invalid"
            yield clip, None, [StimulusProblem(clip, source, kind, str(e))]
            continue
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            yield clip, None, [StimulusProblem(clip, source, "unreadable", str(e))]
            continue
        peak = float(np.abs(excerpt).max())
        problems = []
        if peak > 1.0:
            detail = f"peak {20 * math.log10(peak):+.2f} dBFS at {config.target_rms_dbfs} dBFS RMS; not limited"
            problems.append(StimulusProblem(clip, source, "clipping", detail, fatal=False))
        yield clip, excerpt, problems


def build_stimuli(
    gtzan_root: str | Path, table: pd.DataFrame, config: StimulusConfig | None = None
) -> tuple[dict[str, np.ndarray], list[StimulusProblem]]:
    """Every excerpt of ``table`` that can be rendered, by clip_id, and the problems of the others."""
    waves: dict[str, np.ndarray] = {}
    problems: list[StimulusProblem] = []
    for clip, excerpt, found in iter_stimuli(gtzan_root, table, config):
        problems += found
        if excerpt is not None:
            waves[clip] = excerpt
    for p in problems:
        log.warning("stimulus %s (%s): %s: %s", p.clip_id, p.source, p.kind, p.detail)
    return waves, problems


def stack_excerpts(excerpts: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """``(n, longest)`` float32 of 1-D excerpts, each zero-padded at its end to the longest (after its fade-out,
    so the padding is silence), and the number of zeros appended to each."""
    if not excerpts:
        raise ValueError("stack_excerpts: expected at least one excerpt")
    if any(np.ndim(e) != 1 for e in excerpts):
        raise ValueError(f"stack_excerpts: expected 1-D excerpts, got shapes {sorted({np.shape(e) for e in excerpts})}")
    n = max(len(e) for e in excerpts)
    out = np.zeros((len(excerpts), n), dtype=np.float32)
    for row, excerpt in zip(out, excerpts, strict=True):
        row[: len(excerpt)] = excerpt
    return out, [n - len(e) for e in excerpts]


def problems_table(problems: list[StimulusProblem]) -> pd.DataFrame:
    """The problems as a table (clip_id, source, kind, detail, fatal), for a data report."""
    return pd.DataFrame([vars(p) for p in problems], columns=["clip_id", "source", "kind", "detail", "fatal"])
