"""Atomic file writes: a reader sees the old file or the complete new one, never half of one.

Every stage writes its outputs through these, so an interrupted run leaves nothing half-written behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success rename it onto ``dest``, on error delete it."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        tmp_path.chmod(0o644)  # mkstemp creates 0600; outputs are ordinary readable files
        os.replace(tmp_path, dest)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text_atomic(dest: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)


def write_json_atomic(dest: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON to ``dest`` atomically."""
    return write_text_atomic(dest, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_npz_atomic(dest: str | Path, **arrays: Any) -> Path:
    """Save arrays to a compressed ``.npz`` at ``dest`` atomically (no extension is appended)."""
    import numpy as np

    with atomic_path(dest) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return Path(dest)
