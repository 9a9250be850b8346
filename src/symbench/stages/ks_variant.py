"""DVC stage ks_variant: one data variant's vertex matrices -> data/processed/ks/variants/<variant>.npz."""

from __future__ import annotations

import argparse
import logging
import time

from symbench import paths
from symbench.atomic import save_npz_atomic
from symbench.config import load_params
from symbench.ks.parse import KSPolytopes
from symbench.ks.variants import VARIANTS, make_variant
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variant", choices=VARIANTS)
    args = parser.parse_args()
    setup_logging()
    cfg = load_params().ks
    start = time.perf_counter()
    vertices = make_variant(args.variant, KSPolytopes.load(paths.KS_POLYTOPES).vertices, cfg.permute_seed)
    save_npz_atomic(paths.ks_variant(args.variant), vertices=vertices)
    logging.getLogger(__name__).info(
        "variant %s of %d matrices in %.2f s", args.variant, len(vertices), time.perf_counter() - start
    )


if __name__ == "__main__":
    main()
