"""Wall time of the KS pipeline from a fresh clone: `git clone` of HEAD, then `dvc repro` with a profile.

    .venv/bin/python bench/bench_ks_repro.py [--profile default] [--keep]
    .venv/bin/python bench/bench_ks_repro.py --in-place   # `dvc repro --force` here, on the committed params

Uses this checkout's .venv; the clone's params.yaml is composed for the profile with the data mirror made
absolute (the clone lives in a temporary folder). Writes reports/bench/ks_repro_<profile>.json and .md with the
total and per-stage wall time, and whether the study's budget (30 min for `default`) was met.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from symbench import paths
from symbench.atomic import write_json_atomic, write_text_atomic
from symbench.config import load_params

BUDGET_S = {"default": 30 * 60, "smoke": 5 * 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    parser.add_argument("--in-place", action="store_true", help="force-run this checkout's pipeline instead")
    parser.add_argument("--out", type=Path, default=paths.BENCH_REPORTS)
    args = parser.parse_args()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1", "PYTHONHASHSEED": "0"}
    if args.in_place:
        args.profile = load_params().run.profile
        stages, total, rc = _timed_repro(paths.ROOT, env, force=True)
        _write(args, head, stages, total, rc)
        return
    mirror = paths.resolve(load_params().ks.fetch.mirror)
    clone = Path(tempfile.mkdtemp(prefix="symbench-bench-")) / "repo"
    try:
        subprocess.run(["git", "clone", "--quiet", str(paths.ROOT), str(clone)], check=True)
        env.update(PYTHONPATH=str(clone / "src"), SYMBENCH_ROOT=str(clone))
        subprocess.run(
            [sys.executable, "-m", "symbench.config", f"profile={args.profile}", f"ks.fetch.mirror={mirror}"],
            cwd=clone,
            env=env,
            check=True,
        )
        stages, total, rc = _timed_repro(clone, env)
    finally:
        if not args.keep:
            shutil.rmtree(clone.parent, ignore_errors=True)
    _write(args, head, stages, total, rc)


def _write(args: argparse.Namespace, head: str, stages: dict[str, float], total: float, rc: int) -> None:
    budget = BUDGET_S.get(args.profile)
    result = {
        "profile": args.profile,
        "how": "dvc repro --force in the checkout" if args.in_place else "git clone of HEAD, then dvc repro",
        "commit": head,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "returncode": rc,
        "total_seconds": round(total, 1),
        "budget_seconds": budget,
        "within_budget": None if budget is None else bool(rc == 0 and total <= budget),
        "stages": {k: round(v, 1) for k, v in stages.items()},
    }
    write_json_atomic(args.out / f"ks_repro_{args.profile}.json", result)
    write_text_atomic(args.out / f"ks_repro_{args.profile}.md", _markdown(result))
    print(json.dumps({k: v for k, v in result.items() if k != "stages"}, indent=2))
    if rc != 0:
        raise SystemExit(f"dvc repro failed with exit code {rc}")


def _timed_repro(clone: Path, env: dict[str, str], force: bool = False) -> tuple[dict[str, float], float, int]:
    """Run `dvc repro`, timing each stage from its 'Running stage' line to the next one (or the end)."""
    starts: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    with subprocess.Popen(
        ["dvc", "repro", *(["--force"] if force else [])],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            if m := re.match(r"Running stage '([^']+)'", line):
                starts.append((m.group(1), time.perf_counter()))
        rc = proc.wait()
    end = time.perf_counter()
    stops = [t for _, t in starts[1:]] + [end]
    return {name: stop - start for (name, start), stop in zip(starts, stops, strict=True)}, end - t0, rc


def _markdown(r: dict) -> str:
    lines = [
        f"# KS pipeline wall time, profile `{r['profile']}`",
        "",
        f"{r['how']} at {r['commit'][:10]}; {r['date']}, {r['machine']['cpus']} CPUs, "
        f"Python {r['machine']['python']}. Exit code {r['returncode']}.",
        "",
        f"**Total: {r['total_seconds'] / 60:.1f} min**"
        + (
            ""
            if r["budget_seconds"] is None
            else f" (budget {r['budget_seconds'] / 60:.0f} min: {'met' if r['within_budget'] else 'NOT met'})"
        ),
        "",
        "| stage | seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.1f} |" for k, v in r["stages"].items()],
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
