"""Sizes and MD5s of the dataset's large files, from git-annex keys (``MD5E-s<size>--<md5>.<ext>``).

``annex_keys.txt`` lists one ``<relative path> <symlink target>`` per line, as ``git ls-tree``/``readlink`` give it
for a datalad clone; the target's last component is the annex key.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import NamedTuple

_KEY = re.compile(r"MD5E-s(?P<size>\d+)--(?P<md5>[0-9a-f]{32})(?P<ext>(?:\.[A-Za-z0-9]+)*)")


class AnnexKeyError(ValueError):
    """A line of an annex key list is not ``<relative path> <target ending in an MD5E key>``."""


class AnnexEntry(NamedTuple):
    """Byte size and MD5 hex digest of one annexed file."""

    size: int
    md5: str


def read_annex_keys(path: str | Path) -> dict[str, AnnexEntry]:
    """``{relative_path: (size, md5)}`` for every line of an annex key list; blank lines are skipped."""
    path = Path(path)
    entries: dict[str, AnnexEntry] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        fields = line.split()
        if len(fields) != 2:
            raise AnnexKeyError(f"{where}: expected '<relative path> <annex target>', got {len(fields)} fields")
        relpath, target = fields
        _check_relative(where, relpath)
        key = PurePosixPath(target).name
        try:
            entry = parse_annex_key(key)
        except AnnexKeyError as e:
            raise AnnexKeyError(f"{where}: {e}") from None
        ext = _KEY.fullmatch(key)["ext"]  # type: ignore[index]  # parse_annex_key matched it
        if not ext or not relpath.endswith(ext):
            raise AnnexKeyError(f"{where}: key {key} does not carry the extension of {relpath}")
        if relpath in entries:
            raise AnnexKeyError(f"{where}: {relpath} is listed twice; expected one key per path")
        entries[relpath] = entry
    if not entries:
        raise AnnexKeyError(f"{path}: no annex keys; expected lines '<relative path> <annex target>'")
    return entries


def parse_annex_key(key: str) -> AnnexEntry:
    """Size and MD5 of one ``MD5E`` key, e.g. ``MD5E-s513884512--11926b3f...a74543.nii``."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise AnnexKeyError(f"expected an annex key 'MD5E-s<size>--<32 hex md5>.<ext>', got {key!r}")
    return AnnexEntry(int(match["size"]), match["md5"])


def _check_relative(where: str, relpath: str) -> None:
    parts = PurePosixPath(relpath).parts
    if relpath.startswith("/") or ".." in parts or not parts:
        raise AnnexKeyError(f"{where}: expected a path relative to the dataset root, got {relpath!r}")
