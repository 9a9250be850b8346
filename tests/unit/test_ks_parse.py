"""The Kreuzer-Skarke text parser: layouts, whitespace, malformed entries, .npz round trip, the real file."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from symbench import paths
from symbench.ks.parse import KSFormatError, KSPolytopes, parse_ks, read_ks_file

REAL_V26 = paths.SHARED_DATA / "ks" / "v26.gz"

# The first entry of v26.gz.
HEADER = "4 26  M:51 26 N:11 10 H:6,46 [-80]"
MATRIX = np.array(
    [
        [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -2, 2, -1, 1, 0, -1, 0, -2, 2, 1, -1, -2, 0, 2, 0, 1],
        [0, 1, 0, 0, -1, 0, 2, 0, 0, -2, 0, 0, 1, -1, -2, 0, -1, 0, 0, 0, -2, -1, 1, 1, 2, 2],
        [0, 0, 1, 0, 1, 1, -1, 1, -1, 1, 1, -1, 1, 0, 1, -1, 1, 0, -1, 0, 1, 1, -2, -2, -2, -2],
        [0, 0, 0, 1, 1, 1, -1, -1, 1, 1, 1, -1, 0, 1, 0, 1, -1, 1, -2, -2, 1, 1, 0, -2, -1, -2],
    ]
)


def _entry(matrix: np.ndarray = MATRIX, header: str = HEADER) -> list[str]:
    return [header] + [" ".join(f"{v:3d}" for v in row) for row in matrix]


def _transposed_entry(matrix: np.ndarray = MATRIX) -> list[str]:
    header = HEADER.replace("4 26", "26 4", 1)
    return [header] + [" ".join(str(v) for v in row) + " " for row in matrix.T]


def _error_line(lines: list[str]) -> int:
    with pytest.raises(KSFormatError) as err:
        parse_ks(lines, source="v26.gz")
    m = re.match(r"v26\.gz line (\d+): ", str(err.value))
    assert m, f"message does not name file and line: {err.value}"
    return int(m.group(1))


def test_parses_a_well_formed_entry_with_its_header_numbers() -> None:
    p = parse_ks(_entry())
    assert len(p) == 1
    assert p.vertices.dtype == np.int8 and p.vertices.shape == (1, 4, 26)
    np.testing.assert_array_equal(p.vertices[0], MATRIX)
    assert (p.n_points[0], p.n_vertices[0], p.dual_points[0], p.dual_vertices[0]) == (51, 26, 11, 10)
    assert (p.h11[0], p.h21[0], p.chi[0]) == (6, 46, -80)
    assert not p.transposed[0]


def test_transposed_entry_equals_its_normal_form() -> None:
    p = parse_ks(_entry() + _transposed_entry())
    np.testing.assert_array_equal(p.vertices[1], p.vertices[0])
    assert p.transposed.tolist() == [False, True]
    assert p.h11.tolist() == [6, 6]


def test_accepts_tabs_repeated_spaces_trailing_blanks_crlf_and_blank_lines() -> None:
    header = "\t4   26 M:51  26\tN:11 10   H:6,46  [-80]  \r\n"
    rows = ["\t".join(str(v) for v in row) + " \t \r\n" for row in MATRIX]
    rows[2] = "  " + "    ".join(str(v) for v in MATRIX[2]) + "\r\n"
    p = parse_ks(["\r\n", header, *rows, "   \n", *_entry()])
    assert len(p) == 2
    np.testing.assert_array_equal(p.vertices[0], MATRIX)
    np.testing.assert_array_equal(p.vertices[1], MATRIX)


def test_palp_trailer_is_checked_and_what_follows_it_ignored() -> None:
    assert len(parse_ks([*_entry(), *_entry(), "#NF: 2", "  done (135s)"])) == 2
    with pytest.raises(KSFormatError, match=r"line 11: trailer says 3 entries, parsed 2"):
        parse_ks([*_entry(), *_entry(), "#NF: 3"], source="v26.gz")


def test_short_row_names_its_line() -> None:
    lines = _entry() + _entry()
    lines[8] = lines[8].rsplit(maxsplit=1)[0]
    assert _error_line(lines) == 9
    with pytest.raises(KSFormatError, match="expected 26 integers, got 25"):
        parse_ks(lines)


def test_non_integer_token_names_its_line_and_the_token() -> None:
    for bad in ("x", "1.5", "-", "1-2", "0x1"):
        lines = _entry() + _entry()
        lines[7] = lines[7].replace(" 0 ", f" {bad} ", 1)
        assert _error_line(lines) == 8, bad
        with pytest.raises(KSFormatError, match=f"non-integer token '{re.escape(bad)}'"):
            parse_ks(lines)


def test_bad_headers_name_their_line() -> None:
    cases = {
        "4 26 M:51 26 N:11 10 H:6 [-80]": "expected a header like",
        "hello": "expected a header like",
        "4 25  M:51 25 N:11 10 H:6,46 [-80]": "expected a 4x26 or 26x4 matrix, header says 4x25",
        "4 26  M:51 25 N:11 10 H:6,46 [-80]": "has 25 vertices",
    }
    for header, expected in cases.items():
        lines = _entry() + _entry(header=header)
        assert _error_line(lines) == 6, header
        with pytest.raises(KSFormatError, match=re.escape(expected)):
            parse_ks(lines)


def test_euler_number_must_be_twice_h11_minus_h21() -> None:
    lines = _entry() + _entry(header="4 26  M:51 26 N:11 10 H:6,46 [-78]")
    assert _error_line(lines) == 6
    with pytest.raises(KSFormatError, match=r"\[-78\] != 2\*\(h11 - h21\) = 2\*\(6 - 46\) = -80"):
        parse_ks(lines)


def test_truncated_final_entry_names_its_header_line() -> None:
    lines = _entry() + _entry()[:3]
    assert _error_line(lines) == 6
    with pytest.raises(KSFormatError, match="entry truncated: expected 4 rows of 26 integers"):
        parse_ks(lines)


def test_entry_cut_short_by_the_next_header_names_the_line() -> None:
    lines = _entry()[:3] + _entry()
    assert _error_line(lines) == 4


def test_header_says_26_columns_but_rows_have_25() -> None:
    lines = _entry() + _entry(matrix=MATRIX[:, :25], header=HEADER)
    assert _error_line(lines) == 7
    with pytest.raises(KSFormatError, match="line 7: expected 26 integers, got 25"):
        parse_ks(lines, source="v26.gz")


def test_values_outside_int8_are_rejected() -> None:
    matrix = MATRIX.copy()
    matrix[3, 5] = 200
    lines = _entry() + _entry(matrix=matrix)
    assert _error_line(lines) == 10
    with pytest.raises(KSFormatError, match=r"int8\), got 200"):
        parse_ks(lines)


def test_empty_input_is_an_error() -> None:
    with pytest.raises(KSFormatError, match="no entries"):
        parse_ks(["", "  "])


def test_other_vertex_counts_are_a_parameter() -> None:
    p = parse_ks(_entry(MATRIX[:, :5], "4 5  M:9 5 N:9 5 H:1,1 [0]"), n_vertices=5)
    np.testing.assert_array_equal(p.vertices[0], MATRIX[:, :5])


def test_read_ks_file_reads_plain_and_gzip_text_alike(tmp_path: Path) -> None:
    text = "\n".join(_entry() + _transposed_entry()) + "\n"
    plain, packed = tmp_path / "v26.txt", tmp_path / "v26.data"
    plain.write_text(text)
    packed.write_bytes(gzip.compress(text.encode()))
    a, b = read_ks_file(plain), read_ks_file(packed)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    assert len(a) == 2


def test_read_ks_file_names_the_file_in_errors(tmp_path: Path) -> None:
    f = tmp_path / "v26.gz"
    f.write_bytes(gzip.compress("\n".join(_entry()[:4]).encode()))
    with pytest.raises(KSFormatError, match=re.escape(f"{f} line 1: entry truncated")):
        read_ks_file(f)


def test_save_load_round_trip(tmp_path: Path) -> None:
    p = parse_ks(_entry() + _transposed_entry())
    out = tmp_path / "processed" / "polytopes.npz"
    p.save(out)
    assert [x.name for x in out.parent.iterdir()] == ["polytopes.npz"]
    q = KSPolytopes.load(out)
    for name in ("vertices", "h11", "h21", "chi", "n_points", "n_vertices", "dual_points", "dual_vertices"):
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name))
        assert getattr(q, name).dtype == getattr(p, name).dtype
    np.testing.assert_array_equal(q.transposed, p.transposed)


def test_load_names_the_file_and_the_missing_arrays(tmp_path: Path) -> None:
    f = tmp_path / "polytopes.npz"
    np.savez(f, vertices=np.zeros((1, 4, 26), np.int8), h11=np.zeros(1, np.int32))
    with pytest.raises(KSFormatError, match=re.escape(str(f)) + r": missing arrays \['h21'"):
        KSPolytopes.load(f)


@pytest.mark.skipif(not REAL_V26.exists(), reason=f"real data not present at {REAL_V26}")
def test_real_v26_has_78468_entries_45_transposed_and_h11_in_6_to_42() -> None:
    p = read_ks_file(REAL_V26)
    assert len(p) == 78_468
    assert int(p.transposed.sum()) == 45
    assert p.vertices.shape == (78_468, 4, 26)
    assert (p.vertices.min(), p.vertices.max()) == (-8, 6)
    assert (p.h11.min(), p.h11.max()) == (6, 42) and len(np.unique(p.h11)) == 35
    values, counts = np.unique(p.h11, return_counts=True)
    assert values[counts.argmax()] == 16 and round(counts.max() / len(p), 3) == 0.113
    assert (p.n_vertices == 26).all() and (p.chi == 2 * (p.h11 - p.h21)).all()
