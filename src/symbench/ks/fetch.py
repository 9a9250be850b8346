"""Fetch the KS list of reflexive 4-polytopes with 26 vertices (``v26.gz``), verified by its sha256."""

from __future__ import annotations

import logging
from pathlib import Path

from symbench import paths
from symbench.download import FetchError, fetch_verified

log = logging.getLogger(__name__)

UPSTREAM_URL = "http://quark.itp.tuwien.ac.at/~kreuzer/V/v26.gz"
V26_SHA256 = "cbade2915ea4d67c5b673bd3721446dcd7b1b5f11955e8e16c39633840254bbc"


def fetch_v26(dest: Path, *, mirror: str | Path | None, url: str, sha256: str, relpath: str = "ks/v26.gz") -> Path:
    """Put a verified ``v26.gz`` at ``dest``: from the mirror folder (``<mirror>/<relpath>`` or
    ``<mirror>/<basename>``; a relative folder is relative to the repository root) or else from ``url``."""
    candidates: list[Path] = []
    if mirror is not None:
        folder = paths.resolve(mirror).resolve()
        if not folder.is_dir():
            log.info("mirror folder %s does not exist; downloading instead", folder)
        # Listed even when missing: the first one is where a FetchError tells the user to put the file.
        candidates = list(dict.fromkeys([folder / relpath, folder / Path(relpath).name]))
    try:
        return fetch_verified(
            Path(dest), checksum=sha256, algorithm="sha256", mirrors=candidates, urls=[url] if url else []
        )
    except FetchError as e:
        hint = f" or set ks.fetch.mirror to a folder holding {relpath}"
        raise FetchError(f"{e}{hint}", e.attempts) from e
