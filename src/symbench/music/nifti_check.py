"""Check a ds003720 BOLD NIfTI from its header alone: shape, data type, voxel size, and that no data is missing."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError
from nibabel.spatialimages import HeaderDataError

log = logging.getLogger(__name__)

# Every BOLD run of ds003720: 96x96x68 voxels of 2 mm, 410 volumes (TR 1.5 s), int16, uncompressed .nii.
BOLD_SHAPE = (96, 96, 68, 410)
BOLD_DTYPE = np.dtype("int16")
BOLD_VOXEL_MM = 2.0
VOXEL_TOLERANCE_MM = 1e-3


class NiftiHeaderError(ValueError):
    """A NIfTI file's header disagrees with what the study expects, or the file is shorter than its header says."""


@dataclass(frozen=True)
class NiftiHeaderInfo:
    """What the header of a checked NIfTI says."""

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    voxel_mm: tuple[float, ...]
    vox_offset: int
    file_bytes: int


def check_bold_header(
    path: str | Path,
    *,
    shape: Sequence[int] = BOLD_SHAPE,
    dtype: str | np.dtype = BOLD_DTYPE,
    voxel_mm: float = BOLD_VOXEL_MM,
) -> NiftiHeaderInfo:
    """Read only the header of an uncompressed NIfTI and raise NiftiHeaderError naming the file when its shape,
    data type or spatial voxel size differ from the expected ones, or the file is truncated."""
    path = Path(path)
    expected_shape, expected_dtype = tuple(int(n) for n in shape), np.dtype(dtype)
    if path.name.endswith(".gz"):
        raise NiftiHeaderError(f"{path}: expected an uncompressed .nii (a truncated .nii.gz cannot be seen by size)")
    try:
        image = nib.load(path)  # reads the header; the data stays on disk behind a lazy proxy
        header, proxy = image.header, image.dataobj
    except (ImageFileError, HeaderDataError, OSError, ValueError) as e:
        raise NiftiHeaderError(f"{path}: expected a readable NIfTI-1/2 header ({e})") from e
    info = NiftiHeaderInfo(
        path=path,
        shape=tuple(int(n) for n in header.get_data_shape()),
        dtype=np.dtype(header.get_data_dtype()),
        voxel_mm=tuple(float(z) for z in header.get_zooms()),
        vox_offset=int(proxy.offset),  # image.header is a copy with the offset reset
        file_bytes=path.stat().st_size,
    )
    if info.shape != expected_shape:
        raise NiftiHeaderError(f"{path}: expected shape {_fmt(expected_shape)}, header says {_fmt(info.shape)}")
    if info.dtype.newbyteorder("=") != expected_dtype.newbyteorder("="):  # either byte order is fine
        raise NiftiHeaderError(f"{path}: expected data type {expected_dtype.name}, header says {info.dtype.name}")
    spatial = info.voxel_mm[:3]
    if any(not math.isclose(z, voxel_mm, abs_tol=VOXEL_TOLERANCE_MM) for z in spatial):
        raise NiftiHeaderError(f"{path}: expected {voxel_mm} mm voxels, header says {_fmt(spatial)} mm")
    needed = expected_nifti_bytes(info.shape, info.dtype, info.vox_offset)
    if info.file_bytes < needed:
        raise NiftiHeaderError(
            f"{path}: truncated: expected at least {needed} bytes (vox_offset {info.vox_offset} + "
            f"{needed - info.vox_offset} data bytes), file has {info.file_bytes}"
        )
    log.debug("%s: header ok (%s %s, %d bytes)", path, _fmt(info.shape), info.dtype.name, info.file_bytes)
    return info


def expected_nifti_bytes(shape: Sequence[int], dtype: str | np.dtype, vox_offset: int) -> int:
    """Smallest size of an uncompressed NIfTI holding ``shape`` voxels of ``dtype`` after ``vox_offset`` bytes."""
    return int(vox_offset) + math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize


def _fmt(values: Sequence[object]) -> str:
    return "x".join(str(v) for v in values)
