"""Shapes, gradients and the exact invariances each model claims."""

from __future__ import annotations

import pytest
import torch

from symbench.models.hartford import ExchangeableLayer, HartfordNet
from symbench.models.invariant_mlp import InvariantMLP
from symbench.models.ks_cnn import KSCNN

# one thread: tiny models gain nothing from two, and lose badly when the other core is busy
torch.set_num_threads(1)

ROWS, COLS = 4, 26


def _batch(n: int = 8, dtype: torch.dtype = torch.float32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-8, 7, (n, ROWS, COLS), generator=g).to(dtype)


def _random_permutations(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sigma = torch.argsort(torch.rand(n, ROWS, generator=g), dim=1)
    tau = torch.argsort(torch.rand(n, COLS, generator=g), dim=1)
    return sigma, tau


def _permute(x: torch.Tensor, sigma: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """``out[b, ..., i, j] = x[b, ..., sigma[b, i], tau[b, j]]`` on the last two axes."""
    idx = torch.arange(x.shape[0])[:, None, None]
    moved = x.movedim((-2, -1), (1, 2))  # (B, R, C, ...)
    return moved[idx, sigma[:, :, None], tau[:, None, :]].movedim((1, 2), (-2, -1))


SMALL_MODELS = {
    "cnn": lambda n: KSCNN(n_outputs=n),
    "cnn_relu_dropout": lambda n: KSCNN(n_outputs=n, channels=(8, 8), conv_activation=True, dropout=0.1),
    "invariant_mlp": lambda n: InvariantMLP(n_outputs=n, encoder_widths=(32, 32), decoder_widths=(32,)),
    "hartford": lambda n: HartfordNet(n_outputs=n, channels=(16, 16), head_hidden=(32,)),
    "hartford_bn_meanmax": lambda n: HartfordNet(
        n_outputs=n, channels=(16, 16), head_hidden=(32,), pool="mean+max", norm="batch"
    ),
}


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
@pytest.mark.parametrize("n_outputs", [1, 48])
def test_model_forward_gives_finite_outputs_of_shape_batch_by_n_outputs_and_backprop_works(
    name: str, n_outputs: int
) -> None:
    torch.manual_seed(0)
    model = SMALL_MODELS[name](n_outputs)
    x = _batch(8)
    out = model(x)
    assert out.shape == (8, n_outputs)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_models_with_reference_default_sizes_build_and_run() -> None:
    x = _batch(4)
    for model in (KSCNN(n_outputs=1), InvariantMLP(n_outputs=43), HartfordNet(n_outputs=35)):
        model.eval()
        assert model(x).shape[0] == 4


def test_exchangeable_layer_is_equivariant_under_row_and_column_permutations() -> None:
    torch.manual_seed(0)
    layer = ExchangeableLayer(3, 5).double()
    x = torch.randn(16, 3, ROWS, COLS, dtype=torch.float64)
    sigma, tau = _random_permutations(16, seed=1)
    permuted_then_layer = layer(_permute(x, sigma, tau))
    layer_then_permuted = _permute(layer(x), sigma, tau)
    torch.testing.assert_close(permuted_then_layer, layer_then_permuted, rtol=0, atol=1e-12)


def test_exchangeable_layer_mixes_element_row_column_and_total_means() -> None:
    layer = ExchangeableLayer(1, 1).double()
    with torch.no_grad():
        for conv, w in ((layer.element, 1.0), (layer.row_mean, 10.0), (layer.column_mean, 100.0)):
            conv.weight.fill_(w)
        layer.all_mean.weight.fill_(1000.0)
        layer.element.bias.fill_(0.5)
    x = torch.randn(2, 1, ROWS, COLS, dtype=torch.float64)
    expected = (
        x
        + 10 * x.mean(dim=3, keepdim=True)
        + 100 * x.mean(dim=2, keepdim=True)
        + 1000 * x.mean(dim=(2, 3), keepdim=True)
        + 0.5
    )
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize("pool", ["mean", "max", "mean+max"])
@pytest.mark.parametrize("norm", ["none", "batch"])
def test_hartford_net_is_invariant_under_random_row_and_column_permutations(pool: str, norm: str) -> None:
    torch.manual_seed(0)
    model = HartfordNet(n_outputs=7, channels=(16, 16, 16), head_hidden=(32, 32), pool=pool, norm=norm)
    model = model.double().eval()
    x = _batch(6, torch.float64)
    reference = model(x)
    # many random (σ, τ) per matrix: repeat the batch 20 times, each copy with its own permutations
    repeats = 20
    xs = x.repeat(repeats, 1, 1)
    sigma, tau = _random_permutations(len(xs), seed=2)
    out = model(_permute(xs, sigma, tau))
    torch.testing.assert_close(out, reference.repeat(repeats, 1), rtol=0, atol=1e-10)


def test_hartford_net_is_invariant_in_float32_to_the_usual_tolerance() -> None:
    torch.manual_seed(0)
    model = HartfordNet(n_outputs=5, channels=(32, 32), head_hidden=(32,)).eval()
    x = _batch(32)
    sigma, tau = _random_permutations(32, seed=3)
    torch.testing.assert_close(model(_permute(x, sigma, tau)), model(x), rtol=0, atol=1e-4)


def test_invariant_mlp_row_branch_is_invariant_under_row_permutations() -> None:
    torch.manual_seed(0)
    model = InvariantMLP(n_outputs=5, encoder_widths=(32, 32)).double().eval()
    x = _batch(16, torch.float64)
    sigma, _ = _random_permutations(16, seed=4)
    identity = torch.arange(COLS).expand(16, COLS)
    torch.testing.assert_close(
        model.row_set_features(_permute(x, sigma, identity)), model.row_set_features(x), rtol=0, atol=0
    )


def test_invariant_mlp_column_branch_is_invariant_under_column_permutations() -> None:
    torch.manual_seed(0)
    model = InvariantMLP(n_outputs=5, encoder_widths=(32, 32)).double().eval()
    x = _batch(16, torch.float64)
    _, tau = _random_permutations(16, seed=5)
    identity = torch.arange(ROWS).expand(16, ROWS)
    torch.testing.assert_close(
        model.column_set_features(_permute(x, identity, tau)), model.column_set_features(x), rtol=0, atol=0
    )


def test_invariant_mlp_output_is_not_invariant_under_row_or_column_permutations_as_documented() -> None:
    torch.manual_seed(0)
    model = InvariantMLP(n_outputs=5, encoder_widths=(32, 32), decoder_widths=(32,)).double().eval()
    x = _batch(16, torch.float64)
    sigma, tau = _random_permutations(16, seed=6)
    rows_only = _permute(x, sigma, torch.arange(COLS).expand(16, COLS))
    columns_only = _permute(x, torch.arange(ROWS).expand(16, ROWS), tau)
    assert not torch.allclose(model(rows_only), model(x))
    assert not torch.allclose(model(columns_only), model(x))


def test_model_constructors_reject_bad_options() -> None:
    with pytest.raises(ValueError, match="pool"):
        HartfordNet(n_outputs=2, pool="sum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="norm"):
        HartfordNet(n_outputs=2, norm="layer")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pool"):
        InvariantMLP(n_outputs=2, pool="min")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="do not fit"):
        KSCNN(n_outputs=2, channels=(4, 4, 4, 4))
