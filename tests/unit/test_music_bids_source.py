"""Which ds003720 tree the brain stages read: real volumes placed in the mirror switch the study to them."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from symbench.download import FetchError
from symbench.music import layout
from symbench.music.bids_source import (
    BidsSelection,
    bold_geometry,
    build_bids_tree,
    choose_source,
    data_source,
    fixture_config,
)
from symbench.music.nifti_check import BOLD_SHAPE
from symbench.paths import SHARED_DATA

DS003720 = SHARED_DATA / "ds003720"
SELECTION = BidsSelection(subjects=("sub-001",), runs={"Training": [1], "Test": [1]})
TINY = {"shape": [12, 12, 9], "voxel_mm": 16.0, "n_volumes": 20}


def _mirror_with_volumes(tmp_path: Path, selection: BidsSelection, n_bytes: int = 4096) -> Path:
    """A metadata copy of the real mirror plus stand-in volume files and an annex key list that matches them."""
    mirror = tmp_path / "mirror"
    for rel in layout.TOP_LEVEL_FILES:
        (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DS003720 / rel, mirror / rel)
    lines = []
    rng = np.random.default_rng(0)
    for sub in selection.subjects:
        for task, runs in selection.runs.items():
            for run in runs:
                for suffix in ("events.tsv", "bold.json"):
                    rel = layout.func_path(sub, task, run, suffix)
                    (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(DS003720 / rel, mirror / rel)
                rel = layout.func_path(sub, task, run, "bold.nii")
                data = rng.integers(0, 255, n_bytes, dtype=np.uint8).tobytes()
                (mirror / rel).write_bytes(data)
                key = f"MD5E-s{len(data)}--{hashlib.md5(data).hexdigest()}.nii"
                lines.append(f"{rel} ../../.git/annex/objects/xx/yy/{key}/{key}")
    (mirror / "annex_keys.txt").write_text("\n".join(lines) + "\n")
    return mirror


def test_auto_uses_the_fixture_when_the_mirror_has_no_volumes():
    source, reason = choose_source("auto", DS003720, SELECTION)
    assert source == "fixture" and "no selected BOLD file" in reason


def test_auto_switches_to_real_data_once_every_selected_volume_is_in_the_mirror(tmp_path):
    mirror = _mirror_with_volumes(tmp_path, SELECTION)
    assert choose_source("auto", mirror, SELECTION)[0] == "real"
    dest = build_bids_tree(tmp_path / "bids", "real", SELECTION, mirror=mirror, base_url=None, fixture={})
    assert data_source(dest) == "real"
    for rel in SELECTION.bold_paths():
        assert (dest / rel).read_bytes() == (mirror / rel).read_bytes()
    assert bold_geometry(dest).shape == BOLD_SHAPE
    assert not (tmp_path / "bids.partial").exists()


def test_a_half_filled_mirror_is_an_error_naming_a_missing_file(tmp_path):
    mirror = _mirror_with_volumes(tmp_path, SELECTION)
    missing = layout.func_path("sub-001", "Test", 1, "bold.nii")
    (mirror / missing).unlink()
    with pytest.raises(FileNotFoundError, match="1 of the 2 selected BOLD files.*Test_run-01_bold.nii"):
        choose_source("auto", mirror, SELECTION)


def test_a_corrupt_volume_in_the_mirror_is_rejected_and_no_tree_is_left(tmp_path):
    mirror = _mirror_with_volumes(tmp_path, SELECTION)
    rel = layout.func_path("sub-001", "Training", 1, "bold.nii")
    data = bytearray((mirror / rel).read_bytes())
    data[0] ^= 0xFF
    (mirror / rel).write_bytes(bytes(data))
    with pytest.raises(FetchError, match="Training_run-01_bold.nii"):
        build_bids_tree(tmp_path / "bids", "real", SELECTION, mirror=mirror, base_url=None, fixture={})
    assert not (tmp_path / "bids").exists()
    assert not (tmp_path / "bids.partial" / rel).exists()  # the bad copy was not kept under the final name


def test_the_fixture_tree_is_labelled_and_reports_its_own_geometry(tmp_path):
    dest = build_bids_tree(tmp_path / "bids", "fixture", SELECTION, mirror=DS003720, base_url=None, fixture=TINY)
    assert data_source(dest) == "fixture"
    geometry = bold_geometry(dest)
    assert geometry.shape == (12, 12, 9, 20) and geometry.voxel_mm == 16.0
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*_bold.nii")) == sorted(SELECTION.bold_paths())


def test_unknown_source_or_fixture_key_is_a_clear_error():
    with pytest.raises(ValueError, match="music.data.source 'fake'"):
        choose_source("fake", DS003720, SELECTION)
    with pytest.raises(ValueError, match="unknown keys \\['voxels'\\]"):
        fixture_config(SELECTION, {"voxels": 3})
