"""DVC stage music_register: one subject's mean EPI -> MNI152 transform, the atlas in native space, a QC figure.

Outputs (data/interim/music/registration/<sub>/): ``mean_epi.nii.gz``, ``atlas_native.nii.gz`` (Desikan-Killiany ids
on the BOLD grid), ``brain_mask.nii.gz``, ``registration.json`` (transform, timing, data source and, on the fixture,
the error against the known transform); reports/music/figures/registration_<sub>.png.
"""

from __future__ import annotations

import argparse
import gzip
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import atomic_path, write_json_atomic
from symbench.config import load_params
from symbench.music import layout
from symbench.music.atlas import desikan_killiany_files
from symbench.music.atlas_native import atlas_to_native
from symbench.music.bids_source import bold_geometry, data_source
from symbench.music.fixture import read_fixture_manifest
from symbench.music.nifti_check import check_bold_header
from symbench.music.registration import RegistrationConfig, displacement_mm, mean_volume, register_to_mni
from symbench.music.registration_qc import plot_registration_qc
from symbench.music.roi_clips import brain_mask_from_mean, roi_mask
from symbench.stages.logging_setup import setup_logging

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subject", required=True, help="e.g. 1 or sub-001")
    sub = layout.subject_label(parser.parse_args(argv).subject)
    music = load_params().music
    bids = paths.MUSIC_BIDS
    geometry = bold_geometry(bids)
    run = int(music.data.runs.Training[0])
    bold = bids / layout.func_path(sub, "Training", run, "bold.nii")
    check_bold_header(bold, shape=geometry.shape, voxel_mm=geometry.voxel_mm)

    mean_epi = mean_volume(nib.load(bold))
    config = RegistrationConfig(**OmegaConf.to_container(music.registration, resolve=True))  # type: ignore[arg-type]
    registration = register_to_mni(mean_epi, config=config)
    atlas = nib.load(desikan_killiany_files().image)
    native = atlas_to_native(atlas, registration.native_from_mni, mean_epi.shape[:3], mean_epi.affine)
    roi_labels = [int(k) for k in music.roi.names]
    labels = np.asarray(native.dataobj)
    roi = roi_mask(labels, roi_labels)  # raises naming any region with no voxel
    brain = brain_mask_from_mean(np.asarray(mean_epi.dataobj))

    out = paths.music_registration_dir(sub)
    _save(mean_epi, out / "mean_epi.nii.gz")
    _save(native, out / "atlas_native.nii.gz")
    _save(nib.Nifti1Image(brain.astype(np.uint8), mean_epi.affine), out / "brain_mask.nii.gz")
    record = {
        "subject": sub,
        "data_source": data_source(bids),
        "reference_run": f"Training run-{run:02d}",
        **registration.as_dict(),
        "n_brain_voxels": int(brain.sum()),
        "n_roi_voxels": {str(k): int((labels == k).sum()) for k in roi_labels},
        "roi_inside_brain": float(brain[roi].mean()),
    }
    manifest = read_fixture_manifest(bids)
    if manifest is not None:
        truth = np.asarray(manifest["subjects"][sub]["native_from_mni"])
        points = _brain_points_mni(brain, mean_epi.affine, truth)
        error = displacement_mm(registration.native_from_mni, truth, points)
        record["error_vs_fixture_truth_mm"] = {"mean": float(error.mean()), "max": float(error.max())}
        log.info(
            "%s: registration error vs the fixture's transform: mean %.2f mm, max %.2f mm",
            sub,
            error.mean(),
            error.max(),
        )
    write_json_atomic(out / "registration.json", record)
    plot_registration_qc(mean_epi, native, roi_labels, paths.MUSIC_FIGURES / f"registration_{sub}.png")
    log.info("%s: registered in %.1f s; %d ROI voxels", sub, registration.seconds, int(roi.sum()))


def _brain_points_mni(brain: np.ndarray, affine: np.ndarray, native_from_mni: np.ndarray) -> np.ndarray:
    """(n, 3) MNI mm of the brain voxels under the true transform."""
    ijk = np.vstack(np.nonzero(brain)).astype(float)
    scanner = affine[:3, :3] @ ijk + affine[:3, 3:]
    inverse = np.linalg.inv(native_from_mni)
    return (inverse[:3, :3] @ scanner + inverse[:3, 3:]).T


def _save(image: nib.Nifti1Image, dest: Path) -> None:
    """A .nii.gz written atomically; ``mtime=0`` keeps the bytes identical across runs."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(gzip.compress(image.to_bytes(), mtime=0))


if __name__ == "__main__":
    main()
