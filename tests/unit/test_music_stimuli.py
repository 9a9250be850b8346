"""The 540 excerpts: cutting, fades, RMS normalisation, resampling, problems recorded, and the study's split."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from symbench import paths
from symbench.music.events import GTZAN_GENRES
from symbench.music.gtzan_fixture import GtzanFixtureConfig, generate_gtzan_fixture, synthesize_clip
from symbench.music.stimuli import (
    ExcerptTooShortError,
    StimulusConfig,
    build_stimuli,
    cut_stimulus,
    fade_envelope,
    problems_table,
    stack_excerpts,
    stimulus_table,
)

DS003720 = paths.SHARED_DATA / "ds003720"
needs_ds003720 = pytest.mark.skipif(
    not DS003720.is_dir(), reason=f"ds003720 metadata mirror not found at {DS003720} (CI provides it)"
)
SR = 22050


def _dbfs(x: np.ndarray) -> float:
    return 20 * math.log10(math.sqrt(float(np.mean(np.square(x, dtype=np.float64)))))


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return synthesize_clip(GtzanFixtureConfig(duration_s=30.0), "jazz", 7).astype(np.float32) / 32767


def test_cut_has_the_excerpt_length_fades_and_the_target_rms(clip: np.ndarray) -> None:
    out = cut_stimulus(clip, SR, 6.46, 21.46, fade_s=2.0, target_rms_dbfs=-23.0)
    assert out.dtype == np.float32 and len(out) == round(15.0 * SR)
    assert abs(out[0]) == 0.0 and abs(out[-1]) < 1e-3 * np.abs(out).max()
    assert _dbfs(out) == pytest.approx(-23.0, abs=0.1)
    gain = fade_envelope(len(out), 2 * SR)
    assert gain[0] == 0 and gain[2 * SR] == 1 and gain[-1] < 1e-4 and np.all(np.diff(gain[: 2 * SR]) > 0)
    # The envelope of the output rises over the first 2 s: 0.5 s windows grow louder, then level off.
    windows = np.sqrt(np.mean(out[: 3 * SR].reshape(6, -1) ** 2, axis=1))
    source = np.sqrt(np.mean(clip[round(6.46 * SR) :][: 3 * SR].reshape(6, -1) ** 2, axis=1))
    ratio = windows / source
    assert np.all(np.diff(ratio[:4]) > 0) and ratio[4] == pytest.approx(ratio[5], rel=1e-3)
    # Same samples as the source, up to the gain.
    middle = slice(5 * SR, 6 * SR)
    np.testing.assert_allclose(out[middle], ratio[5] * clip[round(6.46 * SR) :][middle], rtol=1e-3, atol=1e-6)


def test_cosine_fade_and_errors(clip: np.ndarray) -> None:
    gain = fade_envelope(10 * SR, 2 * SR, "cosine")
    assert gain[0] == 0 and gain[SR] == pytest.approx(0.5) and gain[2 * SR] == 1
    with pytest.raises(ExcerptTooShortError, match="needs 661500 samples"):
        cut_stimulus(clip[: 29 * SR], SR, 15.0, 30.0)
    with pytest.raises(ValueError, match="silent"):
        cut_stimulus(np.zeros(20 * SR), SR, 0.0, 15.0)
    with pytest.raises(ValueError, match="fade shape"):
        fade_envelope(10, 2, "exponential")


@needs_ds003720
def test_stimulus_table_has_the_study_split() -> None:
    table = stimulus_table(DS003720)
    assert len(table) == 540 and table["clip_id"].is_unique
    counts = table.groupby(["task", "genre"], observed=True).size()
    assert counts["Training"].to_dict() == dict.fromkeys(GTZAN_GENRES, 48)
    assert counts["Test"].to_dict() == dict.fromkeys(GTZAN_GENRES, 6)
    assert (table.loc[table["task"] == "Test", "n_presentations"] == 4).all()
    assert (table.loc[table["task"] == "Training", "n_presentations"] == 1).all()
    assert (table["label"] == [GTZAN_GENRES.index(g) for g in table["genre"]]).all()
    assert ((table["end"] - table["start"]).round(2).isin([14.99, 15.0])).all() and table["end"].max() <= 30.0
    assert (
        table.loc[0, "source"]
        == f"genres/{table.loc[0, 'genre']}/{table.loc[0, 'genre']}.{table.loc[0, 'track']:05d}.wav"
    )
    other = stimulus_table(DS003720, "sub-003")
    pd.testing.assert_frame_equal(table.drop(columns="first_run"), other.drop(columns="first_run"))


def test_build_records_missing_corrupt_and_short_clips_and_resamples(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "clip_id": ["blues.00001_1.00", "jazz.00054_2.00", "rock.00027_14.00", "pop.00002_0.00"],
            "genre": ["blues", "jazz", "rock", "pop"],
            "track": [1, 54, 27, 2],
            "start": [1.0, 2.0, 14.0, 0.0],
            "end": [7.0, 8.0, 20.0, 6.0],
            "source": ["genres/blues/blues.00001.wav", "genres/jazz/jazz.00054.wav", "genres/rock/rock.00027.wav",
                       "genres/pop/pop.00002.wav"],
        }
    )  # fmt: skip
    fixture = GtzanFixtureConfig(
        tracks=("blues.00001",), duration_s=10.0, corrupt=("jazz.00054",), short={"rock.00027": 10.0}
    )
    generate_gtzan_fixture(tmp_path, fixture)
    waves, problems = build_stimuli(tmp_path, table, StimulusConfig(fade_s=1.0, target_rms_dbfs=-20.0))
    assert list(waves) == ["blues.00001_1.00"] and len(waves["blues.00001_1.00"]) == 6 * SR
    kinds = problems_table(problems).set_index("clip_id")["kind"].to_dict()
    assert kinds == {"jazz.00054_2.00": "unreadable", "rock.00027_14.00": "too_short", "pop.00002_0.00": "missing"}
    # A source at 44.1 kHz is resampled to the output rate.
    wave, _ = sf.read(str(tmp_path / "genres/blues/blues.00001.wav"), dtype="float32")
    sf.write(str(tmp_path / "genres/blues/blues.00001.wav"), np.repeat(wave, 2), 2 * SR, subtype="PCM_16")
    resampled, problems = build_stimuli(tmp_path, table.iloc[:1], StimulusConfig(sample_rate=16000, fade_s=1.0))
    assert problems == [] and len(resampled["blues.00001_1.00"]) == 6 * 16000
    assert _dbfs(resampled["blues.00001_1.00"]) == pytest.approx(-20.0, abs=0.1)


def test_stack_pads_short_excerpts_with_trailing_silence(clip: np.ndarray) -> None:
    # pop.00049's excerpt in the events is [9.59, 24.58) s: one sample row 221 samples shorter than the others
    full = cut_stimulus(clip, SR, 4.21, 19.21)
    short = cut_stimulus(clip, SR, 9.59, 24.58)
    assert len(full) - len(short) == 221
    stacked, padding = stack_excerpts([full, short])
    assert stacked.shape == (2, len(full)) and stacked.dtype == np.float32 and padding == [0, 221]
    np.testing.assert_array_equal(stacked[1, : len(short)], short)
    assert not stacked[1, len(short) :].any()
    with pytest.raises(ValueError, match="1-D"):
        stack_excerpts([full[None]])
