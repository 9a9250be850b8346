"""Wall time of the music study's stages in this checkout: every music stage forced once, one after another.

    .venv/bin/python bench/bench_music_repro.py   # on the committed params.yaml (the default profile)

Runs ``dvc repro --force --single-item <stage>`` for each stage whose name starts with ``music_`` (in the order of
``dvc stage list``, which is pipeline order) and then ``report``, so each stage is timed on its own from the
command's start to its end (DVC's own hashing and lock writing included), and nothing of the KS study reruns. The
fixture stages regenerate their trees, so this is what a fresh clone's ``dvc repro`` spends on the music side.
Writes reports/bench/music_repro_<profile>.json and .md: per stage, per side (brain: music_bids ... music_report;
audio: music_gtzan ... music_audio_report), the total, and whether the study's budget (15 min for ``default``) was met.
Needs the KS side built already only for the final ``report`` stage's KS section.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from symbench import paths
from symbench.atomic import write_json_atomic, write_text_atomic
from symbench.config import load_params

BUDGET_S = {"default": 15 * 60}
BRAIN = ("music_bids", "music_register", "music_extract", "music_decode", "music_report")
AUDIO = ("music_gtzan", "music_audio_features", "music_audio_train", "music_audio_report")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=paths.BENCH_REPORTS)
    args = parser.parse_args()
    profile = load_params().run.profile
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    run = lambda *cmd: subprocess.run(cmd, cwd=paths.ROOT, env=env, capture_output=True, text=True)  # noqa: E731
    head = run("git", "rev-parse", "HEAD").stdout.strip()
    dirty = bool(run("git", "status", "--porcelain", "--untracked-files=no").stdout.strip())
    names = run("dvc", "stage", "list", "--name-only").stdout.split()
    stages = [n for n in names if n.startswith("music_")] + ["report"]
    seconds: dict[str, float] = {}
    rc = 0
    for stage in stages:
        start = time.perf_counter()
        done = run("dvc", "repro", "--force", "--single-item", stage)
        seconds[stage] = time.perf_counter() - start
        print(f"{stage}: {seconds[stage]:.1f} s (exit {done.returncode})", flush=True)
        if done.returncode:
            rc = done.returncode
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            break
    sides = {side: sum(v for k, v in seconds.items() if k.split("@")[0] in prefixes)
             for side, prefixes in (("brain", BRAIN), ("audio", AUDIO))}  # fmt: skip
    music = sides["brain"] + sides["audio"]
    budget = BUDGET_S.get(profile)
    result = {
        "profile": profile,
        "how": "dvc repro --force --single-item, each music stage in pipeline order, then report",
        "commit": head + ("-dirty" if dirty else ""),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "returncode": rc,
        "music_seconds": round(music, 1),
        "side_seconds": {k: round(v, 1) for k, v in sides.items()},
        "report_seconds": round(seconds.get("report", float("nan")), 1),
        "budget_seconds": budget,
        "within_budget": None if budget is None else bool(rc == 0 and music <= budget),
        "stages": {k: round(v, 1) for k, v in seconds.items()},
    }
    write_json_atomic(args.out / f"music_repro_{profile}.json", result)
    write_text_atomic(args.out / f"music_repro_{profile}.md", _markdown(result))
    print(json.dumps({k: v for k, v in result.items() if k != "stages"}, indent=2))
    if rc:
        raise SystemExit(f"dvc repro failed with exit code {rc}")


def _markdown(r: dict) -> str:
    budget = r["budget_seconds"]
    verdict = "" if budget is None else f" (budget {budget / 60:.0f} min: {'met' if r['within_budget'] else 'NOT met'})"
    return "\n".join(
        [
            f"# Music study wall time, profile `{r['profile']}`",
            "",
            f"{r['how']}, at {r['commit'][:10]}{'-dirty' if r['commit'].endswith('-dirty') else ''}; {r['date']}, "
            f"{r['machine']['cpus']} CPUs, Python {r['machine']['python']}. Exit code {r['returncode']}.",
            "",
            f"**Music stages: {r['music_seconds'] / 60:.1f} min**{verdict} — brain side "
            f"{r['side_seconds']['brain'] / 60:.1f} min, audio side {r['side_seconds']['audio'] / 60:.1f} min; "
            f"then the report page {r['report_seconds']:.0f} s.",
            "",
            "| stage | seconds |",
            "|---|---:|",
            *[f"| {k} | {v:.1f} |" for k, v in r["stages"].items()],
            "",
        ]
    )


if __name__ == "__main__":
    main()
