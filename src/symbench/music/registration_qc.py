"""The registration's QC figure: the native-space atlas outlined over the mean EPI, auditory regions in colour.

A reviewer looks for the white whole-atlas outline following the brain's edge and the coloured auditory outlines
sitting on the superior temporal gyri; a failed registration shows outlines shifted or rotated off the anatomy.
The figure is drawn on a bare ``matplotlib.figure.Figure`` (Agg canvas, no pyplot, no display) and written
atomically, so an interrupted or failed plot leaves no PNG behind.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from symbench.atomic import atomic_path

ROI_COLORS = ("tab:red", "tab:orange", "gold", "tab:cyan", "tab:blue", "tab:green", "tab:purple", "tab:pink")
N_SLICES = 7
DPI = 100


def plot_registration_qc(
    mean_epi: nib.Nifti1Image,
    native_atlas: nib.Nifti1Image,
    roi_labels: Sequence[int] | Mapping[int, Sequence[str]],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Write a PNG to ``path``: orthogonal views through the ROIs' centre and axial slices across them, with the
    whole atlas outlined in white and each ROI (``roi_labels``: ids, or ids -> name parts) in its own colour."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from nilearn import plotting

    labels = np.asanyarray(native_atlas.dataobj)
    if native_atlas.shape != mean_epi.shape[:3] or not np.allclose(native_atlas.affine, mean_epi.affine, atol=1e-3):
        raise ValueError(
            f"{native_atlas.get_filename() or 'native atlas'}: expected the mean EPI's grid {mean_epi.shape[:3]} "
            "and affine (atlas_to_native onto the BOLD grid), got a different grid"
        )
    names = _roi_names(roi_labels)
    present = {k: v for k, v in names.items() if (labels == k).any()}
    if not present:
        raise ValueError(f"roi_labels {sorted(names)}: none is present in the native atlas; nothing to outline")
    roi = np.isin(labels, list(present))
    centre = _world(mean_epi.affine, np.argwhere(roi).mean(axis=0))
    z_world = [_world(mean_epi.affine, p)[2] for p in np.argwhere(roi)]
    z_cuts = np.linspace(np.percentile(z_world, 5), np.percentile(z_world, 95), N_SLICES)

    figure = Figure(figsize=(12, 8), facecolor="black")
    FigureCanvasAgg(figure)
    epi = nib.Nifti1Image(np.asanyarray(mean_epi.dataobj, dtype=np.float32), mean_epi.affine)
    displays = [
        plotting.plot_anat(
            epi,
            display_mode="ortho",
            cut_coords=centre,
            figure=figure,
            axes=(0, 0.42, 1, 0.5),
            draw_cross=False,
            colorbar=False,
        ),
        plotting.plot_anat(
            epi, display_mode="z", cut_coords=z_cuts, figure=figure, axes=(0, 0.02, 1, 0.38), colorbar=False
        ),
    ]
    brain = nib.Nifti1Image((labels > 0).astype(np.int8), native_atlas.affine)
    for display in displays:
        display.add_contours(brain, levels=[0.5], colors="white", linewidths=0.6)
        for color, region in zip(itertools.cycle(ROI_COLORS), present):
            mask = nib.Nifti1Image((labels == region).astype(np.int8), native_atlas.affine)
            display.add_contours(mask, levels=[0.5], colors=color, linewidths=1.2)
    handles = [Line2D([], [], color="white", label="atlas (all regions)")]
    handles += [
        Line2D([], [], color=c, label=f"{k} {v}".strip())
        for c, (k, v) in zip(itertools.cycle(ROI_COLORS), present.items())
    ]
    figure.legend(handles=handles, loc="upper right", ncol=3, fontsize=8, facecolor="black", labelcolor="white")
    heading = title or f"registration QC: {Path(mean_epi.get_filename() or 'mean EPI').name}"
    figure.suptitle(heading, color="white", fontsize=11, x=0.01, ha="left")
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, facecolor="black")
    return path  # the Figure is not registered with pyplot: nothing to close


def _roi_names(roi_labels: Sequence[int] | Mapping[int, Sequence[str]]) -> dict[int, str]:
    if isinstance(roi_labels, Mapping):
        return {int(k): " ".join(v) if not isinstance(v, str) else v for k, v in roi_labels.items()}
    return {int(k): "" for k in roi_labels}


def _world(affine: np.ndarray, ijk: np.ndarray) -> tuple[float, float, float]:
    x, y, z = affine[:3, :3] @ np.asarray(ijk, float) + affine[:3, 3]
    return float(x), float(y), float(z)
