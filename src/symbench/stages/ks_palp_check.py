"""DVC stage ks_palp_check: recompute every (h11, h21) label with PALP and compare it with the KS header.

Writes reports/ks/palp_check.json. A mismatch fails the stage (the labels the models learn would be wrong);
where PALP is not installed the check is skipped with a warning and the report says so, so the pipeline still runs.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from symbench import paths
from symbench.atomic import write_json_atomic
from symbench.config import load_params
from symbench.ks import palp
from symbench.ks.parse import KSPolytopes
from symbench.stages.logging_setup import setup_logging

log = logging.getLogger(__name__)

REPORT = paths.KS_REPORTS / "palp_check.json"
NOT_FOUND = (
    f"PALP ({palp.EXECUTABLE}) not found; install Debian package palp or run scripts/setup-system.sh; "
    "label check skipped"
)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polytopes", type=Path, default=paths.KS_POLYTOPES)
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    setup_logging()
    max_entries = load_params().ks.palp.max_entries
    report = run_palp_check(args.polytopes, args.output, max_entries=max_entries)
    if report["status"] == "failed":
        raise SystemExit(
            f"PALP disagrees with {report['n_mismatched']} of {report['n_checked']} header labels of {args.polytopes}; "
            f"first: {_describe(report['first_mismatches'])} (details in {args.output})"
        )


def run_palp_check(polytopes_path: Path, output: Path, *, max_entries: int | None = None) -> dict[str, Any]:
    """Check the first ``max_entries`` (None: all) labels with PALP, write the JSON report, return it."""
    executable = palp.find_palp()
    if executable is None:
        log.warning(NOT_FOUND)
        report = {
            "status": "skipped",
            "reason": NOT_FOUND,
            "palp_executable": None,
            "palp_version": None,
            "max_entries": max_entries,
            "n_checked": 0,
            "n_mismatched": None,
            "seconds": 0.0,
            "first_mismatches": [],
        }
        write_json_atomic(output, report)
        return report

    polytopes = KSPolytopes.load(polytopes_path)
    n = len(polytopes) if max_entries is None else min(int(max_entries), len(polytopes))
    start = time.perf_counter()
    hodge = palp.palp_hodge_numbers(polytopes.vertices[:n], executable=executable)
    seconds = time.perf_counter() - start
    comparison = palp.compare_hodge_numbers(polytopes.h11[:n], polytopes.h21[:n], hodge)
    report = {
        "status": "passed" if comparison.passed else "failed",
        "palp_executable": str(executable),
        "palp_version": palp.palp_version(executable),
        "max_entries": max_entries,
        "n_checked": comparison.n_checked,
        "n_mismatched": comparison.n_mismatched,
        "seconds": round(seconds, 3),
        "first_mismatches": [asdict(m) for m in comparison.first_mismatches],
    }
    write_json_atomic(output, report)
    log.info(
        "PALP %s: %d of %d labels checked in %.1f s, %d mismatched -> %s",
        report["palp_version"] or executable,
        comparison.n_checked,
        len(polytopes),
        seconds,
        comparison.n_mismatched,
        output,
    )
    return report


def _describe(mismatches: list[dict[str, Any]]) -> str:
    """``entry 17: header (h11, h21) = (6, 46), PALP (7, 43); ...`` for the report's mismatch list."""
    return "; ".join(
        f"entry {m['index']}: header (h11, h21) = {tuple(m['expected'])}, PALP {tuple(m['palp'])}" for m in mismatches
    )


if __name__ == "__main__":
    main()
