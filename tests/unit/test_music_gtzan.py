"""GTZAN: verified fetch (mirror, HTTP, offline), safe all-or-nothing extraction, and the scan of a tree."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from symbench.download import FetchError
from symbench.music.gtzan import (
    GTZAN_MIRROR_RELPATH,
    UnsafeArchiveError,
    extract_gtzan,
    extract_tarball,
    fetch_gtzan,
    scan_gtzan,
    scan_summary,
)
from symbench.music.gtzan_fixture import GtzanFixtureConfig, generate_gtzan_fixture

QUIRKS = GtzanFixtureConfig(
    tracks=(("blues", 0), ("jazz", 53), "rock.00026"),
    duration_s=30.0,
    corrupt=("jazz.00054",),
    short={"rock.00027": 29.9},
)


def _tarball(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"RIFF....") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving the folder it yields."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = partial(_QuietHandler, directory=str(folder))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", folder
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_file("genres/../../evil.wav"), "escapes"),
        (_file("/tmp/absolute_evil.wav"), "absolute"),
        (_link("genres/blues/blues.00001.wav", "/etc/passwd"), "link"),
        (_link("genres/blues/hard.wav", "genres/blues/blues.00000.wav", tarfile.LNKTYPE), "link"),
    ],
    ids=["dotdot", "absolute", "symlink", "hardlink"],
)
def test_unsafe_member_is_refused_and_nothing_is_left_behind(tmp_path: Path, bad: tuple, message: str) -> None:
    archive = _tarball(tmp_path / "genres.tar.gz", [_file("genres/blues/blues.00000.wav"), bad])
    out = tmp_path / "out"
    out.mkdir()
    target = out / "gtzan"
    with pytest.raises(UnsafeArchiveError, match=message) as err:
        extract_tarball(archive, target)
    assert str(archive) in str(err.value) and bad[0].name in str(err.value)
    assert list(out.iterdir()) == []  # neither the target nor the temporary folder
    assert not (tmp_path / "evil.wav").exists() and not Path("/tmp/absolute_evil.wav").exists()


def test_device_member_is_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("genres/fifo")
    info.type = tarfile.FIFOTYPE
    archive = _tarball(tmp_path / "g.tar.gz", [(info, None)])
    with pytest.raises(UnsafeArchiveError, match="special file"):
        extract_tarball(archive, tmp_path / "gtzan")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.tar.gz"]


def test_safe_archive_is_extracted_atomically_and_not_twice(tmp_path: Path) -> None:
    archive = _tarball(tmp_path / "genres.tar.gz", [_file("genres/blues/blues.00000.wav", b"abc")])
    root = extract_gtzan(archive, tmp_path / "gtzan")
    assert (root / "genres/blues/blues.00000.wav").read_bytes() == b"abc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["genres.tar.gz", "gtzan"]
    assert extract_gtzan(archive, root) == root  # present: kept as it is
    with pytest.raises(FileExistsError, match="exists"):
        extract_tarball(archive, root)


def test_fetch_copies_the_mirror_and_rejects_a_checksum_mismatch(tmp_path: Path) -> None:
    payload = b"not really a tarball" * 100
    mirror = tmp_path / "mirror"
    (mirror / GTZAN_MIRROR_RELPATH).parent.mkdir(parents=True)
    (mirror / GTZAN_MIRROR_RELPATH).write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "raw" / "genres.tar.gz"
    assert fetch_gtzan(dest, mirror=mirror, urls=(), sha256=good).read_bytes() == payload
    dest.unlink()
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch_gtzan(dest, mirror=mirror, urls=(), sha256="0" * 64)
    assert not dest.exists()


def test_fetch_downloads_over_http_and_rejects_a_corrupt_download(tmp_path: Path, served: tuple[str, Path]) -> None:
    base, folder = served
    payload = b"tarball bytes" * 1000
    (folder / "genres.tar.gz").write_bytes(payload)
    dest = tmp_path / "raw" / "genres.tar.gz"
    good = hashlib.sha256(payload).hexdigest()
    fetch_gtzan(dest, mirror=tmp_path / "no_mirror", urls=[f"{base}/genres.tar.gz"], sha256=good)
    assert dest.read_bytes() == payload
    dest.unlink()
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch_gtzan(dest, mirror=None, urls=[f"{base}/genres.tar.gz"], sha256="1" * 64)
    assert sorted(p.name for p in dest.parent.iterdir()) == []


def test_fetch_offline_says_where_to_put_the_tarball(tmp_path: Path) -> None:
    mirror = tmp_path / "shared"
    with pytest.raises(FetchError) as err:
        fetch_gtzan(tmp_path / "raw" / "genres.tar.gz", mirror=mirror, urls=["http://127.0.0.1:9/genres.tar.gz"])
    message = str(err.value)
    assert f"place genres.tar.gz at {mirror / GTZAN_MIRROR_RELPATH}" in message
    assert "24347e0223d2ba798e0a558c4c172d9d4a19c00bb7963fe055d183dadb4ef2c6" in message


def test_scan_records_corrupt_short_and_missing_clips_without_failing(tmp_path: Path) -> None:
    generate_gtzan_fixture(tmp_path, QUIRKS)
    scan = scan_gtzan(tmp_path)
    assert len(scan) == 1000 and scan["stem"].is_unique
    by_stem = scan.set_index("stem")
    assert by_stem.loc["blues.00000", "readable"] and by_stem.loc["blues.00000", "sample_rate"] == 22050
    assert by_stem.loc["blues.00000", "channels"] == 1 and by_stem.loc["blues.00000", "duration_s"] == 30.0
    corrupt = by_stem.loc["jazz.00054"]
    assert corrupt["exists"] and not corrupt["readable"] and "unreadable" in corrupt["error"]
    assert by_stem.loc["rock.00027", "short"] and by_stem.loc["rock.00027", "duration_s"] == pytest.approx(29.9)
    summary = scan_summary(scan)
    assert summary["n_present"] == 5 and summary["n_readable"] == 4 and summary["n_missing"] == 995
    assert list(summary["unreadable"]) == ["jazz.00054"] and summary["short"] == {"rock.00027": 29.9}
    assert summary["sample_rates"] == {"22050": 4} and "blues.00001" in summary["missing"]
