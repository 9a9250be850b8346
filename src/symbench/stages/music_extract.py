"""DVC stage music_extract: one subject's clip tensors, streamed one run at a time.

Outputs (data/processed/music/clips/<sub>/): ``roi.npz`` (``roi`` float32 (clips, ROI voxels, TRs) and each ROI
voxel's atlas id), ``brain.npy`` (whole-brain tensors (clips, TRs, X, Y, Z)), ``clips.csv`` (one row per clip:
task, run, genre, label, clip id, volume window) and ``extraction.json`` (config, counts, data source).
"""

from __future__ import annotations

import argparse
import logging

import nibabel as nib
import numpy as np
from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import atomic_path, save_npz_atomic, write_json_atomic
from symbench.config import load_params
from symbench.music import layout
from symbench.music.bids_source import bold_geometry, data_source
from symbench.music.events import GTZAN_GENRES, clip_table
from symbench.music.nifti_check import check_bold_header
from symbench.music.roi_clips import ExtractionConfig, extract_run_clips, stack_runs
from symbench.progress import progress
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
    registration = paths.music_registration_dir(sub)
    native_labels = np.asarray(nib.load(registration / "atlas_native.nii.gz").dataobj)
    brain_mask = np.asarray(nib.load(registration / "brain_mask.nii.gz").dataobj).astype(bool)
    config = ExtractionConfig(
        **OmegaConf.to_container(music.extract, resolve=True),  # type: ignore[arg-type]
        roi_labels=tuple(int(k) for k in music.roi.names),
    )

    runs = []
    for task, numbers in music.data.runs.items():
        table = clip_table(bids, sub, task, [int(n) for n in numbers])
        table = table[~table["is_lead_in_repeat"]]  # row 0 repeats a clip already presented
        for run, events in progress(table.groupby("run", sort=True), desc=f"{sub} {task} runs", unit="run"):
            bold = bids / layout.func_path(sub, task, int(run), "bold.nii")
            check_bold_header(bold, shape=geometry.shape, voxel_mm=geometry.voxel_mm)
            clips = extract_run_clips(bold, events.reset_index(drop=True), native_labels, brain_mask, config)
            log.info("%s: %d clips (%d beyond the run dropped)", bold.name, len(clips.events), clips.dropped)
            runs.append(clips)
    clips = stack_runs(runs)
    events = clips.events.reset_index(drop=True)
    events["label"] = [GTZAN_GENRES.index(g) for g in events["genre"]]

    out = paths.music_clips_dir(sub)
    save_npz_atomic(out / "roi.npz", roi=clips.roi, roi_voxel_labels=clips.roi_voxel_labels)
    with atomic_path(out / "brain.npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, clips.brain)
    with atomic_path(out / "clips.csv") as tmp:
        events.to_csv(tmp, index=False)
    write_json_atomic(
        out / "extraction.json",
        {
            "subject": sub,
            "data_source": data_source(bids),
            "config": OmegaConf.to_container(music.extract, resolve=True),
            "n_clips": {task: int((events["task"] == task).sum()) for task in music.data.runs},
            "n_dropped": int(sum(r.dropped for r in runs)),
            "roi_shape": list(clips.roi.shape),
            "brain_shape": list(clips.brain.shape),
            "n_roi_voxels": {str(k): int((clips.roi_voxel_labels == k).sum()) for k in config.roi_labels},
        },
    )


if __name__ == "__main__":
    main()
