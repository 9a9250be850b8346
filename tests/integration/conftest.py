"""The smoke-profile repository every integration test works in: a git copy of the tracked tree, after `dvc repro`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from symbench import paths

BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(cwd / "src"),  # the copy's own code, not the checkout's editable install
        "SYMBENCH_ROOT": str(cwd),
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "PYTHONHASHSEED": "0",
    }
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory) -> Path:
    """A git copy of the tracked tree with params.yaml composed for the smoke profile, after one `dvc repro`."""
    repo = tmp_path_factory.mktemp("symbench") / "repo"
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, tracked):
        src = paths.ROOT / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    _run(
        [
            sys.executable,
            "-m",
            "symbench.config",
            "profile=smoke",
            f"ks.fetch.mirror={paths.SHARED_DATA}",
            f"music.data.mirror={paths.SHARED_DATA / 'ds003720'}",
        ],
        repo,
    )
    for args in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit", "-qm", "smoke"],
    ):
        _run(args, repo)
    _run(["dvc", "repro"], repo)
    return repo


@pytest.fixture
def repo_run() -> Callable[[list[str], Path], str]:
    """Run a command in a copy of the repository with the copy's own code; fails the test on a non-zero exit."""
    return _run
