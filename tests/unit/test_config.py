"""The Hydra tree: params.yaml is its composition, and every config file composes and instantiates."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from symbench import paths
from symbench.config import PARAMS_FILE, compose_config, compose_params_yaml

PROFILES = sorted(p.stem for p in (paths.CONF / "profile").glob("*.yaml"))
KS_MODELS = sorted(p.stem for p in (paths.CONF / "model").glob("ks_*.yaml"))


def test_committed_params_yaml_equals_a_fresh_composition_of_conf():
    assert PARAMS_FILE.read_text(encoding="utf-8") == compose_params_yaml(), (
        "params.yaml is stale: run `make params` (default profile) and commit it"
    )


def test_the_three_profiles_exist():
    assert {"smoke", "default", "paper"} <= set(PROFILES)


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_composes_with_every_model_and_variant(profile):
    cfg = compose_config([f"profile={profile}"])
    assert cfg.run.profile == profile
    assert list(cfg.ks.model_names) == list(cfg.ks.models)
    assert set(cfg.ks.model_names) >= {"cnn", "xgboost", "invariant_mlp", "hartford"}
    assert len(cfg.ks.seeds) >= 1
    assert OmegaConf.missing_keys(cfg) == set()


@pytest.mark.parametrize("profile", PROFILES)
def test_every_torch_model_config_instantiates_and_runs_a_forward_pass(profile):
    cfg = compose_config([f"profile={profile}"])
    x = torch.randint(-8, 7, (3, 4, 26)).float()
    for name, model_cfg in cfg.ks.models.items():
        if model_cfg.kind != "torch":
            assert model_cfg.kind == "xgboost", name
            continue
        net = instantiate(model_cfg.net)
        out = net(x)
        assert out.shape[0] == 3 and torch.isfinite(out).all(), name
        params = list(net.parameters())
        instantiate(model_cfg.optimizer)(params)  # the optimizer partial accepts the parameters


@pytest.mark.parametrize("model_file", KS_MODELS)
def test_every_model_file_is_usable_in_any_slot(model_file):
    cfg = compose_config([f"+model@ks.models.extra={model_file}"])
    assert cfg.ks.models.extra.kind in {"torch", "xgboost"}
    assert "extra" in cfg.ks.model_names
