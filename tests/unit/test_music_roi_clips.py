"""ROI and whole-brain clip extraction: window arithmetic, voxel order, block means, cleaning, streaming, errors, and a
genre signal that survives the whole path. Synthetic images are a few voxels; the fixture runs are 24x24x17 voxels
of 8 mm (the real field of view), as in test_music_fixture.py."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.signal import clean

from symbench import paths
from symbench.music import layout
from symbench.music.atlas import AUDITORY_ROI, desikan_killiany_files
from symbench.music.events import read_events
from symbench.music.fixture import FixtureConfig, generate_fixture, subject_geometry
from symbench.music.nifti_check import NiftiHeaderError
from symbench.music.roi_clips import (
    ExtractionConfig,
    RunClips,
    brain_mask_from_mean,
    clip_windows,
    extract_run_clips,
    read_run,
    roi_mask,
    stack_runs,
)

DS003720 = paths.SHARED_DATA / "ds003720"
needs_mirror = pytest.mark.skipif(
    not DS003720.is_dir(), reason=f"ds003720 metadata mirror not found at {DS003720} (CI provides it)"
)
TINY = {"shape": (24, 24, 17), "voxel_mm": 8.0}
# Two full-length training runs of one subject with little clip-to-clip spread (test_music_fixture's SIGNAL_CONFIG).
SIGNAL_CONFIG = FixtureConfig(
    subjects=(2,), runs={"Training": [1, 2]}, noise_pct=1.0, drift_pct=1.0, clip_spread=0.3, seed=7, **TINY
)
_OFF = {"detrend": False, "standardize": False, "hemodynamic_delay_s": 0.0}
RAW = ExtractionConfig(roi_labels=(1, 2), detrend=False, standardize=False, hemodynamic_delay_s=0.0, n_trs=2)


def _image(data: np.ndarray, tr: float = 1.5) -> nib.Nifti1Image:
    image = nib.Nifti1Image(data, np.eye(4))
    image.header.set_zooms((2.0, 2.0, 2.0, tr))
    image.header.set_xyzt_units("mm", "sec")
    return image


def _events(onsets: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"onset": onsets, "genre": ["blues"] * len(onsets)})


@pytest.fixture(scope="module")
def signal_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DS003720.is_dir():
        pytest.skip(f"ds003720 metadata mirror not found at {DS003720}")
    root = tmp_path_factory.mktemp("roi_signal") / "ds003720"
    generate_fixture(root, DS003720, SIGNAL_CONFIG)
    return root


@pytest.fixture(scope="module")
def native_labels() -> np.ndarray:
    from nilearn.datasets import load_mni152_template

    geometry = subject_geometry(
        SIGNAL_CONFIG, "sub-002", load_mni152_template(resolution=2), nib.load(desikan_killiany_files().image)
    )
    return geometry.labels.reshape(SIGNAL_CONFIG.shape, order="F")


def _run(tree: Path, run: int) -> tuple[Path, pd.DataFrame]:
    bold = tree / layout.func_path(2, "Training", run, "bold.nii")
    return bold, read_events(tree / layout.func_path(2, "Training", run, "events.tsv"))


def _mean_mask(bold: Path) -> np.ndarray:
    return brain_mask_from_mean(np.asarray(nib.load(bold).dataobj, dtype=np.float32).mean(axis=3))


def test_clip_window_starts_at_the_rounded_delayed_onset_in_volumes() -> None:
    config = ExtractionConfig(n_trs=10, hemodynamic_delay_s=4.5)
    np.testing.assert_array_equal(clip_windows([0.0, 15.0, 600.0], 1.5, config), [[3, 13], [13, 23], [403, 413]])
    np.testing.assert_array_equal(clip_windows([15.0], 2.0, config), [[10, 20]])  # 19.5 / 2 = 9.75 -> 10
    half = ExtractionConfig(n_trs=4, hemodynamic_delay_s=0.75)
    np.testing.assert_array_equal(clip_windows([0.0, 1.5], 1.5, half), [[1, 5], [2, 6]])  # 0.5, 1.5 round up
    np.testing.assert_array_equal(clip_windows([15.0], 1.5, ExtractionConfig(hemodynamic_delay_s=0)), [[10, 20]])


def test_events_whose_window_runs_past_the_run_are_dropped_and_counted() -> None:
    data = np.arange(2 * 2 * 1 * 30, dtype=np.int16).reshape(2, 2, 1, 30)
    labels = np.array([[[1], [0]], [[2], [0]]], dtype=np.int16)
    config = ExtractionConfig(roi_labels=(1, 2), n_trs=10, detrend=False, standardize=False)
    clips = extract_run_clips(_image(data), _events([0.0, 15.0, 30.0]), labels, None, config)
    assert clips.dropped == 1 and len(clips.events) == 2 and clips.roi.shape == (2, 2, 10)
    assert clips.events[["window_start", "window_stop"]].to_numpy().tolist() == [[3, 13], [13, 23]]
    assert clips.brain is not None and clips.brain.shape == (2, 10, 1, 1, 1)
    with pytest.raises(ValueError, match=r"in-memory image: events with onsets \[50.0\] s lie outside the run"):
        extract_run_clips(_image(data), _events([0.0, 50.0]), labels, None, config)


def test_roi_voxels_come_in_fortran_order_with_their_atlas_labels_and_values() -> None:
    shape, n_volumes = (4, 3, 2), 6
    labels = np.zeros(shape, np.int16)
    labels[3, 0, 0], labels[1, 2, 0], labels[0, 0, 1], labels[2, 1, 1] = 2, 1, 1, 2
    # Voxel (x, y, z) at volume t holds its Fortran index * 10 + t.
    index = np.arange(np.prod(shape)).reshape(shape, order="F")
    data = (index[..., None] * 10 + np.arange(n_volumes)).astype(np.int16)
    clips = extract_run_clips(_image(data), _events([0.0, 3.0]), labels, None, RAW)
    expected_index = [3, 1 * 1 + 2 * 4, 0 + 12, 2 + 1 * 4 + 12]  # x + 4 y + 12 z, ascending
    assert clips.roi_voxel_index.tolist() == sorted(expected_index)
    assert clips.roi_voxel_labels.tolist() == [2, 1, 1, 2] and clips.roi_voxel_labels.dtype == np.int16
    starts = clips.events["window_start"].to_numpy()  # 0 and 2 volumes (3 s / 1.5 s)
    expected = np.array(sorted(expected_index))[None, :, None] * 10 + starts[:, None, None] + np.arange(2)
    np.testing.assert_array_equal(clips.roi, expected)
    assert clips.roi.dtype == np.float32


def test_roi_mask_names_a_label_without_voxels() -> None:
    labels = np.zeros((3, 3, 3), np.int16)
    labels[0, 0, 0], labels[1, 1, 1] = 29, 70
    assert roi_mask(labels, (29, 70)).sum() == 2
    with pytest.raises(ValueError, match=r"roi_labels \[33, 74\]: no voxels"):
        roi_mask(labels, (29, 33, 70, 74))


@needs_mirror
def test_fixture_roi_masks_are_non_empty_and_inside_the_brain(signal_tree: Path, native_labels: np.ndarray) -> None:
    brain = _mean_mask(_run(signal_tree, 1)[0])
    assert 0.15 < brain.mean() < 0.6  # a brain, not the whole field of view
    for label in AUDITORY_ROI:
        region = roi_mask(native_labels, (label,))
        assert region.sum() >= 1, label
        assert brain[region].mean() >= 0.9, label  # the registration-free fixture puts the ROI inside the brain


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_brain_tensor_is_the_block_mean_of_masked_voxels(factor: int) -> None:
    rng = np.random.default_rng(factor)
    shape, n_volumes = (6, 5, 4), 8
    data = rng.integers(0, 1000, (*shape, n_volumes)).astype(np.int16)
    mask = rng.random(shape) < 0.6
    mask[:, :, 3] = False  # whole output planes without brain when factor is 1 or 2
    labels = np.zeros(shape, np.int16)
    labels[0, 0, 0], labels[1, 1, 1] = 1, 2
    config = ExtractionConfig(**{**RAW.__dict__, "brain_downsample": factor, "brain_dtype": "float32"})
    clips = extract_run_clips(_image(data), _events([0.0, 4.5]), labels, mask, config, chunk_volumes=3)
    out_shape = tuple(-(-n // factor) for n in shape)
    assert clips.brain.shape == (2, 2, *out_shape) and clips.brain.dtype == np.float32
    masked = data * mask[..., None]
    expected = np.zeros((*out_shape, n_volumes))
    for i, j, k in itertools.product(*map(range, out_shape)):
        blocks = tuple(slice(n * factor, (n + 1) * factor) for n in (i, j, k))
        if mask[blocks].any():
            expected[i, j, k] = masked[blocks].reshape(-1, n_volumes).mean(axis=0)
    for clip, start in enumerate(clips.events["window_start"]):
        np.testing.assert_allclose(clips.brain[clip], np.moveaxis(expected[..., start : start + 2], 3, 0), rtol=1e-6)
    assert clips.brain.flags.c_contiguous
    if factor == 1:
        assert not clips.brain[:, :, ~mask].any()


def test_standardization_gives_each_voxel_mean_zero_and_unit_sd_over_the_run() -> None:
    rng = np.random.default_rng(0)
    n_volumes, n_trs = 40, 10
    t = np.arange(n_volumes)
    data = (500 + 3 * t + 20 * rng.standard_normal((4, 4, 2, n_volumes))).astype(np.int16)  # a steep linear drift
    labels = np.zeros((4, 4, 2), np.int16)
    labels[1:3, 1:3, :] = 1
    config = ExtractionConfig(roi_labels=(1,), n_trs=n_trs, hemodynamic_delay_s=0.0, brain_downsample=1)
    # Four clips tile the run exactly, so their concatenation is the whole cleaned run.
    clips = extract_run_clips(_image(data), _events([0.0, 15.0, 30.0, 45.0]), labels, None, config, chunk_volumes=7)
    run = np.concatenate(list(clips.roi), axis=1)  # (voxels, volumes)
    np.testing.assert_allclose(run.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(run.std(axis=1, ddof=1), 1, atol=1e-5)
    assert np.abs(np.corrcoef(run, t)[-1, :-1]).max() < 1e-4  # the linear drift is gone
    brain = np.concatenate(list(clips.brain.astype(np.float64)), axis=0).reshape(n_volumes, -1)
    np.testing.assert_allclose(brain.mean(axis=0), 0, atol=2e-3)  # float16 storage
    np.testing.assert_allclose(brain.std(axis=0, ddof=1), 1, atol=2e-3)
    raw = extract_run_clips(_image(data), _events([0.0]), labels, None, ExtractionConfig(roi_labels=(1,), **_OFF))
    assert raw.roi.mean() > 400  # with cleaning off the values are the stored ones


def _reference(bold: Path, events: pd.DataFrame, labels: np.ndarray, mask: np.ndarray, config: ExtractionConfig):
    """The whole run in memory, cleaned in one call, cut with plain indexing: what streaming must reproduce."""
    data = np.asarray(nib.load(bold).dataobj, dtype=np.float32)
    n_volumes, tr, d = data.shape[3], 1.5, config.brain_downsample
    starts = np.floor((events["onset"].to_numpy() + config.hemodynamic_delay_s) / tr + 0.5).astype(int)
    starts = starts[starts + config.n_trs <= n_volumes]
    kwargs = {"detrend": config.detrend, "standardize": "zscore_sample", "filter": False, "t_r": tr}
    roi = np.flatnonzero(np.isin(labels, config.roi_labels).ravel(order="F"))
    series = clean(data.reshape(-1, n_volumes, order="F")[roi].T, **kwargs)
    roi_clips = np.stack([series[s : s + config.n_trs].T for s in starts])
    padded = [-(-n // d) * d for n in data.shape[:3]]
    full = np.zeros((*padded, n_volumes), np.float32)
    full[: data.shape[0], : data.shape[1], : data.shape[2]] = data * mask[..., None]
    count = np.zeros(padded)
    count[: data.shape[0], : data.shape[1], : data.shape[2]] = 1
    out = [n // d for n in padded]
    sums = full.reshape(out[0], d, out[1], d, out[2], d, n_volumes).sum(axis=(1, 3, 5))
    counts = count.reshape(out[0], d, out[1], d, out[2], d).sum(axis=(1, 3, 5))
    padded_mask = np.pad(mask, [(0, p - n) for p, n in zip(padded, mask.shape, strict=True)])
    has_brain = padded_mask.reshape(out[0], d, out[1], d, out[2], d).sum(axis=(1, 3, 5)) > 0
    means = (sums / counts[..., None])[has_brain].T  # (volumes, voxels with brain)
    cleaned = np.zeros((n_volumes, *out), np.float32)
    cleaned[:, has_brain] = clean(means, **kwargs)
    brain_clips = np.stack([cleaned[s : s + config.n_trs] for s in starts])
    return roi_clips, brain_clips


@needs_mirror
@pytest.mark.parametrize("factor", [1, 2])
def test_streaming_equals_the_in_memory_reference(signal_tree: Path, native_labels: np.ndarray, factor: int) -> None:
    bold, events = _run(signal_tree, 1)
    mask = _mean_mask(bold)
    config = ExtractionConfig(brain_downsample=factor, brain_dtype="float32")
    clips = extract_run_clips(bold, events, native_labels, mask, config, chunk_volumes=23)  # 410 = 17 x 23 + 19
    roi, brain = _reference(bold, events, native_labels, mask, config)
    assert clips.dropped == 1 and len(clips.events) == 40  # the last clip's window ends 3 volumes after the run
    np.testing.assert_allclose(clips.roi, roi, atol=2e-4)
    np.testing.assert_allclose(clips.brain, brain, atol=2e-4)
    halves = extract_run_clips(bold, events, native_labels, mask, ExtractionConfig(brain_downsample=factor))
    assert halves.brain.dtype == np.float16
    np.testing.assert_allclose(halves.brain, brain, atol=5e-3, rtol=2e-3)


@needs_mirror
def test_a_run_read_once_into_memory_gives_the_streamed_clips(
    signal_tree: Path, native_labels: np.ndarray, tmp_path: Path
) -> None:
    bold, events = _run(signal_tree, 1)
    mask = _mean_mask(bold)
    config = ExtractionConfig(brain_downsample=2, brain_dtype="float32")
    run = read_run(bold, chunk_volumes=37)
    on_disk = np.asarray(nib.load(bold).dataobj)
    assert run.get_filename() == str(bold) and run.get_data_dtype() == on_disk.dtype
    np.testing.assert_array_equal(np.asarray(run.dataobj), on_disk)
    np.testing.assert_array_equal(run.affine, nib.load(bold).affine)
    in_memory = extract_run_clips(run, events, native_labels, mask, config)
    streamed = extract_run_clips(bold, events, native_labels, mask, config)
    np.testing.assert_array_equal(in_memory.roi, streamed.roi)
    np.testing.assert_array_equal(in_memory.brain, streamed.brain)
    compressed = tmp_path / "run_bold.nii.gz"  # read a chunk at a time through nibabel instead
    nib.save(nib.load(bold), compressed)
    np.testing.assert_array_equal(np.asarray(read_run(compressed, chunk_volumes=37).dataobj), on_disk)


def test_a_wrong_shaped_label_volume_or_a_truncated_nifti_gives_an_error_naming_the_file(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 100, (4, 4, 3, 12)).astype(np.int16)
    path = tmp_path / "sub-001_task-Test_run-01_bold.nii"
    nib.save(_image(data), path)
    labels = np.zeros((4, 4, 3), np.int16)
    labels[1, 1, 1] = 1
    config = ExtractionConfig(roi_labels=(1,), n_trs=2)
    assert extract_run_clips(path, _events([0.0]), labels, None, config).roi.shape == (1, 1, 2)
    with pytest.raises(ValueError, match=rf"{path.name}: native_labels has shape \(4, 4\); expected the image's grid"):
        extract_run_clips(path, _events([0.0]), labels[:, :, 0], None, config)
    with pytest.raises(ValueError, match=rf"{path.name}: brain_mask has shape"):
        extract_run_clips(path, _events([0.0]), labels, np.ones((4, 4, 4), bool), config)
    truncated = tmp_path / "truncated_bold.nii"
    shutil.copyfile(path, truncated)
    with open(truncated, "r+b") as fh:
        fh.truncate(truncated.stat().st_size - 100)
    with pytest.raises(NiftiHeaderError, match=rf"{truncated.name}: truncated: expected at least \d+ bytes"):
        extract_run_clips(truncated, _events([0.0]), labels, None, config)
    with pytest.raises(NiftiHeaderError, match=rf"{truncated.name}: truncated"):
        read_run(truncated)
    with pytest.raises(NiftiHeaderError, match=r"missing_bold.nii: expected a readable 4-D NIfTI"):
        extract_run_clips(tmp_path / "missing_bold.nii", _events([0.0]), labels, None, config)


def _genre_gap(tree: Path, labels: np.ndarray, config: ExtractionConfig) -> float:
    """Mean correlation of ROI clip features (mean over the window) between same-genre clips of runs 1 and 2, minus
    that between clips of different genres; lead-ins and the first clip are left out, so no clip appears twice."""
    features = []
    for run in (1, 2):
        bold, events = _run(tree, run)
        clips = extract_run_clips(bold, events[events["onset"] >= 15.0], labels, None, config, with_brain=False)
        features.append((clips.roi.mean(axis=2), clips.events["genre"].to_numpy()))
    (a, genres_a), (b, genres_b) = features
    corr = np.corrcoef(a, b)[: len(a), len(a) :]
    same = genres_a[:, None] == genres_b[None, :]
    return float(corr[same].mean() - corr[~same].mean())


@needs_mirror
def test_roi_clip_features_of_one_genre_correlate_more_than_across_genres(
    signal_tree: Path, native_labels: np.ndarray
) -> None:
    gap = _genre_gap(signal_tree, native_labels, ExtractionConfig())
    assert gap > 0.3  # about 0.66 on this fixture
    # Windows one clip (15 s) early or late see the neighbouring clip's response: the genre signal is gone.
    for shift in (-15.0, 15.0):
        assert abs(_genre_gap(signal_tree, native_labels, ExtractionConfig(hemodynamic_delay_s=4.5 + shift))) < 0.1
    # As many brain voxels outside the auditory ROI carry no genre signal.
    brain = _mean_mask(_run(signal_tree, 1)[0]) & ~roi_mask(native_labels, tuple(AUDITORY_ROI))
    others = np.zeros(native_labels.shape, np.int16)
    others.flat[np.random.default_rng(0).choice(np.flatnonzero(brain), 111, replace=False)] = 1
    assert abs(_genre_gap(signal_tree, others, ExtractionConfig(roi_labels=(1,)))) < 0.1


def test_stack_runs_concatenates_clips_and_refuses_other_voxels() -> None:
    def run(n: int, index: list[int], brain: bool = True) -> RunClips:
        return RunClips(
            roi=np.zeros((n, len(index), 3), np.float32),
            roi_voxel_labels=np.ones(len(index), np.int16),
            brain=np.zeros((n, 3, 2, 2, 2), np.float16) if brain else None,
            events=pd.DataFrame({"onset": np.arange(n, dtype=float)}),
            dropped=1,
            roi_voxel_index=np.asarray(index),
        )

    stacked = stack_runs([run(2, [1, 5]), run(3, [1, 5])])
    assert stacked.roi.shape == (5, 2, 3) and stacked.brain.shape == (5, 3, 2, 2, 2) and stacked.dropped == 2
    assert stacked.events["onset"].tolist() == [0, 1, 0, 1, 2]
    with pytest.raises(ValueError, match="run 1 has other ROI voxels"):
        stack_runs([run(2, [1, 5]), run(2, [1, 6])])
    with pytest.raises(ValueError, match="run 1 whole-brain clips"):
        stack_runs([run(2, [1, 5]), run(2, [1, 5], brain=False)])
    with pytest.raises(ValueError, match="at least one"):
        stack_runs([])
