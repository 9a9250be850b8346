"""Parser for the Kreuzer-Skarke / PALP text format of reflexive 4-polytopes (the upstream ``v26.gz``).

Each entry is a header ``4 26  M:51 26 N:11 10 H:6,46 [-80]`` (matrix shape; lattice points and vertices of
the polytope; points and vertices of its dual; Hodge numbers h11,h21 of the Calabi-Yau threefold; Euler
number) followed by the vertex matrix, one row per line. A few entries are written transposed (``26 4``, one
vertex per line); they are stored as 4 x n like the rest, with ``transposed`` recording the file's layout.
PALP ends its output with ``#NF: <count>`` and a timing line: the count is checked, the rest ignored.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

import numpy as np

log = logging.getLogger(__name__)

DIM = 4
GZIP_MAGIC = b"\x1f\x8b"
HEADER_EXAMPLE = "4 26  M:51 26 N:11 10 H:6,46 [-80]"

_HEADER = re.compile(
    r"(\d+)\s+(\d+)\s+M:\s*(\d+)\s+(\d+)\s+N:\s*(\d+)\s+(\d+)\s+H:\s*(\d+)\s*,\s*(\d+)\s*\[\s*([-+]?\d+)\s*\]",
    re.ASCII,
)
_INT_TOKEN = re.compile(r"[-+]?\d+", re.ASCII)
_SIGN_WITHOUT_DIGIT = re.compile(r"[-+](?!\d)")
_NF_TRAILER = re.compile(r"#\s*NF:\s*(\d+)", re.ASCII)
_INT8_MIN, _INT8_MAX = np.iinfo(np.int8).min, np.iinfo(np.int8).max


class KSFormatError(ValueError):
    """The input is not valid KS text (or a saved KSPolytopes file is incomplete); names file and line."""


@dataclass(frozen=True, eq=False)
class KSPolytopes:
    """All entries of one KS file: vertex matrices (always 4 x n) and header numbers, one row per entry."""

    vertices: np.ndarray  # (N, 4, n) int8
    h11: np.ndarray  # (N,) int32
    h21: np.ndarray  # (N,) int32
    chi: np.ndarray  # (N,) int32, Euler number 2 (h11 - h21)
    n_points: np.ndarray  # (N,) int32, lattice points of the polytope (M:<points>)
    n_vertices: np.ndarray  # (N,) int32, its vertices (M:.. <vertices>)
    dual_points: np.ndarray  # (N,) int32, lattice points of the dual (N:<points>)
    dual_vertices: np.ndarray  # (N,) int32, its vertices (N:.. <vertices>)
    transposed: np.ndarray  # (N,) bool, written n x 4 in the file

    def __post_init__(self) -> None:
        n = len(self.vertices)
        if self.vertices.ndim != 3 or self.vertices.shape[1] != DIM:
            raise ValueError(f"vertices must have shape (N, {DIM}, n), got {self.vertices.shape}")
        for f in fields(self)[1:]:
            column = getattr(self, f.name)
            if column.shape != (n,):
                raise ValueError(f"{f.name} must have shape ({n},) like vertices, got {column.shape}")

    def __len__(self) -> int:
        return len(self.vertices)

    def save(self, path: str | Path) -> None:
        """Write a compressed ``.npz`` atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **{fl.name: getattr(self, fl.name) for fl in fields(self)})
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> KSPolytopes:
        """Read a file written by :meth:`save`; a missing key or wrong shape is a KSFormatError naming it."""
        names = [f.name for f in fields(cls)]
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in names if k not in data.files]
            if missing:
                raise KSFormatError(f"{path}: missing arrays {missing}; expected {names}")
            arrays = {k: data[k] for k in names}
        try:
            return cls(**arrays)
        except ValueError as e:
            raise KSFormatError(f"{path}: {e}") from e


def read_ks_file(path: str | Path, n_vertices: int = 26) -> KSPolytopes:
    """Parse a KS text file, gzip-compressed or not (told apart by the magic bytes, not the name)."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise KSFormatError(f"{path} line {line}: expected ASCII text, got byte {raw[e.start]:#04x}") from e
    return parse_ks(text.splitlines(), source=str(path), n_vertices=n_vertices)


def parse_ks(lines: Iterable[str], *, source: str = "<input>", n_vertices: int = 26) -> KSPolytopes:
    """Parse KS text lines into a KSPolytopes; any malformed entry raises KSFormatError naming its line."""
    numbered = _content_lines(lines)
    headers: list[tuple[int, ...]] = []
    rows: list[_Row] = []
    declared_count: tuple[int, int] | None = None

    for lineno, line in numbered:
        if line.startswith("#"):
            if m := _NF_TRAILER.fullmatch(line):
                declared_count = (lineno, int(m.group(1)))
                break  # PALP's trailer; what follows is its timing line
            continue
        header = _parse_header(line, lineno, source, n_vertices)
        rows.extend(_read_rows(numbered, lineno, header[0], header[1], source))
        headers.append(header)

    if declared_count is not None:
        trailer_line, count = declared_count
        if count != len(headers):
            raise KSFormatError(f"{source} line {trailer_line}: trailer says {count} entries, parsed {len(headers)}")
    if not headers:
        raise KSFormatError(f"{source}: no entries found; expected headers like '{HEADER_EXAMPLE}'")

    h = np.asarray(headers, dtype=np.int32).T.copy()  # one contiguous row per header field
    transposed = h[0] != DIM
    # Both layouts hold 4 * n numbers per entry, so the file's numbers split evenly into entries.
    matrices = _parse_integers(rows, source).reshape(len(headers), -1)
    vertices = matrices.reshape(len(headers), DIM, n_vertices).copy()
    vertices[transposed] = matrices[transposed].reshape(-1, n_vertices, DIM).transpose(0, 2, 1)
    polytopes = KSPolytopes(
        vertices=vertices,
        n_points=h[2],
        n_vertices=h[3],
        dual_points=h[4],
        dual_vertices=h[5],
        h11=h[6],
        h21=h[7],
        chi=h[8],
        transposed=transposed,
    )
    log.info("%s: %d polytopes (%d written transposed)", source, len(polytopes), transposed.sum())
    return polytopes


class _Row(NamedTuple):
    lineno: int
    text: str
    n_ints: int


def _content_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped line) of every non-blank line."""
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped:
            yield lineno, stripped


def _parse_header(line: str, lineno: int, source: str, n: int) -> tuple[int, ...]:
    """(rows, cols, points, vertices, dual points, dual vertices, h11, h21, chi), checked."""
    m = _HEADER.fullmatch(line)
    if m is None:
        raise KSFormatError(f"{source} line {lineno}: expected a header like '{HEADER_EXAMPLE}', got {_shorten(line)}")
    header = tuple(map(int, m.groups()))
    rows, cols, _, vertices, _, _, h11, h21, chi = header
    if (rows, cols) not in ((DIM, n), (n, DIM)):
        raise KSFormatError(
            f"{source} line {lineno}: expected a {DIM}x{n} or {n}x{DIM} matrix, header says {rows}x{cols}"
        )
    if vertices != n:
        raise KSFormatError(
            f"{source} line {lineno}: header says the polytope has {vertices} vertices "
            f"(M:{header[2]} {vertices}), expected {n}, the number of matrix columns"
        )
    if chi != 2 * (h11 - h21):
        raise KSFormatError(
            f"{source} line {lineno}: Euler number [{chi}] != 2*(h11 - h21) = 2*({h11} - {h21}) = {2 * (h11 - h21)}"
        )
    return header


def _read_rows(
    numbered: Iterator[tuple[int, str]], header_line: int, n_rows: int, cols: int, source: str
) -> list[_Row]:
    """The next ``n_rows`` lines of the entry whose header is at ``header_line``; token counts checked."""
    rows = []
    for i in range(n_rows):
        try:
            lineno, line = next(numbered)
        except StopIteration:
            raise KSFormatError(
                f"{source} line {header_line}: entry truncated: expected {n_rows} rows of {cols} integers, "
                f"the input ends after {i}"
            ) from None
        if ":" in line or line.startswith("#"):
            raise KSFormatError(
                f"{source} line {lineno}: expected {cols} integers (row {i + 1} of {n_rows} of the entry at "
                f"line {header_line}), got {_shorten(line)}"
            )
        row = _Row(lineno, line, cols)
        if len(line.split()) != cols:
            _check_row(row, source)  # raises, naming a bad token before a wrong count
        rows.append(row)
    return rows


def _parse_integers(rows: list[_Row], source: str) -> np.ndarray:
    """All rows' integers as one int8 array, parsed in C; the slow per-row check runs only on failure."""
    expected = sum(row.n_ints for row in rows)
    text = " ".join(row.text for row in rows)
    values = None
    # fromstring rejects most non-integer tokens (a ValueError since numpy 2.3, a DeprecationWarning before),
    # but reads a lone sign as 0: rule that out first.
    if not _SIGN_WITHOUT_DIGIT.search(text):
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            try:
                values = np.fromstring(text, dtype=np.int64, sep=" ")
            except (DeprecationWarning, ValueError):
                values = None
    ok = (
        values is not None
        and values.size == expected
        and (values.size == 0 or (values.min() >= _INT8_MIN and values.max() <= _INT8_MAX))
    )
    if not ok:
        for row in rows:
            _check_row(row, source)
        raise KSFormatError(f"{source}: could not parse the matrix rows, but no row is malformed on its own")
    return values.astype(np.int8)


def _check_row(row: _Row, source: str) -> None:
    """Raise KSFormatError naming the line if the row is not ``n_ints`` integers that fit int8."""
    tokens = row.text.split()
    bad = [t for t in tokens if not _INT_TOKEN.fullmatch(t)]
    if bad:
        raise KSFormatError(
            f"{source} line {row.lineno}: expected {row.n_ints} integers, got non-integer token {bad[0]!r}"
        )
    if len(tokens) != row.n_ints:
        raise KSFormatError(f"{source} line {row.lineno}: expected {row.n_ints} integers, got {len(tokens)}")
    out_of_range = [t for t in tokens if not _INT8_MIN <= int(t) <= _INT8_MAX]
    if out_of_range:
        raise KSFormatError(
            f"{source} line {row.lineno}: expected integers in [{_INT8_MIN}, {_INT8_MAX}] (int8), got {out_of_range[0]}"
        )


def _shorten(line: str, width: int = 60) -> str:
    return repr(line if len(line) <= width else line[: width - 3] + "...")
