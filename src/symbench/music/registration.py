"""Each subject's EPI -> MNI152 transform: the mean volume of a run registered to nilearn's 2 mm template.

Library: dipy (``dipy.align.imaffine``), mutual information, centre of mass -> rigid. Measured on one real-size
fixture run (96x96x68, 410 volumes) by ``bench/bench_music_registration.py``: the same mean EPI, each method in its
own process with 2 threads on the 2 shared CPU cores, median of 3 (``reports/bench/music_registration.md``); error =
displacement from the true transform over the template's brain voxels, worst repeat; peak RSS of the whole process:

=========================================  =======  ==========  =========  ========  ==============
method                                     seconds  mean error  max error  peak RSS  same each time
=========================================  =======  ==========  =========  ========  ==============
dipy 1.12.1, ``RegistrationConfig()``         0.79     0.04 mm    0.08 mm    324 MB  yes
dipy, samples over the whole box              1.79     0.03 mm    0.05 mm    324 MB  yes
dipy, + translation stage                     1.70     0.03 mm    0.07 mm    324 MB  yes
ANTsPy 0.6.3, ``QuickRigid``                  0.52     0.07 mm    0.12 mm    363 MB  no
ANTsPy 0.6.3, ``Rigid`` (library default)     3.35     0.02 mm    0.05 mm    365 MB  no
=========================================  =======  ==========  =========  ========  ==============

Both recover the transform far below a voxel (2 mm) in a second or less; ANTsPy's QuickRigid is about 0.3 s
faster, its default Rigid about 4x slower. What decides is the rest: ANTsPy gave a different matrix on each repeat with
``random_seed=0`` (ITK's multi-threaded metric), and the pipeline promises the same transform for the same input;
antspyx 0.6.3 requires ``numpy<2.4`` and ``scipy<1.16``, which conflict with the locked numpy 2.4.6 and scipy 1.17.1
(it ran only from a throwaway ``--target`` folder, against its declared pins) and it is a 630 MB install that
passes transforms through files. dipy is locked, pip-installed, takes arrays and affines directly, and is
bit-for-bit reproducible. So: dipy. The registration is per subject (one transform for its 18 runs), so its cost
per run is under 0.1 s.

Why rigid and this schedule. In the fixture the EPI is the template's head moved rigidly, so after the scanner's own
affine only a rigid motion (6 parameters) is left to estimate. A real subject's head is not MNI152's: its size and
shape differ, and an affine stage (12 parameters, ``stages: [center_of_mass, rigid, affine]``) is the usual
whole-head EPI -> MNI transform; it is optional here and has not been measured on real volumes (none are reachable).
The centre-of-mass start removes the large shifts; a separate translation stage (optional) added 0.9 s and nothing
to the accuracy, since the rigid stage optimises the shift too. Three pyramid levels (factors 4, 2, 1 with Gaussian
sigmas 3, 1, 0 voxels) give a wide capture range on a coarse grid and the precision of the full one; mutual
information with 32 bins handles the EPI's contrast differing from the T1 template's. Sparse sampling of 5 % of the
template's voxels keeps each iteration cheap: dense sampling took 11-30 s for the same answer, 2 % sometimes missed
by 2 mm, 3 % was within 0.1 mm, so 5 % leaves a margin for real EPI's noise and distortion. Of those samples only
the ones where the template (smoothed as at that pyramid level) exceeds 1 % of its maximum are kept: the rest of the
box is the skull-stripped template's empty background (54 % of it), and dropping it cut the time from 1.9 to 1.2 s
on the five fixture subjects (side by side on a busy machine; 1.79 -> 0.79 s in the bench above, on a quiet one) for
a mean error of 0.031-0.035 mm instead of 0.025-0.030 (max 0.079 mm; the voxels are 2 mm). The smoothing at the
coarse levels keeps a margin of background around the brain, so the brain's edge still weighs in the metric.

Determinism: dipy's sparse sampling jitters its sample points; here they are drawn from ``config.seed``, so the
same input and configuration give the same matrix, bit for bit, on the same machine and library versions.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from dipy.align.imaffine import AffineRegistration, MutualInformationMetric, transform_centers_of_mass
from dipy.align.parzenhist import sample_domain_regular
from dipy.align.transforms import AffineTransform3D, RigidTransform3D, TranslationTransform3D

from symbench.atomic import write_json_atomic

STAGES = ("center_of_mass", "translation", "rigid", "affine")
METRIC = "mutual_information"
BRAIN_THRESHOLD = 0.2  # template intensity (0-1) above which a template voxel counts as brain


@dataclass(frozen=True)
class RegistrationConfig:
    """How to register: pipeline stages (in order), the MI metric and the multi-resolution schedule (coarse first)."""

    stages: tuple[str, ...] = ("center_of_mass", "rigid")
    metric: str = METRIC
    metric_bins: int = 32
    level_iters: tuple[int, ...] = (100, 50, 25)
    sigmas: tuple[float, ...] = (3.0, 1.0, 0.0)  # Gaussian smoothing per level, in voxels
    factors: tuple[int, ...] = (4, 2, 1)  # downsampling per level
    sampling_proportion: float | None = 0.05  # of the template's voxels; None: dense
    # sparse samples kept only where the level's (smoothed) template exceeds this fraction of its maximum; None: all
    tissue_threshold: float | None = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("stages", "level_iters", "sigmas", "factors"):  # YAML/JSON lists -> tuples (hashable, equal)
            object.__setattr__(self, name, tuple(getattr(self, name)))
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown or not self.stages:
            raise ValueError(f"stages {self.stages}: expected a non-empty sequence of {STAGES}")
        if self.metric != METRIC:
            raise ValueError(f"metric {self.metric!r}: expected {METRIC!r}")
        if not len(self.level_iters) == len(self.sigmas) == len(self.factors) >= 1:
            raise ValueError(
                f"level_iters {self.level_iters}, sigmas {self.sigmas}, factors {self.factors}: expected one value "
                "per pyramid level in each"
            )
        if self.sampling_proportion is not None and not 0 < self.sampling_proportion <= 1:
            raise ValueError(f"sampling_proportion {self.sampling_proportion}: expected None or a value in (0, 1]")
        if self.tissue_threshold is not None and not 0 <= self.tissue_threshold < 1:
            raise ValueError(f"tissue_threshold {self.tissue_threshold}: expected None or a value in [0, 1)")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RegistrationConfig:
        """The configuration ``asdict``-ed (JSON lists become tuples again)."""
        return cls(**values)


@dataclass(frozen=True)
class Registration:
    """An estimated transform: ``native_from_mni`` maps MNI mm to scanner mm (the fixture manifest's convention)."""

    native_from_mni: np.ndarray
    method: str
    seconds: float
    mutual_information: float  # at the finest level of the last stage, in nats
    config: RegistrationConfig = field(default_factory=RegistrationConfig)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict`` reads it back."""
        return {
            "native_from_mni": self.native_from_mni.tolist(),
            "mni_from_native": np.linalg.inv(self.native_from_mni).tolist(),
            "method": self.method,
            "seconds": self.seconds,
            "mutual_information": self.mutual_information,
            "config": asdict(self.config),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Registration:
        """The registration written by ``as_dict``."""
        matrix = np.asarray(values["native_from_mni"], dtype=float)
        if matrix.shape != (4, 4):
            raise ValueError(f"native_from_mni: expected a 4x4 matrix, got shape {matrix.shape}")
        return cls(
            native_from_mni=matrix,
            method=str(values["method"]),
            seconds=float(values["seconds"]),
            mutual_information=float(values["mutual_information"]),
            config=RegistrationConfig.from_dict(values.get("config", {})),
        )


def mean_volume(image: nib.Nifti1Image, chunk_volumes: int = 16) -> nib.Nifti1Image:
    """Mean over time (float32, same affine), read ``chunk_volumes`` volumes at a time through ``image.dataobj``:
    memory holds one chunk in the file's dtype and a float64 accumulator, never the run as floats. A run already in
    memory (``roi_clips.read_run``) is summed in one pass (twice as fast; float64 sums of integers are exact, so the
    result is the same to the bit)."""
    shape = image.shape
    if len(shape) == 3:
        data = np.asarray(image.dataobj, dtype=np.float32)
        return nib.Nifti1Image(data, image.affine)
    if len(shape) != 4 or shape[3] < 1:
        raise ValueError(f"{_name(image)}: expected a 3D or 4D image with at least one volume, got shape {shape}")
    if chunk_volumes < 1:
        raise ValueError(f"chunk_volumes {chunk_volumes}: expected a positive number of volumes")
    if isinstance(image.dataobj, np.ndarray):
        return nib.Nifti1Image(
            (image.dataobj.sum(axis=3, dtype=np.float64) / shape[3]).astype(np.float32), image.affine
        )
    total = np.zeros(shape[:3], dtype=np.float64)
    for start in range(0, shape[3], chunk_volumes):
        chunk = np.asanyarray(image.dataobj[..., start : start + chunk_volumes])
        total += chunk.sum(axis=3, dtype=np.float64)  # casts in small buffers, not a float copy of the chunk
    return nib.Nifti1Image((total / shape[3]).astype(np.float32), image.affine)


def register_to_mni(
    moving: nib.Nifti1Image,
    template: nib.Nifti1Image | None = None,
    config: RegistrationConfig = RegistrationConfig(),  # noqa: B008 - frozen, so a shared default is safe
) -> Registration:
    """Register a 3D EPI (a run's ``mean_volume``) to the MNI152 template (default: nilearn's 2 mm, offline)."""
    if len(moving.shape) != 3:
        raise ValueError(f"{_name(moving)}: expected a 3D volume (the run's mean_volume), got shape {moving.shape}")
    template = template if template is not None else load_template()
    static, static_affine = template.get_fdata(dtype=np.float32), template.affine
    data, affine = np.asarray(moving.dataobj, dtype=np.float32), moving.affine
    if not np.isfinite(data).all() or data.max() <= data.min():
        raise ValueError(f"{_name(moving)}: expected finite, non-constant intensities to register")
    start = time.perf_counter()
    current, mi = np.eye(4), math.nan
    metric = _SeededMutualInformation(
        config.metric_bins, config.sampling_proportion, config.seed, tissue_threshold=config.tissue_threshold
    )
    optimizer = AffineRegistration(
        metric=metric,
        level_iters=list(config.level_iters),
        sigmas=list(config.sigmas),
        factors=list(config.factors),
        verbosity=0,
    )
    transforms = {"translation": TranslationTransform3D, "rigid": RigidTransform3D, "affine": AffineTransform3D}
    for stage in config.stages:
        if stage == "center_of_mass":
            current = transform_centers_of_mass(static, static_affine, data, affine).affine
            continue
        found, _, fopt = optimizer.optimize(
            static,
            data,
            transforms[stage](),
            None,
            static_grid2world=static_affine,
            moving_grid2world=affine,
            starting_affine=current,
            ret_metric=True,
        )
        current, mi = found.affine, -float(fopt)  # dipy minimises the negative MI
    seconds = time.perf_counter() - start
    method = f"dipy {importlib.metadata.version('dipy')} {METRIC} {'->'.join(config.stages)}"
    return Registration(np.array(current, dtype=float), method, seconds, mi, config)


def displacement_mm(a: np.ndarray, b: np.ndarray, points_mm: np.ndarray) -> np.ndarray:
    """Per point, the distance (mm) between where the 4x4 transforms ``a`` and ``b`` take it; ``points_mm`` (n, 3)."""
    a, b, points = np.asarray(a, float), np.asarray(b, float), np.asarray(points_mm, float)
    if a.shape != (4, 4) or b.shape != (4, 4) or points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"expected two 4x4 transforms and (n, 3) points, got {a.shape}, {b.shape}, {points.shape}")
    difference = a - b
    return np.linalg.norm(points @ difference[:3, :3].T + difference[:3, 3], axis=1)


def brain_points_mm(template: nib.Nifti1Image | None = None, threshold: float = BRAIN_THRESHOLD) -> np.ndarray:
    """(n, 3) MNI mm of the template voxels brighter than ``threshold`` (of its maximum): where errors matter."""
    template = template if template is not None else load_template()
    data = template.get_fdata(dtype=np.float32)
    ijk = np.argwhere(data > threshold * data.max())
    return ijk @ template.affine[:3, :3].T + template.affine[:3, 3]


def load_template() -> nib.Nifti1Image:
    """nilearn's MNI152 2 mm template (bundled with nilearn, no download)."""
    from nilearn.datasets import load_mni152_template

    return load_mni152_template(resolution=2)


def write_registration(path: str | Path, registration: Registration) -> Path:
    """Save the transform (and how it was found) as JSON, atomically."""
    return write_json_atomic(path, registration.as_dict())


def read_registration(path: str | Path) -> Registration:
    """The registration ``write_registration`` saved at ``path``."""
    path = Path(path)
    try:
        return Registration.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"{path}: expected a registration JSON written by write_registration ({error})") from error


def _name(image: nib.Nifti1Image) -> str:
    return str(image.get_filename() or f"in-memory image {image.shape}")


class _SeededMutualInformation(MutualInformationMetric):
    """dipy's MI metric with the jitter of its sparse samples drawn from ``seed`` (dipy's own generator is fixed),
    and, with ``tissue_threshold``, only the samples where the template has tissue (dipy has no such option)."""

    def __init__(
        self, nbins: int, sampling_proportion: float | None, seed: int, tissue_threshold: float | None = None
    ) -> None:
        super().__init__(nbins=nbins, sampling_proportion=sampling_proportion)
        self.seed = seed
        self.tissue_threshold = tissue_threshold

    def setup(self, transform: Any, static: np.ndarray, moving: np.ndarray, **kwargs: Any) -> None:
        super().setup(transform, static, moving, **kwargs)
        if self.sampling_proportion is None:
            return
        k = int(np.ceil(1.0 / self.sampling_proportion))  # as dipy: every k-th voxel, jittered
        grid = kwargs.get("static_grid2world")
        grid = np.eye(static.ndim + 1) if grid is None else grid
        shape = np.array(static.shape, dtype=np.int32)
        samples = np.asarray(sample_domain_regular(k, shape, grid, rng=np.random.default_rng(self.seed)))
        self.samples = np.hstack((samples, np.ones((samples.shape[0], 1))))
        self.ns = self.samples.shape[0]
        start = kwargs.get("starting_affine")
        self.samples_prealigned = self.samples if start is None else self.samples @ np.asarray(start).T
        points = (self.samples @ self.static_world2grid.T)[:, : static.ndim]
        self.static_vals = np.array(self.interp_method(static, points)[0], dtype=np.float64)
        if self.tissue_threshold is not None:
            keep = self.static_vals > self.tissue_threshold * float(static.max())
            self.samples, self.samples_prealigned = self.samples[keep], self.samples_prealigned[keep]
            self.static_vals, self.ns = self.static_vals[keep], int(keep.sum())
