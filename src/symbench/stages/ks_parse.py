"""DVC stage ks_parse: the KS text file -> data/processed/ks/polytopes.npz (vertices, Hodge numbers, counts)."""

from __future__ import annotations

import logging

from symbench import paths
from symbench.ks.parse import read_ks_file
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    setup_logging()
    polytopes = read_ks_file(paths.KS_RAW / "v26.gz")
    polytopes.save(paths.KS_POLYTOPES)
    logging.getLogger(__name__).info("%d polytopes -> %s", len(polytopes), paths.KS_POLYTOPES)


if __name__ == "__main__":
    main()
