"""ds003720 fetching: annex keys, resumable verified downloads from a local HTTP server, NIfTI header checks."""

from __future__ import annotations

import hashlib
import http.server
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from symbench import download, paths
from symbench.download import FetchError, fetch_verified, partial_path
from symbench.music import layout
from symbench.music.annex_keys import AnnexEntry, AnnexKeyError, parse_annex_key, read_annex_keys
from symbench.music.fetch_openneuro import fetch_ds003720, plan_files
from symbench.music.nifti_check import BOLD_SHAPE, NiftiHeaderError, check_bold_header, expected_nifti_bytes

DS003720 = paths.SHARED_DATA / "ds003720"
needs_ds003720 = pytest.mark.skipif(
    not DS003720.is_dir(), reason=f"ds003720 metadata mirror not found at {DS003720} (CI provides it)"
)
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, so a transfer spans several chunks
MD5 = hashlib.md5(PAYLOAD).hexdigest()
BOLD = layout.func_path(1, "Test", 1, "bold.nii")


class _Server(http.server.ThreadingHTTPServer):
    files: dict[str, bytes]
    honour_range: bool
    cut_after: dict[str, int]  # path -> body bytes sent before the connection drops (announcing the full length)
    cut_once: bool
    requests: list[tuple[str, str | None]]  # (path, Range header)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start, wanted = 0, self.headers.get("Range")
        if wanted is not None and srv.honour_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1))  # type: ignore[union-attr]
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        rest = body[start:]
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        cut = srv.cut_after.pop(self.path, None) if srv.cut_once else srv.cut_after.get(self.path)
        self.wfile.write(rest if cut is None else rest[:cut])

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _RangeHandler)
    srv.files, srv.honour_range, srv.cut_after, srv.cut_once, srv.requests = {}, True, {}, True, []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def _base(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


def _closed_port_base() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _fetch(dest: Path, srv: _Server, path: str = "/f.nii", **kwargs: object) -> Path:
    return fetch_verified(dest, checksum=MD5, algorithm="md5", urls=[_base(srv) + path], resume=True, **kwargs)


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- resumable, verified downloads (symbench.download with resume=True) ---


def test_broken_transfer_is_continued_with_a_range_request_in_the_same_call(tmp_path: Path, server: _Server) -> None:
    server.files["/f.nii"], server.cut_after["/f.nii"] = PAYLOAD, 300_000
    dest = tmp_path / "f.nii"
    assert _fetch(dest, server, size=len(PAYLOAD)) == dest
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/f.nii", None), ("/f.nii", "bytes=300000-")]
    assert _files_under(tmp_path) == ["f.nii"]


def test_interrupted_download_leaves_only_a_hidden_partial_that_the_next_call_resumes(
    tmp_path: Path, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "RESUME_RETRIES", 0)
    server.files["/f.nii"], server.cut_after["/f.nii"], server.cut_once = PAYLOAD, 400_000, False
    dest = tmp_path / "f.nii"
    with pytest.raises(FetchError, match="400000 bytes kept"):
        _fetch(dest, server, size=len(PAYLOAD))
    assert not dest.exists() and partial_path(dest).read_bytes() == PAYLOAD[:400_000]
    server.cut_after.clear()
    _fetch(dest, server, size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and not partial_path(dest).exists()
    assert server.requests[-1] == ("/f.nii", "bytes=400000-")


def test_server_ignoring_range_restarts_the_download_from_byte_0(tmp_path: Path, server: _Server) -> None:
    server.files["/f.nii"], server.honour_range = PAYLOAD, False
    dest = tmp_path / "f.nii"
    partial_path(dest).write_bytes(b"\xff" * 1000)  # a wrong prefix: appending to it could never verify
    _fetch(dest, server, size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and server.requests == [("/f.nii", "bytes=1000-")]
    assert _files_under(tmp_path) == ["f.nii"]


def test_corrupted_download_is_rejected_and_leaves_nothing_behind(tmp_path: Path, server: _Server) -> None:
    corrupted = bytearray(PAYLOAD)
    corrupted[123_456] ^= 0x01
    server.files["/f.nii"] = bytes(corrupted)
    with pytest.raises(FetchError, match=f"md5 mismatch: expected {MD5}") as err:
        _fetch(tmp_path / "f.nii", server, size=len(PAYLOAD))
    assert hashlib.md5(corrupted).hexdigest() in str(err.value)
    assert _files_under(tmp_path) == []


def test_partial_that_does_not_verify_is_discarded_so_the_next_call_starts_clean(
    tmp_path: Path, server: _Server
) -> None:
    server.files["/f.nii"] = PAYLOAD
    dest = tmp_path / "f.nii"
    partial_path(dest).write_bytes(b"\x00" * 5000)  # wrong bytes the server will dutifully continue
    with pytest.raises(FetchError, match="partial download discarded"):
        _fetch(dest, server, size=len(PAYLOAD))
    assert _files_under(tmp_path) == []
    _fetch(dest, server, size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and server.requests[-1] == ("/f.nii", None)


def test_partial_longer_than_the_file_is_dropped_by_size_or_by_a_416_answer(tmp_path: Path, server: _Server) -> None:
    server.files["/f.nii"] = PAYLOAD
    for size, first_range in ((len(PAYLOAD), None), (None, f"bytes={len(PAYLOAD) + 7}-")):
        dest = tmp_path / f"size_{size}" / "f.nii"
        dest.parent.mkdir()
        partial_path(dest).write_bytes(PAYLOAD + b"garbage")
        server.requests.clear()
        _fetch(dest, server, size=size)
        assert dest.read_bytes() == PAYLOAD and not partial_path(dest).exists()
        assert server.requests[0] == ("/f.nii", first_range)


def test_server_announcing_the_wrong_total_size_is_rejected(tmp_path: Path, server: _Server) -> None:
    server.files["/f.nii"] = PAYLOAD
    with pytest.raises(FetchError, match=f"server announces {len(PAYLOAD)} bytes in all, expected 1000"):
        _fetch(tmp_path / "f.nii", server, size=1000)
    assert _files_under(tmp_path) == []


# --- annex keys ---


@needs_ds003720
def test_real_annex_keys_give_size_and_md5_of_all_95_nifti_files() -> None:
    keys = read_annex_keys(DS003720 / "annex_keys.txt")
    assert len(keys) == 5 * (18 + 1)
    assert keys[BOLD] == AnnexEntry(513_884_512, "11926b3fc3f033f00b7c7ca1d3a74543")
    bold = {p: e for p, e in keys.items() if p.endswith("_bold.nii")}
    assert len(bold) == 90 and {e.size for e in bold.values()} == {expected_nifti_bytes(BOLD_SHAPE, "int16", 352)}
    assert {e.size for p, e in keys.items() if p.endswith("_T1w.nii")} == {54_526_304}
    assert len({e.md5 for e in keys.values()}) == 95


def test_parse_annex_key_reads_size_and_md5() -> None:
    key = "MD5E-s513884512--11926b3fc3f033f00b7c7ca1d3a74543.nii"
    assert parse_annex_key(key) == (513_884_512, "11926b3fc3f033f00b7c7ca1d3a74543")
    with pytest.raises(AnnexKeyError, match="expected an annex key"):
        parse_annex_key("SHA256E-s10--" + "a" * 64 + ".nii")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("sub-001/anat/sub-001_T1w.nii", "expected '<relative path> <annex target>', got 1 fields"),
        ("a.nii ../../.git/annex/objects/x/MD5E-s12--abc.nii", "expected an annex key"),
        ("a.nii ../.git/annex/MD5E-s12--" + "0" * 32 + ".json", "does not carry the extension of a.nii"),
        ("/abs/a.nii ../.git/annex/MD5E-s12--" + "0" * 32 + ".nii", "expected a path relative to the dataset"),
        ("../a.nii ../.git/annex/MD5E-s12--" + "0" * 32 + ".nii", "expected a path relative to the dataset"),
    ],
)
def test_malformed_annex_line_names_the_file_and_line(tmp_path: Path, line: str, expected: str) -> None:
    good = "b.nii ../.git/annex/objects/MD5E-s12--" + "1" * 32 + ".nii"
    path = tmp_path / "annex_keys.txt"
    path.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(AnnexKeyError, match=re.escape(expected)) as err:
        read_annex_keys(path)
    assert str(err.value).startswith(f"{path} line 3: ")


def test_duplicate_or_missing_annex_entries_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "annex_keys.txt"
    good = "b.nii ../.git/annex/objects/MD5E-s12--" + "1" * 32 + ".nii"
    path.write_text(f"{good}\n{good}\n")
    with pytest.raises(AnnexKeyError, match="line 2: b.nii is listed twice"):
        read_annex_keys(path)
    path.write_text("\n")
    with pytest.raises(AnnexKeyError, match="no annex keys"):
        read_annex_keys(path)


# --- fetching a selection of ds003720 ---


def _fake_dataset(tmp_path: Path) -> tuple[Path, Path]:
    """A mirror with the metadata of sub-001 Test run-01 and no volume, and annex keys for PAYLOAD as its BOLD."""
    mirror = tmp_path / "mirror"
    for rel in (*layout.TOP_LEVEL_FILES, layout.func_path(1, "Test", 1, "bold.json")):
        (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
        (mirror / rel).write_text(f"metadata of {rel}\n")
    (mirror / layout.func_path(1, "Test", 1, "events.tsv")).write_text("onset\tduration\n")
    keys = tmp_path / "annex_keys.txt"
    keys.write_text(
        f"{BOLD} ../../.git/annex/objects/Q/Q/MD5E-s{len(PAYLOAD)}--{MD5}.nii/MD5E-s{len(PAYLOAD)}--{MD5}.nii\n"
    )
    return mirror, keys


def test_fetch_builds_the_bids_folder_from_mirror_metadata_and_a_resumed_verified_download(
    tmp_path: Path, server: _Server
) -> None:
    mirror, keys = _fake_dataset(tmp_path)
    server.files[f"/ds003720/{BOLD}"], server.cut_after[f"/ds003720/{BOLD}"] = PAYLOAD, 250_000
    out = tmp_path / "bids"
    got = fetch_ds003720(
        out, subjects=[1], runs={"Test": [1]}, mirror=mirror, annex_keys=keys, base_url=_base(server) + "/ds003720"
    )
    assert _files_under(out) == sorted(
        [*layout.TOP_LEVEL_FILES, BOLD, BOLD.replace(".nii", ".json"), BOLD.replace("bold.nii", "events.tsv")]
    )
    assert sorted(got) == sorted(out / rel for rel in _files_under(out))
    assert (out / BOLD).read_bytes() == PAYLOAD
    assert (out / "README").read_text() == "metadata of README\n"
    assert server.requests == [(f"/ds003720/{BOLD}", None), (f"/ds003720/{BOLD}", "bytes=250000-")]


def test_fetch_prefers_a_mirror_volume_and_rejects_a_corrupt_one_for_the_download(
    tmp_path: Path, server: _Server
) -> None:
    mirror, keys = _fake_dataset(tmp_path)
    (mirror / BOLD).write_bytes(PAYLOAD)
    fetch_ds003720(
        tmp_path / "a", subjects=["sub-001"], runs={"Test": [1]}, mirror=mirror, annex_keys=keys, base_url=_base(server)
    )
    assert server.requests == [] and (tmp_path / "a" / BOLD).read_bytes() == PAYLOAD
    (mirror / BOLD).write_bytes(PAYLOAD[:-1] + b"\x00")
    server.files[f"/{BOLD}"] = PAYLOAD
    fetch_ds003720(
        tmp_path / "b", subjects=[1], runs={"Test": [1]}, mirror=mirror, annex_keys=keys, base_url=_base(server)
    )
    assert (tmp_path / "b" / BOLD).read_bytes() == PAYLOAD and len(server.requests) == 1


def test_offline_fetch_names_the_file_the_sources_and_where_to_put_it(tmp_path: Path) -> None:
    mirror, keys = _fake_dataset(tmp_path)
    base = _closed_port_base()
    out = tmp_path / "bids"
    with pytest.raises(FetchError) as err:
        fetch_ds003720(out, subjects=[1], runs={"Test": [1]}, mirror=mirror, annex_keys=keys, base_url=base, timeout=5)
    message = str(err.value)
    assert message.startswith(f"ds003720 {BOLD}: ")
    assert f"mirror {mirror / BOLD}: not found" in message and f"{base}/{BOLD}" in message
    assert f"offline? place {Path(BOLD).name} at {mirror / BOLD}" in message
    assert not (out / BOLD).exists() and not partial_path(out / BOLD).exists()


def test_metadata_missing_from_the_mirror_is_downloaded_unverified_or_reported(tmp_path: Path, server: _Server) -> None:
    mirror, keys = _fake_dataset(tmp_path)
    (mirror / "CHANGES").unlink()
    (mirror / BOLD).write_bytes(PAYLOAD)
    server.files["/CHANGES"] = b"1.0.1 2023-08-23\n"
    out = tmp_path / "bids"
    fetch_ds003720(out, subjects=[1], runs={"Test": [1]}, mirror=mirror, annex_keys=keys, base_url=_base(server))
    assert (out / "CHANGES").read_bytes() == b"1.0.1 2023-08-23\n"
    with pytest.raises(FetchError, match=f"offline\\? place CHANGES at {re.escape(str(mirror / 'CHANGES'))}"):
        fetch_ds003720(tmp_path / "x", subjects=[1], runs={"Test": [1]}, mirror=mirror, annex_keys=keys, base_url=None)
    assert not (tmp_path / "x" / "CHANGES").exists()


@needs_ds003720
def test_fetch_with_the_real_mirror_copies_its_metadata_and_downloads_the_volume(
    tmp_path: Path, server: _Server
) -> None:
    keys = tmp_path / "annex_keys.txt"
    keys.write_text(f"{BOLD} MD5E-s{len(PAYLOAD)}--{MD5}.nii\n")
    server.files[f"/{BOLD}"] = PAYLOAD
    out = tmp_path / "bids"
    fetch_ds003720(out, subjects=[1], runs={"Test": [1]}, mirror=DS003720, annex_keys=keys, base_url=_base(server))
    events = BOLD.replace("bold.nii", "events.tsv")
    assert (out / events).read_bytes() == (DS003720 / events).read_bytes()
    assert (out / "dataset_description.json").read_bytes() == (DS003720 / "dataset_description.json").read_bytes()


@needs_ds003720
def test_plan_lists_each_selected_run_with_its_annex_entry(tmp_path: Path) -> None:
    keys = read_annex_keys(DS003720 / "annex_keys.txt")
    plan = plan_files(keys, subjects=[1, 5], anat=True)
    assert len(plan) == 3 + 2 * (2 + 18 * 3)
    annexed = [p for p in plan if p.annex is not None]
    assert len(annexed) == 2 * 19 and all(p.annex == keys[p.relpath] for p in annexed)
    assert [p.relpath for p in plan_files(keys, subjects=[2], runs={"Training": [4]})][3:] == [
        f"sub-002/func/sub-002_task-Training_run-04_{s}" for s in ("bold.nii", "bold.json", "events.tsv")
    ]
    with pytest.raises(ValueError, match="ds003720 has sub-001"):
        plan_files(keys, subjects=[6])
    with pytest.raises(ValueError, match=r"runs \[13\] do not exist"):
        plan_files(keys, subjects=[1], runs={"Training": [13]})


# --- NIfTI headers ---


def _nifti(path: Path, shape: tuple[int, ...], dtype: str = "int16", voxel: float = 2.0) -> Path:
    image = nib.Nifti1Image(np.zeros(shape, dtype=dtype), np.diag([voxel, voxel, voxel, 1.0]))
    image.header.set_zooms((voxel, voxel, voxel, 1.5)[: len(shape)])
    nib.save(image, path)
    return path


def test_small_bold_like_nifti_passes_with_its_expected_shape(tmp_path: Path) -> None:
    path = _nifti(tmp_path / "ok_bold.nii", (6, 6, 4, 10))
    info = check_bold_header(path, shape=(6, 6, 4, 10))
    assert info.shape == (6, 6, 4, 10) and info.vox_offset == 352
    assert info.file_bytes == expected_nifti_bytes((6, 6, 4, 10), "int16", 352)


def test_wrong_shape_names_the_file_and_the_expected_shape(tmp_path: Path) -> None:
    path = _nifti(tmp_path / "small_bold.nii", (6, 6, 4, 10))
    with pytest.raises(NiftiHeaderError, match="expected shape 96x96x68x410, header says 6x6x4x10") as err:
        check_bold_header(path)
    assert str(err.value).startswith(str(path))


def test_truncated_nifti_names_the_file_and_the_bytes_expected(tmp_path: Path) -> None:
    path = _nifti(tmp_path / "cut_bold.nii", (6, 6, 4, 10))
    full = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(full - 2)
    with pytest.raises(NiftiHeaderError, match=f"truncated: expected at least {full} bytes") as err:
        check_bold_header(path, shape=(6, 6, 4, 10))
    assert str(err.value).startswith(str(path)) and f"file has {full - 2}" in str(err.value)


def test_wrong_dtype_voxel_size_or_a_non_nifti_file_are_rejected(tmp_path: Path) -> None:
    shape = (6, 6, 4, 10)
    with pytest.raises(NiftiHeaderError, match="expected data type int16, header says float32"):
        check_bold_header(_nifti(tmp_path / "f_bold.nii", shape, dtype="float32"), shape=shape)
    with pytest.raises(NiftiHeaderError, match="expected 2.0 mm voxels, header says 3.0x3.0x3.0 mm"):
        check_bold_header(_nifti(tmp_path / "v_bold.nii", shape, voxel=3.0), shape=shape)
    junk = tmp_path / "junk_bold.nii"
    junk.write_bytes(b"not a nifti" * 100)
    with pytest.raises(NiftiHeaderError, match=f"{re.escape(str(junk))}: expected a readable NIfTI"):
        check_bold_header(junk, shape=shape)
