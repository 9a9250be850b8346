"""The PALP label check: poly-4d.x reproduces the KS headers, mismatches and garbled output are reported, and the
stage skips cleanly where PALP is not installed."""

from __future__ import annotations

import gzip
import json
import logging
import stat
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from symbench import paths
from symbench.ks import palp
from symbench.ks.palp import (
    PALPError,
    compare_hodge_numbers,
    find_palp,
    format_palp_input,
    palp_hodge_numbers,
    parse_palp_output,
)
from symbench.ks.parse import KSPolytopes, parse_ks
from symbench.stages import ks_palp_check

REAL_V26 = paths.SHARED_DATA / "ks" / "v26.gz"
PALP = find_palp()
needs_palp = pytest.mark.skipif(
    PALP is None, reason="PALP (poly-4d.x) not installed: apt-get install palp, or run scripts/setup-system.sh"
)

# Entries 1 and 2 of v26.gz, and the first of the 45 written transposed (26 rows of 4).
KS_TEXT = """\
4 26  M:51 26 N:11 10 H:6,46 [-80]
   1   0   0   0   0  -1   0   0   0   0  -2   2  -1   1   0  -1   0  -2   2   1  -1  -2   0   2   0   1
   0   1   0   0  -1   0   2   0   0  -2   0   0   1  -1  -2   0  -1   0   0   0  -2  -1   1   1   2   2
   0   0   1   0   1   1  -1   1  -1   1   1  -1   1   0   1  -1   1   0  -1   0   1   1  -2  -2  -2  -2
   0   0   0   1   1   1  -1  -1   1   1   1  -1   0   1   0   1  -1   1  -2  -2   1   1   0  -2  -1  -2
4 26  M:48 26 N:12 11 H:7,43 [-72]
   1   0   0  -1   0   2   0   1  -1   1  -1   0  -2   0  -2   2   1   0  -1   0   2  -1  -2   1  -1   1
   0   1   0   1   0  -3  -1   0   2  -2   0   1   3   0   2  -2  -2   2   3  -1  -3   1   2  -2   0  -2
   0   0   1   1   0   1   1  -1  -1   1   1  -1  -1   0   0   0   2  -1  -1   2   0  -1  -1   0  -1  -1
   0   0   0   0   1   2   2  -1  -1   1   1  -2  -2  -1  -1   1   2  -2  -2   2   2  -2  -2   2  -1   1
26 4  M:28 26 N:30 26 H:24,22 [4]
"""
_TRANSPOSED_ROWS = [
    "1 0 0 0", "0 1 0 0", "0 0 1 0", "0 0 0 1", "0 -1 1 1", "0 1 0 -1", "0 -1 0 1", "0 1 -1 -1", "0 0 0 -1",
    "0 0 -1 0", "0 -1 0 0", "0 0 1 1", "-1 0 0 1", "-1 -1 1 1", "-1 1 -1 -1", "-1 0 0 -1", "-1 -1 0 1",
    "-1 0 -1 0", "-1 -1 0 0", "-1 1 0 -1", "-1 0 -1 -1", "-1 1 0 0", "-1 0 1 0", "-1 1 -1 0", "-1 -1 1 0",
    "-1 0 1 1",
]  # fmt: skip
KS_TEXT += "".join(row + " \n" for row in _TRANSPOSED_ROWS)


@pytest.fixture
def polytopes() -> KSPolytopes:
    return parse_ks(KS_TEXT.splitlines(), source="inline")


@needs_palp
def test_palp_reproduces_the_header_hodge_numbers_including_a_transposed_entry(polytopes):
    assert polytopes.transposed.tolist() == [False, False, True]
    hodge = palp_hodge_numbers(polytopes.vertices, executable=PALP, chunk=2)  # two PALP calls
    np.testing.assert_array_equal(hodge, [[6, 46], [7, 43], [24, 22]])
    assert compare_hodge_numbers(polytopes.h11, polytopes.h21, hodge).passed


@needs_palp
@pytest.mark.skipif(not REAL_V26.exists(), reason=f"real data not present at {REAL_V26}")
def test_palp_reproduces_the_headers_of_the_first_20_entries_of_v26():
    with gzip.open(REAL_V26, "rt", encoding="ascii") as f:
        lines = list(islice(f, 20 * 5))  # the file starts with 4 x 26 entries: a header and 4 rows each
    polytopes = parse_ks(lines, source=str(REAL_V26))
    assert len(polytopes) == 20
    hodge = palp_hodge_numbers(polytopes.vertices, executable=PALP)
    comparison = compare_hodge_numbers(polytopes.h11, polytopes.h21, hodge)
    assert (comparison.n_checked, comparison.n_mismatched) == (20, 0)


@needs_palp
def test_a_wrong_label_is_reported_as_a_mismatch_naming_the_entry(polytopes):
    h11 = polytopes.h11.copy()
    h11[1] = 8  # the header says 7
    hodge = palp_hodge_numbers(polytopes.vertices, executable=PALP)
    comparison = compare_hodge_numbers(h11, polytopes.h21, hodge)
    assert (comparison.n_checked, comparison.n_mismatched) == (3, 1)
    assert not comparison.passed
    [mismatch] = comparison.first_mismatches
    assert (mismatch.index, mismatch.expected, mismatch.palp) == (1, (8, 43), (7, 43))


def test_compare_lists_at_most_max_reported_mismatches():
    palp_values = np.zeros((50, 2), dtype=int)
    comparison = compare_hodge_numbers(np.ones(50), np.zeros(50), palp_values, max_reported=3)
    assert comparison.n_mismatched == 50
    assert [m.index for m in comparison.first_mismatches] == [0, 1, 2]
    with pytest.raises(ValueError, match=r"shape \(49, 2\)"):
        compare_hodge_numbers(np.ones(50), np.zeros(50), palp_values[:49])


def test_input_is_palp_format_one_header_and_four_fixed_width_rows_per_polytope():
    vertices = np.array([[[1, -8], [0, 6], [0, 0], [-1, 2]]] * 2, dtype=np.int8)
    expected = "4 2\n  1 -8\n  0  6\n  0  0\n -1  2\n" * 2
    assert format_palp_input(vertices).decode("ascii") == expected


def test_output_parser_rejects_a_garbled_line_naming_it_and_what_was_expected():
    output = "M:51 26 N:11 10 H:6,46 [-80]\nIdentical points in Vec_Greater_Than !!\n"
    with pytest.raises(PALPError, match=r"line 2 \(entry 101\).*expected a line like 'M:51.*Identical points"):
        parse_palp_output(output, n_expected=2, first_index=100)


def test_output_parser_names_a_non_reflexive_polytope_and_a_missing_line():
    with pytest.raises(PALPError, match=r"got 'M:7 5 F:5' \(PALP says the polytope is not reflexive\)"):
        parse_palp_output("M:7 5 F:5\n", n_expected=1)
    with pytest.raises(PALPError, match=r"expected 3 output lines \(entries 0\.\.2\), got 2"):
        parse_palp_output("M:51 26 N:11 10 H:6,46 [-80]\n" * 2, n_expected=3)
    np.testing.assert_array_equal(parse_palp_output("M:51 26 N:11 10 H:6,46 [-80]\n", n_expected=1), [[6, 46]])


@needs_palp
def test_palp_complaining_on_stdout_about_repeated_points_is_an_error(polytopes):
    vertices = polytopes.vertices[:1].copy()
    vertices[0, :, 1] = vertices[0, :, 0]  # PALP prints a message and exits 0
    with pytest.raises(PALPError, match=r"line 1 \(entry 0\).*Identical points"):
        palp_hodge_numbers(vertices, executable=PALP)


def test_a_non_zero_exit_is_an_error_carrying_stderr(tmp_path: Path, polytopes):
    fake = tmp_path / "poly-4d.x"
    fake.write_text("#!/bin/sh\necho 'out of memory' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(PALPError, match=r"exited with status 3; stderr: out of memory"):
        palp_hodge_numbers(polytopes.vertices, executable=fake)


def test_stage_writes_skipped_with_a_warning_when_palp_is_absent(tmp_path: Path, monkeypatch, caplog):
    monkeypatch.setattr(palp, "find_palp", lambda: None)
    output = tmp_path / "reports" / "palp_check.json"
    with caplog.at_level(logging.WARNING):
        ks_palp_check.run_palp_check(tmp_path / "absent.npz", output)
    report = json.loads(output.read_text())
    assert report["status"] == "skipped"
    assert report["n_checked"] == 0
    assert "install Debian package palp" in report["reason"]
    assert "PALP (poly-4d.x) not found" in caplog.text


@needs_palp
def test_stage_passes_on_correct_labels_and_respects_max_entries(tmp_path: Path, polytopes):
    polytopes.save(tmp_path / "polytopes.npz")
    report = ks_palp_check.run_palp_check(tmp_path / "polytopes.npz", tmp_path / "check.json", max_entries=2)
    assert json.loads((tmp_path / "check.json").read_text()) == report
    assert (report["status"], report["n_checked"], report["n_mismatched"]) == ("passed", 2, 0)
    assert report["palp_executable"] == str(PALP)


@needs_palp
def test_stage_exits_non_zero_naming_the_first_mismatching_entry(tmp_path: Path, polytopes, monkeypatch):
    h21 = polytopes.h21.copy()
    h21[2] = 99
    wrong = KSPolytopes(**{**vars(polytopes), "h21": h21})
    wrong.save(tmp_path / "polytopes.npz")
    params = OmegaConf.create({"ks": {"palp": {"max_entries": None}}})
    monkeypatch.setattr(ks_palp_check, "load_params", lambda: params)
    argv = ["--polytopes", str(tmp_path / "polytopes.npz"), "--output", str(tmp_path / "check.json")]
    with pytest.raises(SystemExit, match=r"1 of 3 .*entry 2: header \(h11, h21\) = \(24, 99\), PALP \(24, 22\)"):
        ks_palp_check.main(argv)
    assert json.loads((tmp_path / "check.json").read_text())["status"] == "failed"
