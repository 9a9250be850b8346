"""Verified, atomic fetching of raw data files, from a local mirror or over HTTP(S).

A file only ever appears at its destination after its checksum (and size, where known) matched; a failed
attempt leaves neither the file nor a temporary file behind, except that a resumable download keeps the bytes
it received under a hidden ``.<name>.part`` beside ``dest`` so the next attempt continues them (HTTP ``Range``).
Shared by the KS and music studies.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from symbench.progress import byte_bar

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
RESUME_RETRIES = 3  # a resumable transfer that broke off after making progress is continued this often per URL


class FetchError(RuntimeError):
    """No source yielded a file with the expected checksum; ``attempts`` says what each source gave."""

    def __init__(self, message: str, attempts: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.attempts = list(attempts)


def fetch_verified(
    dest: Path,
    *,
    checksum: str,
    algorithm: str = "sha256",
    mirrors: Sequence[Path] = (),
    urls: Sequence[str] = (),
    timeout: float = 60.0,
    size: int | None = None,
    resume: bool = False,
) -> Path:
    """Make ``dest`` hold the file with ``checksum``: keep a valid existing file, else copy the first valid
    mirror file, else download the first URL that yields it. Raises FetchError when no source does.

    With ``resume``, downloads continue a partial file left by an earlier attempt (see ``partial_path``)."""
    dest = Path(dest)
    expected = _normalise_checksum(checksum, algorithm)
    attempts: list[str] = []

    if dest.is_file():
        problem = _verify_file(dest, expected, algorithm, size)
        if problem is None:
            log.debug("%s present and verified (%s)", dest, algorithm)
            if resume:
                partial_path(dest).unlink(missing_ok=True)
            return dest
        log.warning("existing %s fails verification (%s); fetching it again", dest, problem)
        attempts.append(f"existing {dest}: {problem}")

    for mirror in mirrors:
        mirror = Path(mirror)
        if not mirror.is_file():
            attempts.append(f"mirror {mirror}: not found")
            log.debug("mirror %s not found", mirror)
            continue
        try:
            _copy_from_mirror(mirror, dest, expected, algorithm, size)
        except (_SourceError, OSError) as e:
            attempts.append(f"mirror {mirror}: {e}")
            log.warning("mirror %s rejected: %s", mirror, e)
            continue
        log.info("copied %s from mirror %s (%s verified)", dest, mirror, algorithm)
        if resume:
            partial_path(dest).unlink(missing_ok=True)
        return dest

    for url in urls:
        try:
            if resume:
                _download_resumable(url, dest, expected, algorithm, size, timeout)
            else:
                _download(url, dest, expected, algorithm, size, timeout)
        except (_SourceError, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            reason = _describe(e)
            attempts.append(f"{url}: {reason}")
            log.warning("download from %s failed: %s", url, reason)
            continue
        log.info("downloaded %s from %s (%s verified)", dest, url, algorithm)
        return dest

    raise FetchError(_failure_message(dest, expected, algorithm, mirrors, attempts), attempts)


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in chunks."""
    with open(path, "rb") as f:
        return _hash_stream(f, algorithm, sink=None)[0]


def partial_path(dest: str | Path) -> Path:
    """Where a resumable download of ``dest`` keeps the bytes received so far, until they verify."""
    dest = Path(dest)
    return dest.parent / f".{dest.name}.part"


class _SourceError(Exception):
    """One source gave a file that does not verify (wrong size or checksum)."""


class _IncompleteTransferError(_SourceError):
    """Fewer bytes arrived than announced or expected; the partial file is kept for resuming."""


def _normalise_checksum(checksum: str, algorithm: str) -> str:
    if algorithm not in hashlib.algorithms_available:
        raise ValueError(f"unknown hash algorithm {algorithm!r}; expected e.g. 'sha256' or 'md5'")
    expected = checksum.strip().lower()
    n_hex = hashlib.new(algorithm).digest_size * 2
    if len(expected) != n_hex or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(f"checksum {checksum!r} is not a {algorithm} hex digest ({n_hex} hex digits)")
    return expected


def _verify_file(path: Path, expected: str, algorithm: str, size: int | None) -> str | None:
    """None when the file verifies, else what is wrong with it."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"size mismatch: expected {size} bytes, got {actual_size}"
    actual = file_digest(path, algorithm)
    if actual != expected:
        return f"{algorithm} mismatch: expected {expected}, got {actual}"
    return None


def _copy_from_mirror(src: Path, dest: Path, expected: str, algorithm: str, size: int | None) -> None:
    # Cheap size check first; the hash is computed on the bytes as they are written, so what lands at dest is
    # exactly what was verified.
    actual_size = src.stat().st_size
    if size is not None and actual_size != size:
        raise _SourceError(f"size mismatch: expected {size} bytes, got {actual_size} (truncated or wrong file?)")
    with open(src, "rb") as f:
        _write_verified(f, dest, expected, algorithm, size)


def _download(url: str, dest: Path, expected: str, algorithm: str, size: int | None, timeout: float) -> None:
    log.info("downloading %s -> %s", url, dest)
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        declared = response.headers.get("Content-Length")
        if size is not None and declared is not None and declared.isdigit() and int(declared) != size:
            raise _SourceError(f"size mismatch: server announces {declared} bytes, expected {size}")
        n_bytes = _write_verified(response, dest, expected, algorithm, size)
    log.info("%d bytes in %.1f s", n_bytes, time.monotonic() - start)


def _download_resumable(url: str, dest: Path, expected: str, algorithm: str, size: int | None, timeout: float) -> None:
    part = partial_path(dest)
    for attempt in range(RESUME_RETRIES + 1):
        before = part.stat().st_size if part.is_file() else 0
        try:
            _continue_download(url, part, size, timeout)
            break
        except (_IncompleteTransferError, http.client.IncompleteRead, ConnectionError, TimeoutError) as e:
            after = part.stat().st_size if part.is_file() else 0
            if after <= before or attempt == RESUME_RETRIES:
                raise _IncompleteTransferError(
                    f"{_describe(e)}; {after} bytes kept in {part} for the next attempt"
                ) from e
            log.warning("transfer from %s broke off at byte %d (%s); resuming", url, after, _describe(e))
    problem = _verify_file(part, expected, algorithm, size)
    if problem is not None:
        part.unlink()
        raise _SourceError(f"{problem}; partial download discarded")
    os.replace(part, dest)


def _continue_download(url: str, part: Path, size: int | None, timeout: float) -> None:
    """Append the rest of ``url`` to ``part`` with a Range request; start over where the server ignores Range."""
    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset > size:
        log.warning("%s holds %d bytes, more than the expected %d; starting over", part, offset, size)
        part.unlink()
        offset = 0
    if size is not None and offset == size:
        return  # complete; verification decides whether the bytes are right
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    log.info("downloading %s -> %s%s", url, part, f" from byte {offset}" if offset else "")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code != 416 or not offset:  # 416: the partial file is not a prefix the server can continue
            raise
        part.unlink()
        return _continue_download(url, part, size, timeout)
    with response:
        if offset and response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                part.unlink()
                raise _SourceError(f"asked for bytes from {offset}, server sent range {content_range!r}; starting over")
            mode = "ab"
        else:
            if offset:
                log.info("server ignored the Range request; downloading %s from byte 0", url)
            mode, offset = "wb", 0
        declared = response.headers.get("Content-Length")
        announced = offset + int(declared) if declared is not None and declared.isdigit() else None
        if size is not None and announced is not None and announced != size:
            part.unlink(missing_ok=True)
            raise _SourceError(f"size mismatch: server announces {announced} bytes in all, expected {size}")
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, mode) as out, byte_bar(part.name, announced, initial=offset) as bar:
            try:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    bar.update(len(chunk))
            finally:
                out.flush()
                os.fsync(out.fileno())
    received = part.stat().st_size
    wanted = size if size is not None else announced
    if wanted is not None and received < wanted:
        raise _IncompleteTransferError(f"transfer broke off: {received} of {wanted} bytes")


def _write_verified(stream: BinaryIO, dest: Path, expected: str, algorithm: str, size: int | None) -> int:
    """Stream into a temporary file next to ``dest``, verify, rename onto ``dest``; clean up on failure."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, byte_bar(dest.name, size) as bar:
            actual, n_bytes = _hash_stream(stream, algorithm, sink=out, bar=bar)
            out.flush()
            os.fsync(out.fileno())
        if size is not None and n_bytes != size:
            raise _SourceError(f"size mismatch: expected {size} bytes, got {n_bytes} (truncated?)")
        if actual != expected:
            raise _SourceError(f"{algorithm} mismatch: expected {expected}, got {actual} ({n_bytes} bytes)")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n_bytes


def _hash_stream(stream: BinaryIO, algorithm: str, sink: BinaryIO | None, bar: Any = None) -> tuple[str, int]:
    """Hex digest and byte count of a stream, copying it into ``sink`` (and counting on ``bar``) on the way."""
    digest = hashlib.new(algorithm)
    n_bytes = 0
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
        if bar is not None:
            bar.update(len(chunk))
        n_bytes += len(chunk)
    return digest.hexdigest(), n_bytes


def _describe(error: Exception) -> str:
    # URLError wraps the socket error ("<urlopen error [Errno 111] Connection refused>"); HTTPError is fine.
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _failure_message(
    dest: Path, expected: str, algorithm: str, mirrors: Iterable[Path], attempts: Sequence[str]
) -> str:
    first_mirror = next(iter(mirrors), None)
    by_hand = Path(first_mirror) if first_mirror is not None else dest
    tried = "\n".join(f"  - {a}" for a in attempts) or "  (no mirror and no URL given)"
    return (
        f"could not fetch {dest.name} ({algorithm} {expected}); tried:\n{tried}\n"
        f"offline? place {dest.name} at {by_hand}"
    )
