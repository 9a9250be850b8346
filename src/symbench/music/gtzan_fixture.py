"""A synthetic, offline stand-in for GTZAN in its layout (``genres/<genre>/<genre>.000NN.wav``, 22,050 Hz mono
16-bit PCM, 30 s), with genres that differ in a learnable but not trivial way.

Each genre is a distribution over clip parameters: tempo, notes per beat (rhythm density), pitch register,
harmonic brightness, note decay, breath noise in the tone, drum level and noise colour. A clip draws its
parameters from its genre's distribution (normal, ``clip_spread`` times the genre's s.d., so genres overlap),
then plays a random melody on a wavetable oscillator over noise-burst drums and coloured background noise at a
random SNR, at a random loudness that does not depend on the genre. Every clip has its own random stream
(seed, genre, track), so a clip's file does not depend on which other clips are generated. The quirks of real
copies can be reproduced: ``corrupt`` clips are written as files no decoder accepts, ``short`` clips are cut.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy import signal

from symbench.atomic import atomic_path, write_json_atomic
from symbench.music.events import GTZAN_GENRES, N_TRACKS_PER_GENRE
from symbench.music.gtzan import GTZAN_CLIP_S, GTZAN_SAMPLE_RATE, clip_relpath, clip_stem
from symbench.progress import progress

log = logging.getLogger(__name__)

FIXTURE_MANIFEST = "FIXTURE.json"
GENERATOR = "symbench.music.gtzan_fixture.generate_gtzan_fixture"
WAVETABLE_SIZE = 4096  # a power of two: phases wrap with a bit mask
N_HARMONICS = 8
FULL_SCALE = 32767
_STEM = re.compile(r"([a-z]+)\.(\d{5})")

# Per genre: mean of (tempo bpm, log2 notes per beat, register MIDI, harmonic rolloff, log decay /s,
# breath noise mix, drum level, log2 noise lowpass Hz). Several genres share each single parameter; it takes the
# combination to tell them apart.
PARAMETER_NAMES = ("tempo", "density", "register", "rolloff", "decay", "breath", "drums", "noise_colour")
GENRE_MEANS: dict[str, tuple[float, ...]] = {
    "blues": (88, 0.5, 52, 0.60, 1.0, 0.20, 0.35, 11.0),
    "classical": (76, 0.8, 64, 0.35, 0.4, 0.05, 0.05, 10.5),
    "country": (108, 0.6, 60, 0.55, 1.4, 0.10, 0.35, 11.5),
    "disco": (120, 1.0, 57, 0.50, 1.8, 0.15, 0.70, 12.0),
    "hiphop": (92, 0.5, 46, 0.45, 1.6, 0.25, 0.85, 10.5),
    "jazz": (124, 1.1, 58, 0.50, 1.0, 0.10, 0.30, 11.0),
    "metal": (138, 1.5, 50, 0.80, 0.6, 0.40, 0.75, 13.0),
    "pop": (114, 0.9, 66, 0.55, 1.6, 0.15, 0.55, 12.0),
    "reggae": (80, 0.6, 50, 0.50, 1.8, 0.15, 0.45, 11.0),
    "rock": (126, 1.0, 55, 0.70, 0.8, 0.30, 0.65, 12.5),
}
# Within-genre s.d. of each parameter (before clip_spread); the overlap they cause bounds the achievable accuracy.
PARAMETER_SD = (14.0, 0.35, 5.0, 0.10, 0.35, 0.08, 0.18, 0.6)
PARAMETER_BOUNDS = ((50, 190), (-0.5, 2.2), (36, 78), (0.1, 0.95), (-1.0, 2.8), (0.0, 0.8), (0.0, 1.0), (9.5, 13.5))
SCALE = np.array([0, 2, 4, 7, 9, 12, 14, 16, 19, 21])  # major pentatonic over two octaves


@dataclass(frozen=True)
class GtzanFixtureConfig:
    """What to generate; the defaults are the real dataset's size (1000 clips of 30 s at 22,050 Hz)."""

    # "all" (100 per genre) or (genre, track) pairs / "genre.000NN" stems; quirk clips are always written.
    tracks: str | tuple[tuple[str, int] | str, ...] = "all"
    duration_s: float = GTZAN_CLIP_S
    sample_rate: int = GTZAN_SAMPLE_RATE
    seed: int = 0
    clip_spread: float = 1.0  # multiplies the within-genre s.d. of every parameter
    snr_db: tuple[float, float] = (6.0, 20.0)  # background noise, uniform per clip
    level_dbfs: tuple[float, float] = (-26.0, -16.0)  # clip RMS, uniform per clip, independent of the genre
    corrupt: tuple[str, ...] = ()  # stems written as undecodable files, e.g. ("jazz.00054",)
    short: Mapping[str, float] = field(default_factory=dict)  # stem -> duration in s, e.g. {"rock.00027": 29.9}


def generate_gtzan_fixture(dest: str | Path, config: GtzanFixtureConfig | None = None) -> list[Path]:
    """Write the fixture tree under ``dest`` (``FIXTURE.json`` first, then one clip at a time); the paths written.
    The same config gives byte-identical files."""
    root, config = Path(dest), config or GtzanFixtureConfig()
    selected = selected_tracks(config)
    written = [write_json_atomic(root / FIXTURE_MANIFEST, _manifest(config, selected))]
    for genre, track in progress(selected, desc="GTZAN fixture", unit="clip"):
        stem = clip_stem(genre, track)
        with atomic_path(root / clip_relpath(genre, track)) as tmp:
            if stem in config.corrupt:
                tmp.write_bytes(_corrupt_bytes(config, genre, track))
            else:
                wave = synthesize_clip(config, genre, track)
                sf.write(str(tmp), wave, config.sample_rate, subtype="PCM_16", format="WAV")
        written.append(root / clip_relpath(genre, track))
    log.info("wrote %d synthetic GTZAN clips under %s", len(selected), root)
    return written


def selected_tracks(config: GtzanFixtureConfig) -> list[tuple[str, int]]:
    """The (genre, track) pairs a config writes, in GTZAN order: ``tracks`` plus every quirk clip."""
    if isinstance(config.tracks, str):
        if config.tracks != "all":
            raise ValueError(f"tracks {config.tracks!r}: expected 'all' or (genre, track) pairs / 'genre.000NN' stems")
        chosen = {(g, t) for g in GTZAN_GENRES for t in range(N_TRACKS_PER_GENRE)}
    else:
        chosen = {_parse_track(item) for item in config.tracks}
    chosen |= {_parse_track(stem) for stem in (*config.corrupt, *config.short)}
    order = {g: i for i, g in enumerate(GTZAN_GENRES)}
    return sorted(chosen, key=lambda gt: (order[gt[0]], gt[1]))


def clip_parameters(config: GtzanFixtureConfig, genre: str, track: int) -> dict[str, float]:
    """The synthesis parameters of one clip, drawn from its genre's distribution."""
    rng = _rng(config, genre, track, stream=0)
    mean, sd = np.array(GENRE_MEANS[genre], dtype=float), np.array(PARAMETER_SD)
    draw = mean + config.clip_spread * sd * rng.standard_normal(len(mean))
    low, high = np.array(PARAMETER_BOUNDS, dtype=float).T
    draw = np.clip(draw, low, high)
    params = dict(zip(PARAMETER_NAMES, draw.tolist(), strict=True))
    params["snr_db"] = float(rng.uniform(*config.snr_db))
    params["level_dbfs"] = float(rng.uniform(*config.level_dbfs))
    return params


def synthesize_clip(config: GtzanFixtureConfig, genre: str, track: int) -> np.ndarray:
    """One clip as int16 samples (mono), ``duration_s`` long or its ``short`` length."""
    p = clip_parameters(config, genre, track)
    rng = _rng(config, genre, track, stream=1)
    sr, n_full = config.sample_rate, round(config.duration_s * config.sample_rate)
    n = min(n_full, round(config.short.get(clip_stem(genre, track), config.duration_s) * sr))
    beat = max(1, round(sr * 60.0 / p["tempo"]))
    step = max(1, round(beat / 2.0 ** (round(p["density"] * 2) / 2)))  # notes per beat 2**density, in half-octaves
    n_notes = -(-n_full // step)
    note, position = np.repeat(np.arange(n_notes), step)[:n_full], np.tile(np.arange(step), n_notes)[:n_full]
    midi = p["register"] + SCALE[rng.integers(0, len(SCALE), n_notes)] - 7
    cycles_per_sample = (440.0 * 2.0 ** ((np.clip(midi, 30, 84) - 69) / 12.0) / sr).astype(np.float32)
    phase = position.astype(np.float32) * cycles_per_sample[note] + rng.random(n_notes, dtype=np.float32)[note]
    tone = _wavetable(p["rolloff"])[(phase * WAVETABLE_SIZE).astype(np.int32) & (WAVETABLE_SIZE - 1)]
    # Envelopes depend only on the position within a note (a beat), so they are tabulated once and looked up.
    t_note = np.arange(step, dtype=np.float32) / sr
    note_envelope = np.exp(-math.exp(p["decay"]) * t_note) * (1.0 - np.exp(-t_note / 0.005))
    breath = _noise(rng, n_full)
    voice = note_envelope[position] * ((1.0 - p["breath"]) * tone + p["breath"] * 0.5 * breath)
    beat_envelope = p["drums"] * np.exp(-25.0 * np.arange(beat, dtype=np.float32) / sr)
    hits = _lowpass(_noise(rng, n_full), 2.0 ** p["noise_colour"] / 2, sr)
    drums = np.tile(beat_envelope, -(-n_full // beat))[:n_full] * hits
    music = voice + drums
    background = _lowpass(_noise(rng, n_full), 2.0 ** p["noise_colour"], sr)
    background *= _rms(music) / max(_rms(background), 1e-12) * 10.0 ** (-p["snr_db"] / 20.0)
    mix = (music + background)[:n]
    mix *= 10.0 ** (p["level_dbfs"] / 20.0) / max(_rms(mix), 1e-12)
    return np.round(np.clip(mix, -1.0, 1.0) * FULL_SCALE).astype(np.int16)


def _wavetable(rolloff: float) -> np.ndarray:
    x = np.arange(WAVETABLE_SIZE) / WAVETABLE_SIZE
    k = np.arange(1, N_HARMONICS + 1)[:, None]
    table = (rolloff ** (k - 1) * np.sin(2 * np.pi * k * x)).sum(axis=0)
    return (table / np.abs(table).max()).astype(np.float32)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White noise of unit variance; uniform, which is three times faster to draw than normal."""
    return (rng.random(n, dtype=np.float32) - 0.5) * np.float32(math.sqrt(12.0))


def _lowpass(x: np.ndarray, cutoff_hz: float, sr: int) -> np.ndarray:
    b, a = signal.butter(2, min(cutoff_hz, 0.45 * sr) / (sr / 2))
    return signal.lfilter(b.astype(np.float32), a.astype(np.float32), x)  # float32 throughout: faster


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _corrupt_bytes(config: GtzanFixtureConfig, genre: str, track: int) -> bytes:
    """A RIFF/WAVE file whose format chunk names no codec (tag 0x7777, zero channels): no decoder accepts it."""
    payload = _rng(config, genre, track, stream=2).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    fmt = b"fmt " + (16).to_bytes(4, "little") + bytes.fromhex("7777 0000 00000000 00000000 0000 0000")
    body = b"WAVE" + fmt + b"data" + len(payload).to_bytes(4, "little") + payload
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _parse_track(item: tuple[str, int] | str | Iterable) -> tuple[str, int]:
    if isinstance(item, str):
        match = _STEM.fullmatch(item)
        if match is None:
            raise ValueError(f"track {item!r}: expected a GTZAN stem like 'jazz.00054'")
        genre, track = match.group(1), int(match.group(2))
    else:
        genre, track = tuple(item)
        track = int(track)
    if genre not in GTZAN_GENRES or not 0 <= track < N_TRACKS_PER_GENRE:
        raise ValueError(f"track {item!r}: expected a genre of {GTZAN_GENRES} and an index 0..{N_TRACKS_PER_GENRE - 1}")
    return genre, track


def _manifest(config: GtzanFixtureConfig, selected: list[tuple[str, int]]) -> dict[str, Any]:
    versions = {}
    for package in ("symbench", "numpy", "scipy", "soundfile"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    parameters = asdict(config) | {
        "tracks": config.tracks
        if isinstance(config.tracks, str)
        else [clip_stem(*_parse_track(t)) for t in config.tracks],
        "short": dict(config.short),
        "corrupt": list(config.corrupt),
    }
    return {
        "synthetic": True,
        "label": "fixture",
        "description": "Synthetic offline stand-in for GTZAN (genres.tar.gz) in its layout; the audio is generated,"
        " not recorded. Genres are distributions over synthesis parameters that overlap.",
        "generator": GENERATOR,
        "seed": config.seed,
        "parameters": parameters,
        "n_clips": len(selected),
        "model": {
            "parameter_names": list(PARAMETER_NAMES),
            "genre_means": {g: list(m) for g, m in GENRE_MEANS.items()},
            "parameter_sd": list(PARAMETER_SD),
        },
        "versions": versions,
    }


def _rng(config: GtzanFixtureConfig, genre: str, track: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, GTZAN_GENRES.index(genre), track, stream])
