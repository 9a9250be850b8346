"""DistilHuBERT with a genre head: raw 16-kHz waveforms → class logits, pretrained weights when they are on disk.

DistilHuBERT (H.-J. Chang, S. Yang, H. Lee, "DistilHuBERT: speech representation learning by layer-wise
distillation of hidden-unit BERT", ICASSP 2022; ``ntu-spml/distilhubert`` on the Hugging Face hub): HuBERT's
7-layer convolutional feature encoder (512 channels, 20-ms frames at 16 kHz), a 768-wide projection, a
convolutional position embedding and 2 transformer layers (768 hidden, 12 heads, 3072 feed-forward); 23.5 M
parameters. ``transformers``' ``HubertForSequenceClassification`` adds a 768 → 256 projector, a mean over
frames and a 256 → ``n_classes`` linear layer (randomly initialised in every case).

:func:`build_distilhubert` never downloads unless asked (``allow_download=True``) and never waits on the network
when ``HF_HUB_OFFLINE`` is set: it loads ``local_path`` (a ``save_pretrained`` directory) or ``source`` from the
Hugging Face cache with ``local_files_only``, and if that fails builds the same architecture with random weights;
the returned info dict says which happened, so a report can say so. Waveforms are resampled to 16 kHz with
:func:`to_16k` and, by default, normalised per clip to zero mean and unit variance inside the model (what the
``do_normalize=True`` feature extractor of the usual GTZAN fine-tuning recipe does).

With :func:`symbench.training.fit_torch.fit_torch` pass a factory (``lambda: build_distilhubert(...)[0]``) or
``reset_parameters=False``: a module passed as it is has every submodule's ``reset_parameters()`` called, which
would replace pretrained weights with torch's default initialisation.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch
import torchaudio.functional as AF
from torch import nn

__all__ = [
    "DISTILHUBERT_CONFIG",
    "PRETRAINED",
    "RANDOM_INIT",
    "SAMPLE_RATE",
    "DistilHuBERTClassifier",
    "build_distilhubert",
    "to_16k",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
PRETRAINED = "pretrained"
RANDOM_INIT = "random init, pretrained weights unavailable"
TINY = "random init, tiny test config"

DISTILHUBERT_CONFIG: dict[str, Any] = {
    "hidden_size": 768,
    "num_hidden_layers": 2,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "conv_dim": (512,) * 7,
    "conv_stride": (5, 2, 2, 2, 2, 2, 2),
    "conv_kernel": (10, 3, 3, 3, 3, 2, 2),
    "conv_bias": False,
    "feat_extract_norm": "group",
    "feat_extract_activation": "gelu",
    "feat_proj_layer_norm": False,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "do_stable_layer_norm": False,
    "layerdrop": 0.0,
    "final_dropout": 0.0,
}
"""The architecture of ``ntu-spml/distilhubert`` as a ``HubertConfig`` (the random-init fallback)."""

_TINY_CONFIG: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": (16, 16, 16),
    "conv_stride": (5, 4, 4),
    "conv_kernel": (10, 4, 4),
    "conv_bias": False,
    "feat_extract_norm": "group",
    "feat_proj_layer_norm": False,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "classifier_proj_size": 16,
    "layerdrop": 0.0,
    "final_dropout": 0.0,
    "apply_spec_augment": False,
}


class DistilHuBERTClassifier(nn.Module):
    """``(B, samples)`` float32 waveforms at 16 kHz → ``(B, n_classes)`` logits of a Hugging Face HuBERT model.

    Args:
        hf_model: a ``HubertForSequenceClassification``.
        normalize: standardise each clip to zero mean, unit variance first (as ``do_normalize=True``).
        info: what :func:`build_distilhubert` reports (weights, source), kept as ``self.info``.
    """

    def __init__(self, hf_model: nn.Module, *, normalize: bool = True, info: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.hf_model = hf_model
        self.normalize = normalize
        self.info = dict(info or {})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2:
            raise ValueError(f"DistilHuBERTClassifier: expected waveforms (B, samples) at 16 kHz, got {tuple(x.shape)}")
        if self.normalize:
            mean = x.mean(dim=1, keepdim=True)
            var = x.var(dim=1, keepdim=True, unbiased=False)
            x = (x - mean) / torch.sqrt(var + 1e-7)
        return self.hf_model(input_values=x).logits


def build_distilhubert(
    n_classes: int = 10,
    source: str | None = "ntu-spml/distilhubert",
    local_path: str | os.PathLike[str] | None = None,
    tiny: bool = False,
    *,
    freeze_feature_encoder: bool = True,
    normalize: bool = True,
    allow_download: bool = False,
    **config_overrides: Any,
) -> tuple[DistilHuBERTClassifier, dict[str, Any]]:
    """A DistilHuBERT genre classifier and ``{"weights": ..., "source": ...}`` saying where its weights came from.

    Loads ``local_path`` if given, else ``source`` (a hub id, looked up in the Hugging Face cache), with
    ``local_files_only`` unless ``allow_download`` and ``HF_HUB_OFFLINE`` is unset. If nothing loads (or
    ``source`` and ``local_path`` are both ``None``), the same architecture (:data:`DISTILHUBERT_CONFIG`) gets a
    random init and ``info["weights"]`` is :data:`RANDOM_INIT`, with the loading error in ``info["reason"]``.
    ``tiny``: a ~30 k-parameter HuBERT for tests (no loading). ``freeze_feature_encoder``: no gradients for the
    convolutional feature encoder (the usual fine-tuning recipe). ``config_overrides``: ``HubertConfig`` fields
    (e.g. ``mask_time_prob=0.0``) applied to the loaded or the random-init model alike.
    """
    if int(n_classes) < 2:
        raise ValueError(f"build_distilhubert: n_classes must be at least 2, got {n_classes!r}")
    from transformers import HubertConfig, HubertForSequenceClassification

    overrides = {"num_labels": int(n_classes), **config_overrides}
    info: dict[str, Any]
    if tiny:
        hf_model = HubertForSequenceClassification(HubertConfig(**{**_TINY_CONFIG, **overrides}))
        info = {"weights": TINY, "source": None}
    else:
        where = os.fspath(local_path) if local_path is not None else source
        hf_model, error = _load_pretrained(HubertForSequenceClassification, where, overrides, allow_download)
        if hf_model is not None:
            info = {"weights": PRETRAINED, "source": where}
        else:
            log.warning("build_distilhubert: no pretrained weights from %r (%s); random init", where, error)
            hf_model = HubertForSequenceClassification(HubertConfig(**{**DISTILHUBERT_CONFIG, **overrides}))
            info = {"weights": RANDOM_INIT, "source": where, "reason": error}
    if freeze_feature_encoder:
        hf_model.freeze_feature_encoder()
    info["freeze_feature_encoder"] = freeze_feature_encoder
    info["n_params"] = sum(p.numel() for p in hf_model.parameters())
    info["n_trainable"] = sum(p.numel() for p in hf_model.parameters() if p.requires_grad)
    return DistilHuBERTClassifier(hf_model, normalize=normalize, info=info), info


def to_16k(waves: np.ndarray, sr: int, *, batch_size: int = 32) -> np.ndarray:
    """Waveforms ``(n, samples)`` at ``sr`` Hz → float32 ``(n, ceil(samples · 16000 / sr))`` at 16 kHz.

    ``torchaudio.functional.resample`` (windowed sinc, its defaults), ``batch_size`` clips at a time: 15 s at
    22,050 Hz (330,750 samples) → 240,000 samples.
    """
    waves = np.asarray(waves)
    if waves.ndim != 2 or not np.issubdtype(waves.dtype, np.floating):
        raise ValueError(f"to_16k: waves must be float (n, samples), got {waves.dtype} {waves.shape}")
    if int(sr) < 1:
        raise ValueError(f"to_16k: sr must be a positive sample rate in Hz, got {sr!r}")
    if batch_size < 1:
        raise ValueError(f"to_16k: batch_size must be positive, got {batch_size}")
    if int(sr) == SAMPLE_RATE:
        return waves.astype(np.float32, copy=True)
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(waves), batch_size):
            chunk = torch.as_tensor(np.ascontiguousarray(waves[start : start + batch_size], dtype=np.float32))
            chunks.append(AF.resample(chunk, int(sr), SAMPLE_RATE).numpy())
    if not chunks:
        n_out = int(np.ceil(waves.shape[1] * SAMPLE_RATE / int(sr)))
        return np.zeros((0, n_out), dtype=np.float32)
    return np.concatenate(chunks)


def _load_pretrained(
    model_class: Any, where: str | None, overrides: dict[str, Any], allow_download: bool
) -> tuple[nn.Module | None, str | None]:
    """``(model, None)`` loaded from ``where``, or ``(None, why not)``; offline unless downloads are allowed."""
    if where is None:
        return None, "no source or local_path given"
    if os.path.isdir(where) and not os.path.isfile(os.path.join(where, "config.json")):
        return None, f"{where} has no config.json"
    local_only = not allow_download or _hub_offline()
    try:
        model = model_class.from_pretrained(where, local_files_only=local_only, dtype=torch.float32, **overrides)
    except (OSError, ValueError) as error:  # OSError covers missing files, cache misses and network errors
        return None, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return model, None


def _hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` as set now (the environment) or when ``huggingface_hub`` was imported."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    return bool(constants.HF_HUB_OFFLINE)
