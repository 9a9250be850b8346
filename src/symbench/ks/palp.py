"""Independent check of the KS labels: recompute (h11, h21) of every polytope with PALP's ``poly-4d.x -g``.

PALP (Kreuzer and Skarke's Package for Analyzing Lattice Polytopes, Debian package ``palp``) produced the
upstream file, so its ``-g`` output for a vertex matrix is the same header line without the matrix shape:
``M:51 26 N:11 10 H:6,46 [-80]``. Input is PALP's own format, ``4 26`` then 4 rows of 26 integers, many
polytopes one after another; ``-f`` (filter) silences the interactive prompts PALP writes to stdout otherwise.

PALP reports some failures only through its output: it exits 0 after printing ``Identical points in
Vec_Greater_Than !!``, prints ``M:7 5 F:5`` for a polytope that is not reflexive, and stops silently at a blank
line or a truncated matrix. So every output line is parsed strictly and the number of lines must match the input.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EXECUTABLE = "poly-4d.x"
OPTIONS = "-gf"  # g: general output (points, vertices, Hodge numbers); f: filter, no prompts
DIM = 4
OUTPUT_EXAMPLE = "M:51 26 N:11 10 H:6,46 [-80]"

_OUTPUT_LINE = re.compile(r"M:(\d+) (\d+) N:(\d+) (\d+) H:(\d+),(\d+) \[(-?\d+)\]", re.ASCII)
_NOT_REFLEXIVE = re.compile(r"M:\d+ \d+ F:\d+", re.ASCII)


class PALPError(RuntimeError):
    """PALP failed or printed something other than one reflexive-polytope line per input; names the line."""


@dataclass(frozen=True)
class HodgeMismatch:
    """One entry whose header Hodge numbers differ from PALP's."""

    index: int  # row in the checked arrays
    expected: tuple[int, int]  # (h11, h21) from the KS header
    palp: tuple[int, int]  # (h11, h21) from poly-4d.x -g


@dataclass(frozen=True)
class HodgeComparison:
    """Result of comparing header labels with PALP's; ``first_mismatches`` holds at most ``max_reported``."""

    n_checked: int
    n_mismatched: int
    first_mismatches: list[HodgeMismatch] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.n_mismatched == 0


def find_palp() -> Path | None:
    """The ``poly-4d.x`` executable on PATH, or None where PALP is not installed."""
    found = shutil.which(EXECUTABLE)
    return Path(found) if found else None


def palp_version(executable: Path) -> str | None:
    """The Debian package version of ``executable`` (PALP has no --version), or None if dpkg does not know it."""
    try:
        owner = subprocess.run(
            ["dpkg-query", "--search", str(Path(executable).resolve())], capture_output=True, text=True, check=True
        ).stdout
        package = owner.split(":", 1)[0].strip()
        return subprocess.run(
            ["dpkg-query", "--show", "--showformat=${Version}", package], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def palp_hodge_numbers(vertices: np.ndarray, *, executable: Path, chunk: int = 20_000) -> np.ndarray:
    """(h11, h21) of each polytope (N, 4, n) as PALP computes them, shape (N, 2); ``chunk`` polytopes per call."""
    vertices = np.asarray(vertices)
    if vertices.ndim != 3 or vertices.shape[1] != DIM or vertices.shape[2] == 0:
        raise ValueError(f"vertices must have shape (N, {DIM}, n) with n >= 1, got {vertices.shape}")
    if not np.issubdtype(vertices.dtype, np.integer):
        raise ValueError(f"vertices must be integers, got dtype {vertices.dtype}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    hodge = np.empty((len(vertices), 2), dtype=np.int64)
    for start in range(0, len(vertices), chunk):
        stop = min(start + chunk, len(vertices))
        output = _run_palp(executable, format_palp_input(vertices[start:stop]))
        hodge[start:stop] = parse_palp_output(output, n_expected=stop - start, first_index=start)
        log.debug("PALP: entries %d..%d done", start, stop - 1)
    return hodge


def compare_hodge_numbers(
    expected_h11: np.ndarray, expected_h21: np.ndarray, palp: np.ndarray, *, max_reported: int = 10
) -> HodgeComparison:
    """Compare header labels (N,), (N,) with PALP's (N, 2); lists the first ``max_reported`` mismatches."""
    expected = np.stack([np.asarray(expected_h11), np.asarray(expected_h21)], axis=1)
    palp = np.asarray(palp)
    if palp.shape != expected.shape:
        raise ValueError(f"PALP's Hodge numbers have shape {palp.shape}, expected {expected.shape} like the labels")
    bad = np.flatnonzero((expected != palp).any(axis=1))
    mismatches = [
        HodgeMismatch(int(i), (int(expected[i, 0]), int(expected[i, 1])), (int(palp[i, 0]), int(palp[i, 1])))
        for i in bad[:max_reported]
    ]
    return HodgeComparison(n_checked=len(expected), n_mismatched=len(bad), first_mismatches=mismatches)


def format_palp_input(vertices: np.ndarray) -> bytes:
    """PALP's input text for (N, 4, n) integer matrices: per polytope ``4 n`` then 4 rows, built without a loop."""
    n_polytopes, _, n = vertices.shape
    lo, hi = int(vertices.min(initial=0)), int(vertices.max(initial=0))
    width = max(len(str(lo)), len(str(hi))) + 1
    # One fixed-width token per value in [lo, hi], looked up for all entries at once.
    table = np.frombuffer("".join(f"{v:>{width}}" for v in range(lo, hi + 1)).encode("ascii"), dtype=np.uint8)
    tokens = table.reshape(-1, width)[vertices.astype(np.int64) - lo]  # (N, 4, n, width)
    rows = tokens.reshape(n_polytopes, DIM, n * width)
    newline = np.full((n_polytopes, DIM, 1), ord("\n"), dtype=np.uint8)
    body = np.concatenate([rows, newline], axis=2).reshape(n_polytopes, -1)
    header = np.frombuffer(f"{DIM} {n}\n".encode("ascii"), dtype=np.uint8)
    text = np.concatenate([np.broadcast_to(header, (n_polytopes, len(header))), body], axis=1)
    return text.tobytes()


def parse_palp_output(text: str, *, n_expected: int, first_index: int = 0) -> np.ndarray:
    """(h11, h21) per line of ``poly-4d.x -g`` output, shape (n_expected, 2); anything else is a PALPError.

    ``first_index`` is the entry number of the first line, so errors name the entry in the caller's arrays.
    """
    lines = text.splitlines()
    hodge = np.empty((n_expected, 2), dtype=np.int64)
    for k, line in enumerate(lines[:n_expected]):
        m = _OUTPUT_LINE.fullmatch(line.strip())
        if m is None:
            hint = " (PALP says the polytope is not reflexive)" if _NOT_REFLEXIVE.fullmatch(line.strip()) else ""
            raise PALPError(
                f"{EXECUTABLE} {OPTIONS} output line {k + 1} (entry {first_index + k}): expected a line like "
                f"'{OUTPUT_EXAMPLE}' (M:points vertices N:dual points vertices H:h11,h21 [chi]), "
                f"got {_shorten(line)}{hint}"
            )
        hodge[k] = int(m.group(5)), int(m.group(6))
    if len(lines) != n_expected:
        raise PALPError(
            f"{EXECUTABLE} {OPTIONS}: expected {n_expected} output lines (entries {first_index}.."
            f"{first_index + n_expected - 1}), got {len(lines)}"
            + (f"; first extra line {_shorten(lines[n_expected])}" if len(lines) > n_expected else "")
        )
    return hodge


def _run_palp(executable: Path, stdin: bytes) -> str:
    """Run ``executable -gf`` on ``stdin``; a non-zero exit is a PALPError carrying PALP's stderr."""
    result = subprocess.run([str(executable), OPTIONS], input=stdin, capture_output=True, check=False)
    if result.returncode != 0:
        stderr = result.stderr.decode("ascii", errors="replace").strip() or "<empty>"
        raise PALPError(f"{executable} {OPTIONS} exited with status {result.returncode}; stderr: {stderr}")
    return result.stdout.decode("ascii", errors="replace")


def _shorten(line: str, width: int = 80) -> str:
    return repr(line if len(line) <= width else line[: width - 3] + "...")
