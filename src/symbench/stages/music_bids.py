"""DVC stage music_bids: data/raw/ds003720, the real volumes (mirror, then OpenNeuro) or the synthetic fixture."""

from __future__ import annotations

import logging

from omegaconf import OmegaConf

from symbench import paths
from symbench.config import load_params
from symbench.music import layout
from symbench.music.bids_source import BidsSelection, build_bids_tree, choose_source
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    setup_logging()
    cfg = load_params().music.data
    selection = BidsSelection(
        subjects=tuple(layout.subject_label(s) for s in cfg.subjects),
        runs={task: [int(r) for r in runs] for task, runs in cfg.runs.items()},
    )
    mirror = paths.resolve(cfg.mirror)
    source, reason = choose_source(cfg.source, mirror, selection)
    logging.getLogger(__name__).info("ds003720: %s (%s)", source, reason)
    build_bids_tree(
        paths.MUSIC_BIDS,
        source,
        selection,
        mirror=mirror,
        base_url=cfg.base_url,
        fixture=OmegaConf.to_container(cfg.fixture, resolve=True),  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    main()
