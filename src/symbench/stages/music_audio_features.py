"""DVC stage music_audio_features: the 540 stimuli cut from GTZAN, and log-mel spectrograms of them and of GTZAN.

Outputs (data/processed/music/audio/): ``stimuli.csv`` (one row per unique clip: task, genre, label, track, excerpt;
``rendered`` False where the source clip was missing, unreadable or too short), ``stimuli_logmel.npy`` (clips, mels,
frames) and ``stimuli_16k.npy`` (clips, samples at 16 kHz, for DistilHuBERT), ``gtzan.csv`` and
``gtzan_logmel.npy`` (every readable GTZAN clip, cut or zero-padded to 30 s); reports/music/stimuli_problems.json.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import soundfile as sf
from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import atomic_path, write_json_atomic
from symbench.config import load_params
from symbench.models.distilhubert import to_16k
from symbench.music.events import GTZAN_GENRES
from symbench.music.gtzan import GTZAN_CLIP_S, scan_gtzan
from symbench.music.logmel import LogMelConfig, log_mel
from symbench.music.stimuli import (
    StimulusConfig,
    StimulusProblem,
    iter_stimuli,
    problems_table,
    stack_excerpts,
    stimulus_table,
)
from symbench.progress import progress
from symbench.stages.logging_setup import setup_logging

log = logging.getLogger(__name__)


def main() -> None:
    setup_logging()
    music = load_params().music
    audio = music.audio
    stimulus_config = StimulusConfig(**OmegaConf.to_container(audio.stimuli, resolve=True))  # type: ignore[arg-type]
    mel_config = LogMelConfig(**OmegaConf.to_container(audio.logmel, resolve=True))  # type: ignore[arg-type]
    out = paths.MUSIC_AUDIO

    table = stimulus_table(paths.resolve(music.data.mirror))
    waves, problems, rendered = [], [], []
    stimuli_iter = iter_stimuli(paths.GTZAN_RAW, table, stimulus_config)
    for _clip, excerpt, found in progress(stimuli_iter, desc="stimuli", total=len(table), unit="clip"):
        problems += found
        rendered.append(excerpt is not None)
        if excerpt is not None:
            waves.append(excerpt)
    table["rendered"] = rendered
    stimuli, padding = stack_excerpts(waves)
    sample_rate = stimulus_config.sample_rate
    for (_, row), zeros in zip(table[table["rendered"]].iterrows(), padding, strict=True):
        if zeros:
            detail = f"{zeros} samples ({zeros / sample_rate * 1e3:.0f} ms) of silence appended to its excerpt"
            problems.append(StimulusProblem(row["clip_id"], row["source"], "padded", detail, fatal=False))
    _save_npy(out / "stimuli_logmel.npy", log_mel(stimuli, mel_config).astype(np.float16))
    _save_npy(out / "stimuli_16k.npy", to_16k(stimuli, stimulus_config.sample_rate).astype(np.float16))
    _save_csv(out / "stimuli.csv", table)
    write_json_atomic(
        paths.MUSIC_REPORTS / "stimuli_problems.json",
        {
            "n_stimuli": len(table),
            "n_rendered": int(sum(rendered)),
            "problems": problems_table(problems).to_dict("records"),
        },
    )
    log.info("stimuli: %d of %d rendered", sum(rendered), len(table))

    scan = scan_gtzan(paths.GTZAN_RAW)
    clips = scan[scan["readable"]].reset_index(drop=True)
    n = int(round(GTZAN_CLIP_S * mel_config.sample_rate))
    mels = []
    batches = range(0, len(clips), 64)  # 64 clips (~170 MB of float32 audio) at a time
    for start in progress(batches, desc="GTZAN log-mel", unit="batch"):
        batch = np.zeros((len(clips.iloc[start : start + 64]), n), dtype=np.float32)
        for i, path in enumerate(clips["path"].iloc[start : start + 64]):
            wave, sr = sf.read(paths.GTZAN_RAW / path, dtype="float32", always_2d=True)
            if sr != mel_config.sample_rate:
                raise ValueError(f"{path}: expected {mel_config.sample_rate} Hz, got {sr}")
            wave = wave.mean(axis=1)[:n]
            batch[i, : len(wave)] = wave
        mels.append(log_mel(batch, mel_config).astype(np.float16))
    clips["label"] = [GTZAN_GENRES.index(g) for g in clips["genre"]]
    _save_npy(out / "gtzan_logmel.npy", np.concatenate(mels))
    _save_csv(out / "gtzan.csv", clips[["genre", "track", "stem", "label", "duration_s", "short"]])
    log.info("GTZAN: log-mel of %d readable clips of %d", len(clips), len(scan))


def _save_npy(dest, array: np.ndarray) -> None:
    with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)


def _save_csv(dest, table: pd.DataFrame) -> None:
    with atomic_path(dest) as tmp:
        table.to_csv(tmp, index=False)


if __name__ == "__main__":
    main()
