"""Measuring one step as a fresh process on a cold file: the shared plumbing of the music benches.

Each measured step runs in its own worker process (so peak RSS is that step's, and imports are not shared), after
the input file's pages are dropped from the page cache (so a "read" is a read from disk, not from memory).
"""

from __future__ import annotations

import importlib.metadata
import os
import resource
from collections.abc import Callable
from pathlib import Path
from typing import Any


def call_in_fresh_process(context: Any, worker: Callable[..., dict[str, Any]], task: str, *args: Any) -> dict:
    """``worker(task, *args)`` in a new process of the multiprocessing ``context``; its result."""
    with context.Pool(1) as pool:
        return pool.apply(worker, (task, *args))


def drop_cache(path: Path) -> None:
    """Evict ``path`` from the page cache (no-op where posix_fadvise is missing)."""
    if hasattr(os, "posix_fadvise"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)  # written pages must be clean to be dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def package_version(package: str) -> str | None:
    """The installed version of ``package``, or None."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
