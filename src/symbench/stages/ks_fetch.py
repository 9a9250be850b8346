"""DVC stage ks_fetch: data/raw/ks/v26.gz from the local mirror or upstream, checked against its sha256."""

from __future__ import annotations

import logging

from symbench import paths
from symbench.config import load_params
from symbench.ks.fetch import fetch_v26
from symbench.stages.logging_setup import setup_logging


def main() -> None:
    setup_logging()
    cfg = load_params().ks.fetch
    mirror = paths.resolve(cfg.mirror) if cfg.mirror else None
    dest = fetch_v26(paths.KS_RAW / "v26.gz", mirror=mirror, url=cfg.url, sha256=cfg.sha256)
    logging.getLogger(__name__).info("v26.gz ready at %s", dest)


if __name__ == "__main__":
    main()
