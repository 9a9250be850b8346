"""Verified, atomic fetching: mirrors, HTTP, and what is left behind when a source is bad."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from symbench.download import FetchError, fetch_verified, file_digest
from symbench.ks.fetch import fetch_v26

PAYLOAD = b"4 26  M:51 26 N:11 10 H:6,46 [-80]\n" * 2000
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Server(http.server.ThreadingHTTPServer):
    routes: dict[str, tuple[bytes, int | None]]  # path -> (body, Content-Length announced)
    hits: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.hits.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        body, announced = self.server.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) if announced is None else announced))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.routes, srv.hits = {}, []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def _url(srv: _Server, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v26.gz"


def _assert_only(folder: Path, *names: str) -> None:
    """Nothing but ``names`` in the folder: no destination file, no temporary file."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_file_digest_matches_hashlib_for_sha256_and_md5(tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(PAYLOAD)
    assert file_digest(f, "sha256") == SHA256
    assert file_digest(f, "md5") == MD5


def test_fetch_copies_a_valid_mirror_file(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror" / "v26.gz"
    mirror.parent.mkdir()
    mirror.write_bytes(PAYLOAD)
    dest = tmp_path / "raw" / "v26.gz"
    assert fetch_verified(dest, checksum=SHA256, mirrors=[mirror]) == dest
    assert dest.read_bytes() == PAYLOAD
    _assert_only(dest.parent, "v26.gz")


def test_fetch_accepts_md5_and_a_known_size(tmp_path: Path) -> None:
    mirror = tmp_path / "m.bin"
    mirror.write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "m.bin"
    fetch_verified(dest, checksum=MD5.upper(), algorithm="md5", size=len(PAYLOAD), mirrors=[mirror])
    assert dest.read_bytes() == PAYLOAD


def test_mirror_with_wrong_checksum_raises_and_leaves_nothing(tmp_path: Path) -> None:
    mirror = tmp_path / "v26.gz"
    mirror.write_bytes(PAYLOAD + b"corrupt")
    dest = tmp_path / "raw" / "v26.gz"
    with pytest.raises(FetchError) as err:
        fetch_verified(dest, checksum=SHA256, mirrors=[mirror])
    message = str(err.value)
    assert str(mirror) in message and SHA256 in message
    assert hashlib.sha256(PAYLOAD + b"corrupt").hexdigest() in message
    assert not dest.exists()
    if dest.parent.exists():
        _assert_only(dest.parent)


def test_truncated_mirror_file_is_rejected_by_size_and_by_hash(tmp_path: Path) -> None:
    mirror = tmp_path / "v26.gz"
    mirror.write_bytes(PAYLOAD[: len(PAYLOAD) // 2])
    dest = tmp_path / "raw" / "v26.gz"
    with pytest.raises(FetchError, match="size mismatch"):
        fetch_verified(dest, checksum=SHA256, size=len(PAYLOAD), mirrors=[mirror])
    with pytest.raises(FetchError, match="sha256 mismatch"):
        fetch_verified(dest, checksum=SHA256, mirrors=[mirror])
    assert not dest.exists()


def test_fetch_downloads_from_http_and_verifies(tmp_path: Path, server: _Server) -> None:
    server.routes["/v26.gz"] = (PAYLOAD, None)
    dest = tmp_path / "raw" / "v26.gz"
    missing_mirror = tmp_path / "nowhere" / "v26.gz"
    out = fetch_verified(dest, checksum=SHA256, mirrors=[missing_mirror], urls=[_url(server, "/v26.gz")])
    assert out == dest and dest.read_bytes() == PAYLOAD
    _assert_only(dest.parent, "v26.gz")


def test_http_falls_through_to_the_next_url(tmp_path: Path, server: _Server) -> None:
    server.routes["/good"] = (PAYLOAD, None)
    dest = tmp_path / "v26.gz"
    fetch_verified(dest, checksum=SHA256, urls=[_url(server, "/missing"), _url(server, "/good")])
    assert dest.read_bytes() == PAYLOAD
    assert server.hits == ["/missing", "/good"]


def test_http_corrupted_bytes_raise_and_leave_nothing(tmp_path: Path, server: _Server) -> None:
    corrupted = bytearray(PAYLOAD)
    corrupted[100] ^= 0xFF
    server.routes["/v26.gz"] = (bytes(corrupted), None)
    url = _url(server, "/v26.gz")
    with pytest.raises(FetchError) as err:
        fetch_verified(tmp_path / "v26.gz", checksum=SHA256, urls=[url])
    assert url in str(err.value) and SHA256 in str(err.value)
    assert hashlib.sha256(corrupted).hexdigest() in str(err.value)
    _assert_only(tmp_path)


def test_http_connection_closed_early_raises_and_leaves_nothing(tmp_path: Path, server: _Server) -> None:
    server.routes["/v26.gz"] = (PAYLOAD[:1000], len(PAYLOAD))  # announces more than it sends
    with pytest.raises(FetchError, match="v26.gz"):
        fetch_verified(tmp_path / "v26.gz", checksum=SHA256, urls=[_url(server, "/v26.gz")])
    _assert_only(tmp_path)


def test_unreachable_url_without_mirror_says_where_to_put_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "raw" / "v26.gz"
    url = _closed_port_url()
    with pytest.raises(FetchError) as err:
        fetch_verified(dest, checksum=SHA256, urls=[url], timeout=5)
    message = str(err.value)
    assert url in message
    assert f"offline? place v26.gz at {dest}" in message
    assert not dest.exists()


def test_failure_message_points_at_the_first_mirror(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "v26.gz", tmp_path / "b" / "v26.gz"
    with pytest.raises(FetchError) as err:
        fetch_verified(tmp_path / "v26.gz", checksum=SHA256, mirrors=[first, second], urls=[_closed_port_url()])
    assert f"offline? place v26.gz at {first}" in str(err.value)
    assert len(err.value.attempts) == 3


def test_existing_valid_destination_is_not_fetched_again(tmp_path: Path, server: _Server) -> None:
    dest = tmp_path / "v26.gz"
    dest.write_bytes(PAYLOAD)
    mtime = dest.stat().st_mtime_ns
    assert fetch_verified(dest, checksum=SHA256, urls=[_url(server, "/v26.gz")]) == dest
    assert server.hits == [] and dest.stat().st_mtime_ns == mtime


def test_existing_corrupt_destination_is_replaced_by_a_verified_copy(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.gz"
    mirror.write_bytes(PAYLOAD)
    dest = tmp_path / "raw" / "v26.gz"
    dest.parent.mkdir()
    dest.write_bytes(b"half a file")
    fetch_verified(dest, checksum=SHA256, mirrors=[mirror])
    assert dest.read_bytes() == PAYLOAD


def test_malformed_checksum_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a sha256 hex digest"):
        fetch_verified(tmp_path / "x", checksum="abc")
    with pytest.raises(ValueError, match="unknown hash algorithm"):
        fetch_verified(tmp_path / "x", checksum=SHA256, algorithm="sha999")


def test_fetch_v26_finds_the_file_under_the_mirror_folder_relpath_or_basename(tmp_path: Path) -> None:
    for layout in ("ks/v26.gz", "v26.gz"):
        mirror = tmp_path / layout.replace("/", "_") / "data"
        (mirror / layout).parent.mkdir(parents=True)
        (mirror / layout).write_bytes(PAYLOAD)
        dest = tmp_path / f"raw_{layout.replace('/', '_')}" / "v26.gz"
        fetch_v26(dest, mirror=mirror, url="", sha256=SHA256)
        assert dest.read_bytes() == PAYLOAD


def test_fetch_v26_without_mirror_names_the_mirror_setting(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_folder"
    with pytest.raises(FetchError) as err:
        fetch_v26(tmp_path / "raw" / "v26.gz", mirror=missing, url=_closed_port_url(), sha256=SHA256)
    message = str(err.value)
    assert f"place v26.gz at {missing / 'ks' / 'v26.gz'}" in message
    assert "ks.fetch.mirror" in message
    with pytest.raises(FetchError, match="ks.fetch.mirror"):
        fetch_v26(tmp_path / "raw" / "v26.gz", mirror=None, url=_closed_port_url(), sha256=SHA256)
