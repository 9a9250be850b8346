"""Audio side of the music study: log-mel features, BBNN, DistilHuBERT (tiny and offline fallback), protocols."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from symbench.models.bbnn import BBNN
from symbench.models.distilhubert import (
    DISTILHUBERT_CONFIG,
    PRETRAINED,
    RANDOM_INIT,
    build_distilhubert,
    to_16k,
)
from symbench.music.audio_protocols import gtzan_folds, stimulus_split, validation_part
from symbench.music.logmel import LogMelConfig, log_mel, n_frames
from symbench.training.data import SplitArrays
from symbench.training.fit_torch import fit_torch

torch.set_num_threads(1)

SR = 22050
SAMPLES_15S = 15 * SR
BBNN_PARAMS = 181_098  # default widths, 10 classes (the paper's layers with biases, no BN: 180,458)
# the 768 → 256 → 10 head on top of DistilHuBERT's 23,491,712 backbone parameters
DISTILHUBERT_PARAMS = 23_691_402
# a small HubertConfig for the fallback path: the same loading logic, a model that builds in milliseconds
SMALL = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": (16, 16),
    "conv_stride": (5, 4),
    "conv_kernel": (10, 4),
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "classifier_proj_size": 16,
}


def _waves(n: int, samples: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).normal(size=(n, samples))).astype(np.float32)


# --- log-mel ---------------------------------------------------------------------------------------------------


def test_log_mel_shape_of_15_s_clips() -> None:
    spec = log_mel(_waves(2, SAMPLES_15S))
    # exactly 15 s = 330,750 samples: 1 + 330750 // 512 = 646 frames (647 needs 330,752 samples)
    assert spec.shape == (2, 128, 646) == (2, 128, n_frames(SAMPLES_15S))
    assert spec.dtype == np.float32
    assert log_mel(_waves(1, 646 * 512)).shape == (1, 128, 647)


def test_log_mel_647_frames_of_a_whole_gtzan_clip_at_hop_1024() -> None:
    gtzan_30s = 661_794  # samples of a typical GTZAN clip (30.013 s)
    assert n_frames(gtzan_30s, LogMelConfig(hop_length=1024)) == 647


def test_log_mel_db_range_and_peak_band() -> None:
    t = np.arange(SR * 2) / SR
    sine = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    waves = np.stack([sine, 1e-3 * sine, _waves(1, len(t))[0]])
    spec = log_mel(waves)
    assert np.isfinite(spec).all()
    spread = spec.max(axis=(1, 2)) - spec.min(axis=(1, 2))
    assert (spread <= 80.0 + 1e-3).all()  # top_db per clip
    assert spec[0].max() == pytest.approx(spec[1].max() + 60.0, abs=0.5)  # 1e-3 amplitude: -60 dB
    assert -40.0 < spec[0].max() < 40.0
    # the loudest band of the sine holds 440 Hz: slaney mel centres of 128 bands up to 11,025 Hz
    import torchaudio.functional as AF

    fb = AF.melscale_fbanks(2048 // 2 + 1, 0.0, SR / 2, 128, SR, norm="slaney", mel_scale="slaney")
    bin_440 = int(round(440.0 * 2048 / SR))
    assert int(spec[0].mean(axis=1).argmax()) == int(fb[bin_440].argmax())
    unfloored = log_mel(waves[:1], LogMelConfig(top_db=None))
    assert unfloored.min() < spec[0].min()


def test_log_mel_deterministic_and_independent_of_batching() -> None:
    waves = _waves(5, SR * 3, seed=1)
    waves[2] *= 1e-3  # a quiet clip: its top_db floor must not come from the loud ones
    first = log_mel(waves, batch_size=5)
    assert np.array_equal(first, log_mel(waves, batch_size=5))
    singles = np.concatenate([log_mel(waves[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(log_mel(waves, batch_size=2), singles, atol=1e-4)
    np.testing.assert_allclose(first, singles, atol=1e-4)


def test_log_mel_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"waves must be \(n, samples\)"):
        log_mel(np.zeros(100, dtype=np.float32))
    with pytest.raises(ValueError, match="floating-point"):
        log_mel(np.zeros((1, 5000), dtype=np.int16))
    with pytest.raises(ValueError, match="f_min < f_max"):
        LogMelConfig(f_max=20_000.0)


# --- BBNN ------------------------------------------------------------------------------------------------------


def test_bbnn_parameter_count() -> None:
    n = sum(p.numel() for p in BBNN().parameters())
    assert 150_000 <= n <= 220_000
    assert n == BBNN_PARAMS
    assert sum(p.numel() for p in BBNN(factorize_5x5=True).parameters()) < n


def test_bbnn_forward_647_frames() -> None:
    torch.manual_seed(0)
    model = BBNN().eval()
    with torch.no_grad():
        x = torch.randn(2, 1, 128, 647)
        out = model(x)
        assert out.shape == (2, 10) and torch.isfinite(out).all()
        assert torch.equal(model(x[:, 0]), out)  # (B, mels, frames) is the same input


def test_bbnn_backward() -> None:
    torch.manual_seed(0)
    model = BBNN()
    out = model(torch.randn(2, 128, 97))
    assert out.shape == (2, 10)
    out.logsumexp(dim=1).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.head[1].weight.grad.abs().sum() > 0


def test_bbnn_rejects_wrong_mels() -> None:
    with pytest.raises(ValueError, match=r"expected input \(B, 1, 128, frames\)"):
        BBNN()(torch.zeros(1, 1, 64, 100))


def test_bbnn_trains_through_fit_torch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n_mels, frames = 16, 24

    def clips(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n, dtype=np.int64) % 10
        x = rng.normal(size=(n, n_mels, frames)).astype(np.float32)
        x[np.arange(n), y] += 3.0  # a planted band per genre
        return x, y

    x_train, y_train = clips(40)
    x_val, y_val = clips(10)
    data = SplitArrays(x_train, y_train, x_val, y_val, x_val[:0], y_val[:0])
    model = BBNN(n_mels=n_mels, stem_width=4, branch_width=4, transition_width=8, time_pool=2)
    fit = fit_torch(
        model,
        data,
        task="classification",
        optimizer=None,
        scheduler=None,
        batch_size=8,
        max_epochs=1,
        patience=1,
        seed=0,
        out_dir=tmp_path,
        accelerator="cpu",
        csv_log=False,
    )
    assert fit.epochs_run == 1 and (tmp_path / "model.pt").is_file()
    assert fit.n_params == sum(p.numel() for p in model.parameters())
    assert fit.predict(x_val).shape == (10,) and fit.predict_raw(x_val).shape == (10, 10)


# --- DistilHuBERT ----------------------------------------------------------------------------------------------


def test_distilhubert_tiny_forward_backward() -> None:
    torch.manual_seed(0)
    model, info = build_distilhubert(tiny=True)
    assert info["weights"].startswith("random init")
    out = model(torch.randn(2, 16_000))
    assert out.shape == (2, 10)
    out.logsumexp(dim=1).sum().backward()
    classifier = model.hf_model.classifier
    assert classifier.weight.grad is not None and classifier.weight.grad.abs().sum() > 0
    # frozen by default: the conv feature encoder gets no gradient
    encoder = model.hf_model.hubert.feature_extractor
    assert all(not p.requires_grad and p.grad is None for p in encoder.parameters())
    unfrozen, _ = build_distilhubert(tiny=True, freeze_feature_encoder=False)
    unfrozen(torch.randn(2, 16_000)).sum().backward()
    assert all(p.grad is not None for p in unfrozen.hf_model.hubert.feature_extractor.parameters())
    with pytest.raises(ValueError, match=r"expected waveforms \(B, samples\)"):
        model(torch.randn(2, 1, 16_000))


def test_distilhubert_offline_fallback_is_random_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, info = build_distilhubert(local_path=tmp_path, **SMALL)
    assert info["weights"] == RANDOM_INIT == "random init, pretrained weights unavailable"
    assert info["source"] == str(tmp_path) and info["reason"]
    assert model.info == info
    assert model(torch.randn(1, 8000)).shape == (1, 10)
    # a hub id that is not in the cache: from_pretrained with local_files_only fails fast, no network
    _, info = build_distilhubert(source="symbench-tests/no-such-model", n_classes=4, **SMALL)
    assert info["weights"] == RANDOM_INIT and "OSError" in info["reason"]


def test_distilhubert_fallback_architecture_is_distilhubert() -> None:
    from transformers import HubertConfig, HubertForSequenceClassification

    config = HubertConfig(**DISTILHUBERT_CONFIG, num_labels=10)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (768, 2, 12)
    with torch.device("meta"):
        model = HubertForSequenceClassification(config)
    assert sum(p.numel() for p in model.parameters()) == DISTILHUBERT_PARAMS


def test_distilhubert_loads_local_pretrained(tmp_path: Path) -> None:
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(1)
    backbone = HubertModel(HubertConfig(**SMALL))  # distilhubert's checkpoint is a bare HubertModel
    backbone.save_pretrained(tmp_path)
    model, info = build_distilhubert(n_classes=3, local_path=tmp_path)
    assert info["weights"] == PRETRAINED and info["source"] == str(tmp_path)
    loaded = model.hf_model.hubert.feature_extractor.conv_layers[0].conv.weight
    torch.testing.assert_close(loaded, backbone.feature_extractor.conv_layers[0].conv.weight)
    assert model(torch.randn(2, 8000)).shape == (2, 3)


def test_to_16k_lengths() -> None:
    out = to_16k(_waves(2, SAMPLES_15S), SR)
    assert out.shape == (2, 240_000) and out.dtype == np.float32
    t = np.arange(SR) / SR
    sine = np.sin(2 * np.pi * 1000.0 * t)[None]
    resampled = to_16k(sine, SR)[0]
    expected = np.sin(2 * np.pi * 1000.0 * np.arange(16_000) / 16_000)
    np.testing.assert_allclose(resampled[200:-200], expected[200:-200], atol=1e-2)
    np.testing.assert_array_equal(to_16k(expected[None], 16_000)[0], expected.astype(np.float32))


# --- protocols -------------------------------------------------------------------------------------------------


def test_gtzan_folds_disjoint_stratified_covering() -> None:
    labels = np.repeat(np.arange(10), 100)
    folds = gtzan_folds(labels, n_folds=10, seed=3)
    assert len(folds) == 10
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(1000))
    for train, test in folds:
        assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 1000
        np.testing.assert_array_equal(np.bincount(labels[test], minlength=10), np.full(10, 10))
    again = gtzan_folds(labels, n_folds=10, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    assert not np.array_equal(folds[0][1], gtzan_folds(labels, n_folds=10, seed=4)[0][1])
    with pytest.raises(ValueError, match="at least n_folds"):
        gtzan_folds(np.repeat(np.arange(10), 5))


def test_stimulus_split_matches_tasks() -> None:
    tasks = np.array(["Training"] * 48 + ["Test"] * 6 + ["Training"] * 2)
    train, test = stimulus_split(list(tasks))
    assert set(tasks[train]) == {"Training"} and set(tasks[test]) == {"Test"}
    assert len(train) == 50 and len(test) == 6 and len(np.intersect1d(train, test)) == 0
    with pytest.raises(ValueError, match="one of"):
        stimulus_split(["Training", "Rest"])


def test_validation_part_is_a_stratified_subset() -> None:
    labels = np.repeat(np.arange(10), 20)
    train, _ = gtzan_folds(labels, n_folds=10, seed=0)[0]
    fit, val = validation_part(train, labels, fraction=0.2, seed=0)
    assert len(np.intersect1d(fit, val)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([fit, val])), train)
    assert (np.bincount(labels[val], minlength=10) >= 3).all()
    with pytest.raises(ValueError, match="fraction"):
        validation_part(train, labels, fraction=1.5)
