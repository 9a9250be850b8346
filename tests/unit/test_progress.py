"""Progress bars draw on a terminal only, so CI logs stay clean; an environment variable overrides."""

from __future__ import annotations

import io
import sys

from symbench.progress import bars_enabled, byte_bar, progress


def test_bars_are_off_without_a_terminal_and_can_be_forced(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.delenv("SYMBENCH_PROGRESS", raising=False)
    assert not bars_enabled()
    assert list(progress(range(3), desc="x")) == [0, 1, 2]
    assert sys.stderr.getvalue() == ""  # nothing drawn into a log
    monkeypatch.setenv("SYMBENCH_PROGRESS", "1")
    assert bars_enabled()
    with byte_bar("file", total=10) as bar:
        bar.update(10)
    assert "file" in sys.stderr.getvalue()
    monkeypatch.setenv("SYMBENCH_PROGRESS", "0")
    assert not bars_enabled()
