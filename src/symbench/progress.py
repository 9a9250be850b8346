"""Progress bars for the long steps (downloads, extraction, feature computation, per-subject fits).

tqdm draws on a terminal and stays silent otherwise (CI logs, DVC stages run under a pipe), so logs get the
per-step ``logging`` lines only; ``SYMBENCH_PROGRESS=1`` forces the bars on, ``0`` off.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def bars_enabled() -> bool:
    """True on a terminal, or when ``SYMBENCH_PROGRESS=1``; False when ``SYMBENCH_PROGRESS=0``."""
    forced = os.environ.get("SYMBENCH_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    return sys.stderr.isatty()


def progress(items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """``items`` with a bar (when enabled)."""
    return iter(tqdm(items, desc=desc, total=total, unit=unit, disable=not bars_enabled(), leave=False))


def byte_bar(desc: str, total: int | None, initial: int = 0) -> tqdm:
    """A bar counting bytes (``bar.update(n)``), for downloads; a disabled bar when bars are off."""
    return tqdm(
        desc=desc, total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
        disable=not bars_enabled(), leave=False,
    )  # fmt: skip
