"""Train cells of the KS study from the command line; sweep many with Hydra multirun, locally or on SLURM.

    python -m symbench.train cell.model=hartford cell.variant=canonical_permuted
    python -m symbench.train -m hydra/launcher=slurm trainer=gpu cell.model=cnn,hartford cell.seed=0,1,2

Calls :func:`symbench.ks.experiment.run_ks_cell`, exactly what the DVC stage ks_train runs, on the data that
``dvc repro`` prepared (variants and split). Each cell writes ``metrics.json`` (the same record as a cell of
``reports/ks/metrics/``) and its model below the Hydra output folder (``outputs/ks/...`` for one run,
``multirun/ks/<model>/<variant>/seed<k>/`` for a sweep; see conf/train.yaml). Under DDP only rank 0 writes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from symbench.atomic import write_json_atomic
from symbench.ks.experiment import run_ks_cell

log = logging.getLogger(__name__)


@hydra.main(config_path="../../conf", config_name="train", version_base=None)
def main(cfg: DictConfig) -> float:
    """One cell; returns its test accuracy (what a Hydra sweeper would optimise)."""
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    cell = cfg.cell
    record = run_ks_cell(cfg, cell.model, cell.variant, int(cell.seed), out_dir / "model", resume=bool(cell.resume))
    if rank_zero_only.rank == 0:  # Lightning sets the rank from the DDP/SLURM environment
        write_json_atomic(out_dir / "metrics.json", record)
        log.info("wrote %s", out_dir / "metrics.json")
    return float(record["test_accuracy"])


if __name__ == "__main__":
    main()
