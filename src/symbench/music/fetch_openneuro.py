"""Fetch selected files of OpenNeuro ds003720 v1.0.1 into a BIDS folder: from a local mirror, else from S3.

NIfTI volumes are checked against their git-annex size and MD5 (``annex_keys.txt``) and downloads of them resume
after an interruption. The metadata files (events.tsv, JSON sidecars, dataset_description.json, README, CHANGES)
are small git files with no published checksum: they are copied or downloaded atomically but not verified.
"""

from __future__ import annotations

import http.client
import logging
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from symbench.atomic import atomic_path
from symbench.download import FetchError, fetch_verified
from symbench.music import layout
from symbench.music.annex_keys import AnnexEntry, read_annex_keys

log = logging.getLogger(__name__)

# The bucket holds the latest snapshot, which is 1.0.1 (CHANGES, 2023-08-23); the MD5s pin the version anyway.
BASE_URL = "https://s3.amazonaws.com/openneuro.org/ds003720"


@dataclass(frozen=True)
class PlannedFile:
    """One file of a selection: its path relative to the dataset root and, for annexed files, size and MD5."""

    relpath: str
    annex: AnnexEntry | None


def plan_files(
    annex: Mapping[str, AnnexEntry],
    *,
    subjects: Iterable[int | str],
    runs: Mapping[str, Sequence[int]] | None = None,
    anat: bool = False,
) -> list[PlannedFile]:
    """The files of a selection: top-level metadata, then per subject (T1w and) each run's BOLD, sidecar, events."""
    chosen = layout.select_runs(runs)
    files = [PlannedFile(name, None) for name in layout.TOP_LEVEL_FILES]
    for subject in subjects:
        sub = layout.subject_label(subject)
        if sub not in layout.SUBJECTS:
            raise ValueError(f"subject {subject!r}: ds003720 has {', '.join(layout.SUBJECTS)}")
        if anat:
            files += [
                _annexed(annex, layout.anat_path(sub, "T1w.nii")),
                PlannedFile(layout.anat_path(sub, "T1w.json"), None),
            ]
        for task, numbers in chosen.items():
            for run in numbers:
                files.append(_annexed(annex, layout.func_path(sub, task, run, "bold.nii")))
                files += [PlannedFile(layout.func_path(sub, task, run, s), None) for s in ("bold.json", "events.tsv")]
    return files


def fetch_ds003720(
    dest_root: str | Path,
    *,
    subjects: Iterable[int | str],
    runs: Mapping[str, Sequence[int]] | None = None,
    anat: bool = False,
    mirror: str | Path | None = None,
    annex_keys: str | Path | None = None,
    base_url: str | None = BASE_URL,
    timeout: float = 60.0,
) -> list[Path]:
    """Put the selected files under ``dest_root`` at their dataset paths; ``runs``: {task: run numbers}, default all.
    ``annex_keys`` defaults to ``<mirror>/annex_keys.txt``; ``base_url=None`` is offline. Raises FetchError."""
    dest_root = Path(dest_root)
    mirror_root = Path(mirror) if mirror is not None else None
    if annex_keys is None:
        if mirror_root is None:
            raise ValueError("annex_keys: expected the path of annex_keys.txt (or a mirror folder holding it)")
        annex_keys = mirror_root / "annex_keys.txt"
    files = plan_files(read_annex_keys(annex_keys), subjects=subjects, runs=runs, anat=anat)
    fetched = []
    for i, planned in enumerate(files, start=1):
        log.info("[%d/%d] %s", i, len(files), planned.relpath)
        fetched.append(fetch_one(planned, dest_root, mirror=mirror_root, base_url=base_url, timeout=timeout))
    return fetched


def fetch_one(
    planned: PlannedFile, dest_root: Path, *, mirror: Path | None, base_url: str | None, timeout: float = 60.0
) -> Path:
    """Fetch one planned file: verified and resumable when it is annexed, copied as is when it is metadata."""
    dest = dest_root / planned.relpath
    mirrors = [mirror / planned.relpath] if mirror is not None else []
    urls = [f"{base_url.rstrip('/')}/{planned.relpath}"] if base_url else []
    hint = f"(or pass mirror= a folder holding {planned.relpath})"
    if planned.annex is None:
        return _fetch_metadata(dest, mirrors, urls, timeout, hint)
    try:
        return fetch_verified(
            dest,
            checksum=planned.annex.md5,
            algorithm="md5",
            size=planned.annex.size,
            mirrors=mirrors,
            urls=urls,
            timeout=timeout,
            resume=True,
        )
    except FetchError as e:
        raise FetchError(f"{layout.DATASET} {planned.relpath}: {e} {hint}", e.attempts) from e


def _annexed(annex: Mapping[str, AnnexEntry], relpath: str) -> PlannedFile:
    if relpath not in annex:
        raise ValueError(f"{relpath}: not in the annex key list; expected one of its {len(annex)} paths")
    return PlannedFile(relpath, annex[relpath])


def _fetch_metadata(dest: Path, mirrors: Sequence[Path], urls: Sequence[str], timeout: float, hint: str) -> Path:
    # No checksum exists for these files, so an existing destination is kept as it is.
    if dest.is_file():
        log.debug("%s present (metadata: no checksum to verify)", dest)
        return dest
    attempts = []
    for mirror in mirrors:
        if not mirror.is_file():
            attempts.append(f"mirror {mirror}: not found")
            continue
        with atomic_path(dest) as tmp:
            shutil.copyfile(mirror, tmp)
        log.debug("copied %s from mirror %s (unverified metadata)", dest, mirror)
        return dest
    for url in urls:
        try:
            _download_unverified(url, dest, timeout)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            reason = str(e.reason) if type(e) is urllib.error.URLError else str(e) or type(e).__name__
            attempts.append(f"{url}: {reason}")
            log.warning("download from %s failed: %s", url, reason)
            continue
        log.info("downloaded %s from %s (unverified metadata)", dest, url)
        return dest
    tried = "\n".join(f"  - {a}" for a in attempts) or "  (no mirror and no URL given)"
    by_hand = mirrors[0] if mirrors else dest
    raise FetchError(
        f"{layout.DATASET} {dest.name}: could not fetch it; tried:\n{tried}\noffline? place {dest.name} at {by_hand} "
        f"{hint}",
        attempts,
    )


def _download_unverified(url: str, dest: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(dest) as tmp:
        declared = response.headers.get("Content-Length")
        with open(tmp, "wb") as out:
            shutil.copyfileobj(response, out)
        received = tmp.stat().st_size
        if declared is not None and declared.isdigit() and int(declared) != received:
            raise OSError(f"transfer broke off: {received} of {declared} bytes")
