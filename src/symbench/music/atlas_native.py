"""The Desikan-Killiany atlas (MNI) brought onto a subject's BOLD grid (scanner space) through a registration.

Each BOLD voxel goes voxel -> scanner mm (the BOLD affine) -> MNI mm (the inverse of ``native_from_mni``) -> atlas
voxel, and takes the nearest atlas label. nilearn's ``resample_img`` does the resampling (nearest neighbour, through
``scipy.ndimage``): it is given the BOLD grid expressed in MNI mm, ``inv(native_from_mni) @ affine``, which is the
atlas's world, and the result is then labelled with the BOLD affine, so it overlays the EPI in scanner space.
"""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np

LABEL_DTYPE = np.int16


def atlas_to_native(
    atlas: nib.Nifti1Image, native_from_mni: np.ndarray, shape: tuple[int, int, int], affine: np.ndarray
) -> nib.Nifti1Image:
    """Atlas labels (int16, 0 outside the atlas) on the grid ``shape``/``affine`` (voxel -> scanner mm), nearest
    neighbour; ``native_from_mni`` (4x4) maps MNI mm to scanner mm, as ``Registration.native_from_mni``."""
    from nilearn.image import resample_img

    native_from_mni, affine = np.asarray(native_from_mni, float), np.asarray(affine, float)
    name = atlas.get_filename() or "in-memory atlas"
    if len(atlas.shape) != 3:
        raise ValueError(f"{name}: expected a 3D label image, got shape {atlas.shape}")
    if native_from_mni.shape != (4, 4) or affine.shape != (4, 4) or len(shape) != 3:
        raise ValueError(
            f"expected 4x4 native_from_mni and affine and a 3D shape, got {native_from_mni.shape}, "
            f"{affine.shape}, {shape}"
        )
    labels = np.asanyarray(atlas.dataobj)
    if not np.issubdtype(labels.dtype, np.integer) and not np.array_equal(labels, np.rint(labels)):
        raise ValueError(f"{name}: expected integer labels, got non-integer values of dtype {labels.dtype}")
    labels = np.rint(labels).astype(LABEL_DTYPE)
    mni_from_voxel = np.linalg.inv(native_from_mni) @ affine
    source = nib.Nifti1Image(labels, atlas.affine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "resampling binary/label image" notices; nearest is intended
        resampled = resample_img(
            source,
            target_affine=mni_from_voxel,
            target_shape=tuple(int(n) for n in shape),
            interpolation="nearest",
            fill_value=0,
            force_resample=True,
            copy_header=True,
        )
    data = np.asarray(resampled.dataobj).astype(LABEL_DTYPE)
    image = nib.Nifti1Image(data, affine)
    image.header.set_data_dtype(LABEL_DTYPE)
    image.header.set_xyzt_units("mm")
    return image
