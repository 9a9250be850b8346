"""GTZAN (Tzanetakis & Cook 2002), the audio the ds003720 excerpts were cut from: fetch, safe extraction, scan.

The tarball ``genres.tar.gz`` (1000 clips of ~30 s, 22,050 Hz mono 16-bit, ``genres/<genre>/<genre>.000NN.wav``)
comes from a local mirror first (``<mirror>/gtzan/genres.tar.gz``), else from the Hugging Face copy of the
Marsyas tarball, else from the original host; it must match ``GTZAN_SHA256`` whichever source gave it.
Known faults of real copies are recorded by ``scan_gtzan``, not raised: an undecodable clip (``jazz.00054`` in
some copies) and clips a little shorter than 30 s.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from symbench import paths
from symbench.download import FetchError, fetch_verified
from symbench.music.events import GTZAN_GENRES, N_TRACKS_PER_GENRE

log = logging.getLogger(__name__)

GTZAN_TARBALL = "genres.tar.gz"
GTZAN_MIRROR_RELPATH = "gtzan/genres.tar.gz"  # inside a mirror folder such as paths.SHARED_DATA
GTZAN_SHA256 = "24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6"
GTZAN_URLS = (
    "https://huggingface.co/datasets/marsyas/gtzan/resolve/main/data/genres.tar.gz",
    "http://opihi.cs.uvic.ca/sound/genres.tar.gz",
)
GTZAN_SAMPLE_RATE = 22050
GTZAN_CLIP_S = 30.0
AUDIO_SUFFIXES = (".wav", ".au")  # the Marsyas copies hold .wav; some older ones the same clips as Sun .au
SCAN_COLUMNS = (
    "genre", "track", "stem", "path", "exists", "readable", "sample_rate", "channels", "frames", "duration_s",
    "short", "error",
)  # fmt: skip


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the target folder, or is a link or a device; nothing was extracted."""


def fetch_gtzan(
    dest: str | Path,
    *,
    mirror: str | Path | None = paths.SHARED_DATA,
    urls: Sequence[str] = GTZAN_URLS,
    sha256: str = GTZAN_SHA256,
    timeout: float = 60.0,
) -> Path:
    """Put a verified ``genres.tar.gz`` at ``dest``: from ``<mirror>/gtzan/genres.tar.gz`` (or
    ``<mirror>/genres.tar.gz``; a relative mirror is relative to the repository root), else from ``urls``
    (downloads resume after an interruption). Raises FetchError saying where to put the file when offline."""
    candidates: list[Path] = []
    if mirror is not None:
        folder = paths.resolve(mirror).resolve()
        # Listed even when missing: the first one is where the FetchError tells the user to put the file.
        candidates = list(dict.fromkeys([folder / GTZAN_MIRROR_RELPATH, folder / GTZAN_TARBALL]))
    try:
        return fetch_verified(
            Path(dest), checksum=sha256, mirrors=candidates, urls=list(urls), timeout=timeout, resume=True
        )
    except FetchError as e:
        hint = (
            f" (the GTZAN tarball, sha256 {sha256}, e.g. from {GTZAN_URLS[0]}),"
            f" or pass a mirror folder holding {GTZAN_MIRROR_RELPATH}"
        )
        raise FetchError(f"{e}{hint}", e.attempts) from e


def extract_tarball(tarball: str | Path, target: str | Path) -> list[Path]:
    """Extract a (gzipped) tarball into the new folder ``target``; the regular files written.

    Only regular files and folders whose names stay inside ``target`` are accepted: an absolute name, a ``..``
    component, a symlink, a hard link, a device or a FIFO raises UnsafeArchiveError naming the member. Members are
    written into a hidden temporary folder beside ``target`` that is renamed onto it only when every member was
    extracted, so a refused or broken archive leaves neither ``target`` nor the temporary folder behind."""
    tarball, target = Path(tarball), Path(target)
    if target.exists():
        raise FileExistsError(f"{target}: extraction target exists; expected a new folder (remove it to re-extract)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".extracting", dir=target.parent))
    written: list[Path] = []
    try:
        with tarfile.open(tarball, "r:*") as archive:
            # One pass (a 1.2 GB .tar.gz is decompressed once): check each member, then extract it. Our check is
            # stricter than tarfile's "data" filter, which would strip a leading "/" and extract the member
            # anyway and accepts links that stay inside the folder; the filter still applies as a second line
            # (it also drops setuid/executable bits and owner ids) and does not depend on our check being right.
            for member in archive:
                relpath = _checked_member(tarball, member)
                archive.extract(member, tmp, filter="data")
                if member.isfile():
                    written.append(target / relpath)
        tmp.chmod(0o755)  # mkdtemp creates 0700
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("extracted %d files of %s into %s", len(written), tarball, target)
    return written


def extract_gtzan(tarball: str | Path, dest_root: str | Path) -> Path:
    """Extract the GTZAN tarball into ``dest_root`` (which then holds ``genres/``), safely and all-or-nothing;
    an existing ``dest_root`` is kept as it is. Returns ``dest_root``; check it with ``scan_gtzan``."""
    dest_root = Path(dest_root)
    if dest_root.exists():
        log.info("%s exists; not extracting %s again (remove it to re-extract)", dest_root, tarball)
        return dest_root
    extract_tarball(tarball, dest_root)
    if not (dest_root / "genres").is_dir():
        raise ValueError(f"{tarball}: expected members under genres/<genre>/, found no genres/ folder in {dest_root}")
    return dest_root


def clip_relpath(genre: str, track: int, suffix: str = ".wav") -> str:
    """A clip's path inside a GTZAN root, e.g. ``'genres/blues/blues.00014.wav'``."""
    return f"genres/{genre}/{clip_stem(genre, track)}{suffix}"


def clip_stem(genre: str, track: int) -> str:
    """A clip's file stem, e.g. ``'blues.00014'``."""
    return f"{genre}.{track:05d}"


def find_clip(root: str | Path, genre: str, track: int) -> Path | None:
    """The audio file of one clip under a GTZAN root (``.wav``, else ``.au``), or None when there is none."""
    for suffix in AUDIO_SUFFIXES:
        path = Path(root) / clip_relpath(genre, track, suffix)
        if path.is_file():
            return path
    return None


def scan_gtzan(root: str | Path, *, decode: bool = True, min_duration_s: float = GTZAN_CLIP_S) -> pd.DataFrame:
    """One row per expected clip (10 genres x 100, in ``GTZAN_GENRES`` order) of the tree under ``root``
    (the folder holding ``genres/``): whether it exists and can be read, sample rate, channels, frames,
    duration, ``short`` (below ``min_duration_s``) and the error text. Missing, unreadable and short clips are
    recorded, never raised. ``decode`` reads every sample too (catches truncated data, ~1.3 MB per clip)."""
    root = Path(root)
    if not (root / "genres").is_dir():
        log.warning("%s has no genres/ folder; every clip will be reported missing", root)
    rows = [_scan_clip(root, genre, track, decode) for genre in GTZAN_GENRES for track in range(N_TRACKS_PER_GENRE)]
    scan = pd.DataFrame.from_records(rows, columns=list(SCAN_COLUMNS)).astype({"duration_s": "float64"})
    scan["short"] = scan["readable"] & (scan["duration_s"] < min_duration_s)
    return scan.astype({"sample_rate": "Int64", "channels": "Int64", "frames": "Int64"})


def scan_summary(scan: pd.DataFrame) -> dict[str, Any]:
    """JSON-ready counts and lists of a ``scan_gtzan`` table, for a data report."""
    readable = scan[scan["readable"]]
    missing = scan[~scan["exists"]]
    unreadable = scan[scan["exists"] & ~scan["readable"]]
    short = scan[scan["short"]]
    return {
        "n_expected": len(scan),
        "n_present": int(scan["exists"].sum()),
        "n_readable": len(readable),
        "n_missing": len(missing),
        "n_unreadable": len(unreadable),
        "n_short": len(short),
        "missing": missing["stem"].tolist(),
        "unreadable": dict(zip(unreadable["stem"], unreadable["error"], strict=True)),
        "short": {s: round(float(d), 4) for s, d in zip(short["stem"], short["duration_s"], strict=True)},
        "sample_rates": {str(k): v for k, v in sorted(Counter(readable["sample_rate"].astype(int)).items())},
        "channels": {str(k): v for k, v in sorted(Counter(readable["channels"].astype(int)).items())},
        "duration_s": {
            "min": float(readable["duration_s"].min()) if len(readable) else None,
            "max": float(readable["duration_s"].max()) if len(readable) else None,
        },
        "per_genre_readable": {g: int(n) for g, n in readable.groupby("genre", sort=False).size().items()},
    }


def _checked_member(tarball: Path, member: tarfile.TarInfo) -> PurePosixPath:
    where = f"{tarball} member {member.name!r}"
    if member.issym() or member.islnk():
        raise UnsafeArchiveError(f"{where}: is a link (to {member.linkname!r}); expected regular files and folders")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"{where}: is a device, FIFO or other special file; expected regular files")
    name = PurePosixPath(member.name)
    if name.is_absolute() or member.name.startswith(("/", "\\")) or (name.parts and ":" in name.parts[0]):
        raise UnsafeArchiveError(f"{where}: absolute path; expected a path relative to the extraction folder")
    if ".." in name.parts or "\\" in member.name:
        raise UnsafeArchiveError(f"{where}: path escapes the extraction folder; expected no '..' components")
    return name


def _scan_clip(root: Path, genre: str, track: int, decode: bool) -> dict[str, Any]:
    stem = clip_stem(genre, track)
    path = find_clip(root, genre, track)
    row: dict[str, Any] = dict.fromkeys(SCAN_COLUMNS)
    row |= {"genre": genre, "track": track, "stem": stem, "exists": path is not None, "readable": False}
    row |= {"short": False, "duration_s": np.nan, "error": ""}
    if path is None:
        row |= {"path": clip_relpath(genre, track), "error": f"missing: expected {root / clip_relpath(genre, track)}"}
        return row
    row["path"] = path.relative_to(root).as_posix()
    try:
        info = sf.info(str(path))
        frames = info.frames
        if decode:
            data, _ = sf.read(str(path), dtype="float32", always_2d=True)
            if len(data) != info.frames:
                raise ValueError(f"header announces {info.frames} frames, {len(data)} decoded")
            if not np.isfinite(data).all():
                raise ValueError("non-finite samples")
            frames = len(data)
    except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as e:
        row["error"] = f"unreadable: {e}"
        log.warning("%s: %s", path, row["error"])
        return row
    row |= {"readable": True, "sample_rate": info.samplerate, "channels": info.channels, "frames": frames}
    row["duration_s"] = frames / info.samplerate
    return row
