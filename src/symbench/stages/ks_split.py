"""DVC stage ks_split: train/val/test row indices (the reference's seed-42 shuffle, 80/20)."""

from __future__ import annotations

import logging

import numpy as np

from symbench import paths
from symbench.atomic import save_npz_atomic
from symbench.config import load_params
from symbench.ks.split import reference_split
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    setup_logging()
    cfg = load_params().ks.split
    with np.load(paths.KS_POLYTOPES) as npz:
        n = len(npz["h11"])
    split = reference_split(
        n,
        seed=cfg.seed,
        test_fraction=cfg.test_fraction,
        val_fraction=cfg.val_fraction,
        val_seed=cfg.val_seed,
        max_train=cfg.max_train,
        max_test=cfg.max_test,
    )
    save_npz_atomic(paths.KS_SPLIT, train=split.train, val=split.val, test=split.test)
    logging.getLogger(__name__).info(
        "split of %d: %d train, %d val, %d test", n, len(split.train), len(split.val), len(split.test)
    )


if __name__ == "__main__":
    main()
