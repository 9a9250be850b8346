"""DVC stage ks_train: fit one (model, variant, seed) cell; write its model folder and metrics JSON."""

from __future__ import annotations

import argparse

from symbench import paths
from symbench.atomic import write_json_atomic
from symbench.config import load_params
from symbench.ks.experiment import run_ks_cell
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    setup_logging()
    record = run_ks_cell(
        load_params(),
        args.model,
        args.variant,
        args.seed,
        paths.ks_run_dir(args.model, args.variant, args.seed),
    )
    write_json_atomic(paths.ks_metrics(args.model, args.variant, args.seed), record)


if __name__ == "__main__":
    main()
