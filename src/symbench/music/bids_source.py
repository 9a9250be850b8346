"""Which ds003720 tree the brain stages read: the real volumes (mirror, then OpenNeuro) or the synthetic fixture.

``source: auto`` takes the real data exactly when every selected BOLD file is in the mirror, so placing the volumes
there switches the whole study to real data with no code change; a mirror holding only some of them is an error
(it is neither a clean real run nor a clean fixture run). Whatever is chosen, :func:`data_source` tells every later
stage what it reads, from ``FIXTURE.json``, so no number derived from the fixture can lose its label.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from symbench.music import layout
from symbench.music.fetch_openneuro import fetch_ds003720
from symbench.music.fixture import FixtureConfig, generate_fixture, read_fixture_manifest
from symbench.music.nifti_check import BOLD_SHAPE, BOLD_VOXEL_MM

log = logging.getLogger(__name__)

Source = Literal["real", "fixture"]
SOURCES = ("auto", "real", "fixture")


@dataclass(frozen=True)
class BidsSelection:
    """Subjects and ``{task: runs}`` the study reads."""

    subjects: tuple[str, ...]  # labels, e.g. "sub-001"
    runs: Mapping[str, Sequence[int]]

    def bold_paths(self) -> list[str]:
        """Relative paths of the selected BOLD files."""
        chosen = layout.select_runs(self.runs)
        return [
            layout.func_path(sub, task, run, "bold.nii")
            for sub in self.subjects
            for task, numbers in chosen.items()
            for run in numbers
        ]


@dataclass(frozen=True)
class BoldGeometry:
    """What every selected BOLD file must look like: 4-D shape and spatial voxel size."""

    shape: tuple[int, int, int, int]
    voxel_mm: float


def choose_source(requested: str, mirror: Path, selection: BidsSelection) -> tuple[Source, str]:
    """``(source, reason)`` for ``requested`` in auto / real / fixture; raises when the mirror is half-filled."""
    if requested not in SOURCES:
        raise ValueError(f"music.data.source {requested!r}: expected one of {', '.join(SOURCES)}")
    if requested != "auto":
        return requested, f"music.data.source is {requested}"  # type: ignore[return-value]
    wanted = selection.bold_paths()
    present = [rel for rel in wanted if (mirror / rel).is_file()]
    if len(present) == len(wanted):
        return "real", f"all {len(wanted)} selected BOLD files are in the mirror {mirror}"
    if present:
        missing = sorted(set(wanted) - set(present))
        raise FileNotFoundError(
            f"{mirror}: holds {len(present)} of the {len(wanted)} selected BOLD files; expected all or none "
            f"(first missing: {missing[0]}). Add the rest, or set music.data.source to real (download) or fixture."
        )
    return "fixture", f"no selected BOLD file in the mirror {mirror}: using the synthetic fixture"


def build_bids_tree(
    dest: Path,
    source: Source,
    selection: BidsSelection,
    *,
    mirror: Path,
    base_url: str | None,
    fixture: Mapping[str, Any],
) -> Path:
    """Write the BIDS tree at ``dest`` via ``<dest>.partial`` (renamed when complete; a real fetch resumes there)."""
    partial = dest.with_name(dest.name + ".partial")
    if source == "fixture":
        shutil.rmtree(partial, ignore_errors=True)  # regenerated from scratch: deterministic
        generate_fixture(partial, mirror, fixture_config(selection, fixture))
    else:
        fetch_ds003720(partial, subjects=selection.subjects, runs=selection.runs, mirror=mirror, base_url=base_url)
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest


def fixture_config(selection: BidsSelection, overrides: Mapping[str, Any]) -> FixtureConfig:
    """The fixture's config: the selection's subjects and runs plus ``overrides`` (FixtureConfig fields)."""
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    unknown = sorted(set(fields) - set(FixtureConfig.__dataclass_fields__))
    if unknown:
        raise ValueError(f"music.data.fixture: unknown keys {unknown}; expected FixtureConfig fields")
    runs = {task: list(numbers) for task, numbers in selection.runs.items()}
    return replace(FixtureConfig(), subjects=tuple(selection.subjects), runs=runs, **fields)


def data_source(bids_root: Path) -> Source:
    """``'fixture'`` when the tree carries the fixture's FIXTURE.json, else ``'real'``."""
    return "fixture" if read_fixture_manifest(bids_root) is not None else "real"


def bold_geometry(bids_root: Path) -> BoldGeometry:
    """The real files' 96x96x68x410 of 2 mm, or the fixture's generated shape (its manifest's parameters)."""
    manifest = read_fixture_manifest(bids_root)
    if manifest is None:
        return BoldGeometry(BOLD_SHAPE, BOLD_VOXEL_MM)  # type: ignore[arg-type]
    params = manifest["parameters"]
    return BoldGeometry((*params["shape"], params["n_volumes"]), float(params["voxel_mm"]))  # type: ignore[arg-type]
