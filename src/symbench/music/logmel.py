"""Log-mel spectrograms of audio clips, batched in torch: the input of the BBNN genre classifier.

``log_mel`` maps waveforms ``(n, samples)`` (mono, float32, e.g. 15-s GTZAN excerpts at 22,050 Hz) to
``(n, n_mels, frames)`` float32 decibels. With ``center=True`` there are ``1 + samples // hop_length`` frames:
exactly 15 s at 22,050 Hz (330,750 samples) with hop 512 gives 646, two samples short of 647; the 647 × 128
input of Liu et al. (2019) is what a whole GTZAN clip (~30.01 s, 661,794 samples) gives with hop 1024, or a clip
of at least 330,752 samples with hop 512. :class:`symbench.models.bbnn.BBNN` takes any frame count. The defaults follow
librosa's ``melspectrogram`` (Slaney mel scale and area normalisation, Hann window, power 2); the padding at
the clip edges is ``reflect`` (torchaudio's default; librosa ≥ 0.10 pads with zeros). Decibels are
``10 log10(max(power, amin))`` relative to a power of 1 (not to each clip's maximum), then, with ``top_db``,
floored at each clip's own maximum minus ``top_db``. No I/O; the same input gives the same output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torchaudio.transforms import AmplitudeToDB, MelSpectrogram

__all__ = ["LogMelConfig", "log_mel", "n_frames"]


@dataclass(frozen=True)
class LogMelConfig:
    """Parameters of :func:`log_mel`.

    ``f_max`` ``None`` means ``sample_rate / 2``. ``top_db`` ``None`` keeps every value down to
    ``10 log10(amin)`` dB. ``mel_scale``/``norm``: ``"slaney"``/``"slaney"`` as librosa, or torchaudio's
    ``"htk"``/``None``.
    """

    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    f_min: float = 0.0
    f_max: float | None = None
    top_db: float | None = 80.0
    amin: float = 1e-10
    power: float = 2.0
    center: bool = True
    pad_mode: str = "reflect"
    mel_scale: Literal["slaney", "htk"] = "slaney"
    norm: Literal["slaney"] | None = "slaney"

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"LogMelConfig.{name}: expected a positive int, got {getattr(self, name)!r}")
        nyquist = self.sample_rate / 2
        f_max = nyquist if self.f_max is None else self.f_max
        if not 0.0 <= self.f_min < f_max <= nyquist:
            raise ValueError(
                f"LogMelConfig: expected 0 <= f_min < f_max <= sample_rate / 2 = {nyquist}, "
                f"got f_min={self.f_min}, f_max={self.f_max}"
            )
        if self.top_db is not None and self.top_db <= 0:
            raise ValueError(f"LogMelConfig.top_db: expected None or a positive number of dB, got {self.top_db}")
        if self.amin <= 0:
            raise ValueError(f"LogMelConfig.amin: expected a positive floor, got {self.amin}")
        if self.power not in (1.0, 2.0):
            raise ValueError(f"LogMelConfig.power: expected 1.0 (amplitude) or 2.0 (power), got {self.power}")


def log_mel(waves: np.ndarray, config: LogMelConfig | None = None, *, batch_size: int = 32) -> np.ndarray:
    """Waveforms ``(n, samples)`` → log-mel spectrograms ``(n, n_mels, frames)`` float32 in dB.

    Clips are processed ``batch_size`` at a time (one 15-s clip's STFT is ~5 MB); each clip's ``top_db`` floor
    depends on that clip alone, so the result does not depend on ``batch_size`` or on the other clips.
    """
    config = config or LogMelConfig()
    waves = np.asarray(waves)
    if waves.ndim != 2 or waves.shape[1] == 0:
        raise ValueError(f"log_mel: waves must be (n, samples) with samples > 0, got shape {waves.shape}")
    if not np.issubdtype(waves.dtype, np.floating):
        raise ValueError(f"log_mel: waves must be floating-point samples, got dtype {waves.dtype}")
    if config.center and waves.shape[1] <= config.n_fft // 2:
        raise ValueError(
            f"log_mel: clips of {waves.shape[1]} samples are too short for reflect padding with "
            f"n_fft={config.n_fft} (need more than {config.n_fft // 2})"
        )
    if batch_size < 1:
        raise ValueError(f"log_mel: batch_size must be positive, got {batch_size}")
    mel = MelSpectrogram(
        sample_rate=config.sample_rate,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        f_min=config.f_min,
        f_max=config.f_max,
        n_mels=config.n_mels,
        power=config.power,
        center=config.center,
        pad_mode=config.pad_mode,
        norm=config.norm,
        mel_scale=config.mel_scale,
    )
    to_db = AmplitudeToDB(stype="power" if config.power == 2.0 else "magnitude", top_db=config.top_db)
    to_db.amin = config.amin
    out = np.empty((len(waves), config.n_mels, n_frames(waves.shape[1], config)), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(waves), batch_size):
            chunk = torch.as_tensor(np.ascontiguousarray(waves[start : start + batch_size], dtype=np.float32))
            # (n, 1, mels, frames): AmplitudeToDB takes the top_db maximum per item only for 4-D input
            spec = to_db(mel(chunk)[:, None])
            out[start : start + len(chunk)] = spec[:, 0].numpy()
    return out


def n_frames(n_samples: int, config: LogMelConfig | None = None) -> int:
    """Frames :func:`log_mel` gives for clips of ``n_samples`` (646 for exactly 15 s at 22,050 Hz, hop 512)."""
    config = config or LogMelConfig()
    if config.center:
        return 1 + n_samples // config.hop_length
    return 1 + (n_samples - config.n_fft) // config.hop_length
