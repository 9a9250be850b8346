"""DVC stage ks_train: fit one model with one seed on every data variant; write the models and one metrics JSON.

One process per (model, seed) rather than per cell: importing torch and Lightning costs ~6 s a process on a
2-core machine, which over the 63 cells of the table would be a fifth of the default profile's 30-minute budget.
``dvc exp run -S ks.models.<model>...`` still re-runs only that model's stages. ``--variant`` (repeatable) limits
the run to some variants, for debugging outside DVC.
"""

from __future__ import annotations

import argparse

from symbench import paths
from symbench.atomic import write_json_atomic
from symbench.config import load_params
from symbench.ks.experiment import run_ks_cell
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--variant", action="append", help="only this variant (repeatable); default: ks.variants")
    args = parser.parse_args()
    setup_logging()
    cfg = load_params()
    variants = args.variant or list(cfg.ks.variants)
    cells = {
        variant: run_ks_cell(cfg, args.model, variant, args.seed, paths.ks_run_dir(args.model, variant, args.seed))
        for variant in variants
    }
    write_json_atomic(
        paths.ks_metrics(args.model, args.seed),
        {"study": "ks", "model": args.model, "seed": args.seed, "cells": cells},
    )


if __name__ == "__main__":
    main()
