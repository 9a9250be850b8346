"""DVC stage music_gtzan: data/raw/gtzan (genres/<genre>/<genre>.000NN.wav), real or the synthetic fixture.

``music.audio.gtzan.source``: auto takes the real tarball when it is in the mirror (``<mirror>/gtzan/genres.tar.gz``,
sha256-checked, extracted safely), else generates the fixture (``FIXTURE.json`` labels it); real: mirror, then the
public URLs (fails offline naming where to put the file); fixture: always the fixture. Writes
reports/music/gtzan_data.json: which source, and every missing, unreadable or short clip (recorded, not fatal).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import fields

from omegaconf import OmegaConf

from symbench import paths
from symbench.atomic import write_json_atomic
from symbench.config import load_params
from symbench.music.events import GTZAN_GENRES
from symbench.music.gtzan import GTZAN_MIRROR_RELPATH, extract_gtzan, fetch_gtzan, scan_gtzan, scan_summary
from symbench.music.gtzan_fixture import GtzanFixtureConfig, generate_gtzan_fixture
from symbench.stages.logging_setup import setup_logging

log = logging.getLogger(__name__)


def main() -> None:
    setup_logging()
    cfg = load_params().music.audio.gtzan
    mirror = paths.resolve(cfg.mirror)
    source = cfg.source
    if source not in ("auto", "real", "fixture"):
        raise SystemExit(f"music.audio.gtzan.source {source!r}: expected auto, real or fixture")
    if source == "auto":
        source = "real" if (mirror / GTZAN_MIRROR_RELPATH).is_file() else "fixture"
        log.info("GTZAN: %s (%s %s)", source, mirror / GTZAN_MIRROR_RELPATH, "found" if source == "real" else "absent")
    dest = paths.GTZAN_RAW
    shutil.rmtree(dest, ignore_errors=True)
    if source == "real":
        tarball = fetch_gtzan(paths.RAW / "gtzan.tar.gz", mirror=mirror)
        extract_gtzan(tarball, dest)
    else:
        overrides = OmegaConf.to_container(cfg.fixture, resolve=True)
        known = {f.name for f in fields(GtzanFixtureConfig)}
        unknown = sorted(set(overrides) - known)  # type: ignore[arg-type]
        if unknown:
            raise SystemExit(f"music.audio.gtzan.fixture: unknown keys {unknown}; expected {sorted(known)}")
        overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}  # type: ignore[union-attr]
        if isinstance(overrides.get("tracks"), dict):  # {per_genre: n}: the first n clips of every genre
            n = int(overrides["tracks"]["per_genre"])
            overrides["tracks"] = tuple(f"{g}.{i:05d}" for g in GTZAN_GENRES for i in range(n))
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        generate_gtzan_fixture(partial, GtzanFixtureConfig(**overrides))
        partial.rename(dest)
    scan = scan_gtzan(dest)
    summary = scan_summary(scan)
    write_json_atomic(paths.MUSIC_REPORTS / "gtzan_data.json", {"data_source": source, **summary})
    log.info("GTZAN scan: %s", {k: v for k, v in summary.items() if not isinstance(v, list)})


if __name__ == "__main__":
    main()
