"""Speed of the KS preprocessing: Dirichlet ascent, exact canonical form, random permutation of all matrices.

    .venv/bin/python bench/bench_ks_preprocessing.py [--input data/processed/ks/polytopes.npz] [--repeats 3]

Writes reports/bench/ks_preprocessing.json and .md. Also times the reference's loop (a plain Python
re-implementation) on a sample, for the speed-up, and checks that both give the same matrices there.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from symbench import paths
from symbench.groups import canonical_form, dirichlet_ascent, permute_randomly

SHARED_RAW = paths.SHARED_DATA / "ks" / "v26.gz"
SLOW_SAMPLE = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=paths.KS_POLYTOPES, help="npz with key `vertices`")
    parser.add_argument("--raw", type=Path, default=None, help="KS text file used when --input is missing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=paths.BENCH_REPORTS)
    args = parser.parse_args()

    X, source = load_vertices(paths.resolve(args.input), args.raw)
    n = len(X)
    print(f"{n} matrices {X.shape[1:]} {X.dtype} from {source}")

    results = {
        "dirichlet_ascent": time_median(lambda: dirichlet_ascent(X), args.repeats),
        "canonical_form": time_median(lambda: canonical_form(X), args.repeats),
        "original_permuted": time_median(lambda: permute_randomly(X, seed=0), args.repeats),
    }
    for name, seconds in results.items():
        print(f"{name:>20}: {seconds:8.3f} s  ({n / seconds:,.0f} matrices/s)")

    sample = X[np.random.default_rng(0).choice(n, size=min(SLOW_SAMPLE, n), replace=False)]
    start = time.perf_counter()
    slow = np.stack([slow_dirichlet_ascent(x) for x in sample])
    slow_ms = (time.perf_counter() - start) / len(sample) * 1e3
    if not np.array_equal(slow, dirichlet_ascent(sample)):
        raise SystemExit("dirichlet_ascent disagrees with the slow reference loop on the sample")
    fast_ms = results["dirichlet_ascent"] / n * 1e3
    print(
        f"slow reference loop: {slow_ms:.2f} ms/matrix; vectorised {fast_ms:.4f} ms/matrix; "
        f"speed-up {slow_ms / fast_ms:,.0f}x (same results on the sample)"
    )

    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "source": source,
        "n": n,
        "repeats": args.repeats,
        "median_seconds": results,
        "matrices_per_second": {name: n / seconds for name, seconds in results.items()},
        "slow_reference": {"sample": len(sample), "ms_per_matrix": slow_ms, "speedup": slow_ms / fast_ms},
    }
    out = paths.resolve(args.out)
    write_atomically(out / "ks_preprocessing.json", json.dumps(report, indent=2) + "\n")
    write_atomically(out / "ks_preprocessing.md", markdown(report))
    print(f"wrote {out / 'ks_preprocessing.json'} and .md")


def load_vertices(npz: Path, raw: Path | None) -> tuple[np.ndarray, str]:
    """Vertex matrices (N, 4, 26) int8 from the processed npz, else parsed from the raw KS text."""
    if npz.exists():
        with np.load(npz) as f:
            return f["vertices"], str(npz)
    raw = raw or next((p for p in (paths.KS_RAW / "v26.gz", SHARED_RAW) if p.exists()), SHARED_RAW)
    try:
        from symbench.ks.parse import read_ks_file

        return read_ks_file(raw).vertices, f"{raw} (symbench.ks.parse)"
    except ImportError:
        return read_ks_text(raw), f"{raw} (the benchmark's own loader: symbench.ks.parse not importable)"


def read_ks_text(path: Path) -> np.ndarray:
    """Minimal KS text reader: header `rows cols ...`, then rows lines; `26 4` entries are transposed."""
    with gzip.open(path, "rt") as f:
        lines = [line.split() for line in f]
    matrices, i = [], 0
    while i < len(lines):
        head = lines[i]
        if len(head) < 2 or not head[0].isdigit():  # blank line or the `#NF:` trailer
            i += 1
            continue
        rows = int(head[0])
        m = np.array(lines[i + 1 : i + 1 + rows], dtype=np.int8)
        matrices.append(m.T if rows > int(head[1]) else m)
        i += 1 + rows
    return np.stack(matrices)


def time_median(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def slow_dirichlet_ascent(X: np.ndarray) -> np.ndarray:
    """The reference's loop in plain Python: try each generator's image, restart the scan on a gain."""
    rows, cols = X.shape
    generators = [("row", r) for r in range(rows - 1)] + [("identity", 0)]
    generators += [("column", c) for c in range(cols - 1)]
    current, i = X.copy(), 0
    while i < len(generators):
        kind, k = generators[i]
        image = current.copy()
        if kind == "row":
            image[[k, k + 1]] = image[[k + 1, k]]
        elif kind == "column":
            image[:, [k, k + 1]] = image[:, [k + 1, k]]
        if tuple(image.ravel().tolist()) > tuple(current.ravel().tolist()):
            current, i = image, 0
        else:
            i += 1
    return current


def markdown(report: dict) -> str:
    n = report["n"]
    lines = [
        "# KS preprocessing speed",
        "",
        f"{n:,} vertex matrices, median of {report['repeats']} runs; {report['date']}, "
        f"{report['machine']['cpus']} CPUs, Python {report['python']}, numpy {report['numpy']}.",
        "",
        "| step | seconds | matrices/s |",
        "|---|---:|---:|",
    ]
    for name, seconds in report["median_seconds"].items():
        lines.append(f"| {name} | {seconds:.3f} | {n / seconds:,.0f} |")
    slow = report["slow_reference"]
    lines += [
        "",
        f"Reference-style Python loop for the Dirichlet ascent: {slow['ms_per_matrix']:.2f} ms/matrix "
        f"(sample of {slow['sample']}, identical results); "
        f"the vectorised version is {slow['speedup']:,.0f}x faster.",
        "",
    ]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    main()
