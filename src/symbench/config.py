"""Compose the Hydra tree in ``conf/`` into ``params.yaml``, the file every DVC stage reads.

DVC composes ``conf/`` itself on ``dvc exp run`` (``hydra.enabled``); plain ``dvc repro`` reads the committed
``params.yaml``. :func:`compose_params_yaml` produces the same text DVC writes, so a test can pin the two together.

    python -m symbench.config                 # regenerate params.yaml (default profile)
    python -m symbench.config profile=smoke   # any Hydra overrides
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from symbench import paths
from symbench.atomic import write_text_atomic

PARAMS_FILE = paths.ROOT / "params.yaml"


def compose_config(overrides: Sequence[str] = (), config_dir: Path = paths.CONF) -> DictConfig:
    """The resolved composition of ``conf/config.yaml`` with Hydra ``overrides``."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(config_dir.resolve()), version_base=None):
        cfg = compose(config_name="config", overrides=list(overrides))
    OmegaConf.resolve(cfg)
    return cfg


def compose_params_yaml(overrides: Sequence[str] = (), config_dir: Path = paths.CONF) -> str:
    """The text of ``params.yaml`` for ``overrides``, byte for byte what ``dvc exp run`` would write."""
    return OmegaConf.to_yaml(compose_config(overrides, config_dir))


def load_params(path: Path | None = None) -> DictConfig:
    """The parameters the stages read (``params.yaml`` at the repository root unless ``path`` is given)."""
    path = path or PARAMS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no parameters file; run `make params` to compose it from conf/")
    cfg = OmegaConf.load(path)
    if not isinstance(cfg, DictConfig):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return cfg


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. profile=smoke")
    parser.add_argument("--output", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    write_text_atomic(args.output, compose_params_yaml(args.overrides))


if __name__ == "__main__":
    main()
