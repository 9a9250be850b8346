"""The ViT, PointNet, PointNet++, invariant-feature MLP and column set transformer: shapes, gradients, the exact
invariances each claims (and the ones it disclaims), and PointNet++'s sampling and grouping against brute force."""

from __future__ import annotations

import random
from itertools import permutations

import numpy as np
import pytest
import torch

from symbench.groups import apply_permutations_torch, canonical_form, random_permutations_torch
from symbench.models.column_transformer import ColumnSetTransformer
from symbench.models.invariant_features import FEATURES, InvariantFeatureMLP, invariant_features
from symbench.models.pointnet import KSPointNet, PointNetLayer
from symbench.models.pointnet2 import (
    KSPointNet2,
    ball_query,
    farthest_point_sample,
    group_points,
    knn_query,
)
from symbench.models.vit import REFERENCE_COLUMN_SHUFFLE, KSViT, stacked_permutations_image

torch.set_num_threads(1)

ROWS, COLS = 4, 26


def _batch(n: int = 8, dtype: torch.dtype = torch.float32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-8, 7, (n, ROWS, COLS), generator=g).to(dtype)


def _batch_with_symmetric_columns(n: int = 8, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    """Random matrices where the second half of the batch has some columns replaced by minus others."""
    x = _batch(n, dtype, seed)
    for b in range(n // 2, n):
        for j in range(b - n // 2 + 1):
            x[b, :, COLS - 1 - j] = -x[b, :, j]
    return x


def _orbit(x: torch.Tensor, copies: int, seed: int, rows: bool = True, cols: bool = True) -> torch.Tensor:
    """``copies`` random images of each matrix of ``x`` under σ (if ``rows``) and τ (if ``cols``), copy-major."""
    xs = x.repeat(copies, 1, 1)
    sigma, tau = random_permutations_torch(torch.Generator().manual_seed(seed), len(xs), ROWS, COLS)
    if not rows:
        sigma = torch.arange(ROWS).expand_as(sigma)
    if not cols:
        tau = torch.arange(COLS).expand_as(tau)
    return apply_permutations_torch(xs, sigma, tau)


SMALL_MODELS = {
    "vit_matrix": lambda n: KSViT(n_outputs=n, dim=16, depth=2, heads=2, mlp_dim=32),
    "vit_matrix_1x1_mean": lambda n: KSViT(n_outputs=n, patch=(1, 1), dim=16, depth=1, heads=2, pool="mean"),
    "vit_stacked": lambda n: KSViT(
        n_outputs=n,
        image="stacked_permutations",
        patch=4,
        dim=16,
        depth=1,
        heads=2,
        head_dim=8,
        mlp_dim=32,
        pool="flatten",
        head_hidden=(32, 16),
        head_dropout=0.5,
        attention_dropout=0.1,
    ),
    "pointnet": lambda n: KSPointNet(n_outputs=n, widths=(8, 16), head_hidden=(16,)),
    "pointnet2_knn": lambda n: KSPointNet2(n_outputs=n, widths=((8, 8), (16,)), global_widths=(16,), head_hidden=(16,)),
    "pointnet2_ball": lambda n: KSPointNet2(
        n_outputs=n, widths=((8, 8), (16,)), global_widths=(16,), head_hidden=(16,), grouping="ball", radii=(6, 12)
    ),
    "feature_mlp": lambda n: InvariantFeatureMLP(n_outputs=n, hidden=(32, 32)),
    "column_transformer": lambda n: ColumnSetTransformer(n_outputs=n, dim=16, depth=2, heads=2, dropout=0.1),
    "column_transformer_gram": lambda n: ColumnSetTransformer(n_outputs=n, dim=16, depth=2, heads=2, gram_bias=True),
}


@pytest.mark.parametrize("name", sorted(SMALL_MODELS))
@pytest.mark.parametrize("n_outputs", [1, 48])
def test_zoo_model_forward_gives_finite_outputs_of_shape_batch_by_n_outputs_and_backprop_works(
    name: str, n_outputs: int
) -> None:
    torch.manual_seed(0)
    model = SMALL_MODELS[name](n_outputs)
    out = model(_batch(8))
    assert out.shape == (8, n_outputs)
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() > 0 for g in grads) >= len(grads) - 1  # at most one parameter (a cls token) idle


def test_zoo_models_with_reference_and_default_sizes_build_and_run_in_both_vit_image_modes() -> None:
    x = _batch(2)
    reference_vit = KSViT(
        n_outputs=45, image="stacked_permutations", patch=4, dim=64, depth=8, heads=4, head_dim=64, mlp_dim=128,
        attention_dropout=0.1, pool="flatten", head_hidden=(2048, 1024), head_dropout=0.5,
    )  # fmt: skip
    models = [(reference_vit, 45), (KSViT(n_outputs=48), 48), (KSPointNet(n_outputs=43), 43)]
    models += [(KSPointNet2(n_outputs=48), 48), (InvariantFeatureMLP(n_outputs=48), 48)]
    models += [(ColumnSetTransformer(n_outputs=48), 48)]
    for model, n_outputs in models:
        assert model.eval()(x).shape == (2, n_outputs)


def test_stacked_permutations_image_is_the_references_52_by_52_construction() -> None:
    shuffle = list(range(COLS))
    random.Random(4).shuffle(shuffle)  # the reference: random.seed(4); random.shuffle(perm_col_index)
    assert tuple(shuffle) == REFERENCE_COLUMN_SHUFFLE
    x = _batch(3)
    orders = list(permutations(range(1, 5)))
    expected = torch.zeros(3, 52, 52)
    for b in range(3):
        for j in range(13):
            rows = x[b][[orders[j % 12][i] - 1 for i in range(4)]]
            expected[b, 4 * j : 4 * j + 4, :26] = rows
            expected[b, 4 * j : 4 * j + 4, 26:] = rows[:, shuffle]
    assert torch.equal(stacked_permutations_image(x), expected)


def test_vit_patches_are_row_major_blocks_of_the_image() -> None:
    model = KSViT(n_outputs=2, patch=(2, 13), dim=8, depth=1, heads=2)
    x = _batch(2)
    patches = model.patches(x)
    assert patches.shape == (2, 4, 26)
    assert torch.equal(patches[:, 1], x[:, 0:2, 13:26].flatten(1))
    assert torch.equal(patches[:, 2], x[:, 2:4, 0:13].flatten(1))


def test_vit_is_not_invariant_under_row_or_column_permutations_as_documented() -> None:
    torch.manual_seed(0)
    model = KSViT(n_outputs=5, dim=16, depth=1, heads=2).double().eval()
    x = _batch(8, torch.float64)
    assert not torch.allclose(model(_orbit(x, 1, seed=1, cols=False)), model(x))
    assert not torch.allclose(model(_orbit(x, 1, seed=2, rows=False)), model(x))


@pytest.mark.parametrize("self_loops", [False, True])
def test_pointnet_layer_equals_the_explicit_per_edge_mlp_of_the_reference(self_loops: bool) -> None:
    torch.manual_seed(0)
    layer = PointNetLayer(3, 5, self_loops=self_loops).double()
    h, pos = torch.randn(2, 6, 3, dtype=torch.float64), torch.randn(2, 6, 4, dtype=torch.float64)
    expected = torch.empty(2, 6, 5, dtype=torch.float64)
    for b in range(2):
        for i in range(6):
            messages = [
                layer.second(torch.relu(layer.first(torch.cat([h[b, j], pos[b, j] - pos[b, i]]))))
                for j in range(6)
                if j != i or self_loops
            ]
            expected[b, i] = torch.stack(messages).amax(dim=0)
    torch.testing.assert_close(layer(h, pos), expected, rtol=0, atol=1e-12)


def test_pointnet_is_invariant_under_column_permutations_but_not_row_permutations() -> None:
    torch.manual_seed(0)
    model = KSPointNet(n_outputs=7, widths=(16, 16, 16)).double().eval()
    x = _batch(6, torch.float64)
    out = model(_orbit(x, 20, seed=3, rows=False))
    torch.testing.assert_close(out, model(x).repeat(20, 1), rtol=0, atol=1e-12)
    assert not torch.allclose(model(_orbit(x, 1, seed=4, cols=False)), model(x))


def _tied_points(b: int = 6, n: int = 20, seed: int = 0) -> torch.Tensor:
    """Small-integer points in R^4 with duplicates: many exactly equal distances."""
    g = torch.Generator().manual_seed(seed)
    xyz = torch.randint(-2, 3, (b, n, 4), generator=g).double()
    xyz[:, n // 2 : n // 2 + 3] = xyz[:, :3]  # exact duplicates
    return xyz


def _d2(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(sum((float(a[k]) - float(b[k])) ** 2 for k in range(len(a))))


def test_farthest_point_sample_matches_a_brute_force_loop_with_first_index_tie_breaking() -> None:
    xyz = _tied_points()
    for start in (0, 5):
        got = farthest_point_sample(xyz, 12, start=start)
        for b in range(len(xyz)):
            chosen = [start]
            while len(chosen) < 12:
                dist = [min(_d2(xyz[b, j], xyz[b, c]) for c in chosen) for j in range(xyz.shape[1])]
                chosen.append(dist.index(max(dist)))  # first maximum
            assert got[b].tolist() == chosen


def test_ball_query_matches_a_brute_force_loop_and_pads_with_the_first_found_index() -> None:
    xyz = _tied_points()
    centroids = group_points(xyz, farthest_point_sample(xyz, 7))
    for radius, n_max in ((1.5, 4), (2.0, 6), (3.0, 30)):
        got = ball_query(xyz, centroids, radius, n_max)
        assert got.shape == (len(xyz), 7, n_max)
        for b in range(len(xyz)):
            for s in range(7):
                found = [j for j in range(xyz.shape[1]) if _d2(xyz[b, j], centroids[b, s]) < radius**2][:n_max]
                assert got[b, s].tolist() == found + [found[0]] * (n_max - len(found))


def test_ball_query_falls_back_to_the_nearest_point_when_the_ball_is_empty() -> None:
    xyz = torch.tensor([[[0.0, 0, 0, 0], [5, 0, 0, 0], [9, 0, 0, 0]]])
    got = ball_query(xyz, torch.tensor([[[6.0, 0, 0, 0]]]), radius=0.5, n_max=2)
    assert got.tolist() == [[[1, 1]]]


def test_knn_query_matches_brute_force_sorting_by_distance_then_index() -> None:
    xyz = _tied_points()
    centroids = group_points(xyz, farthest_point_sample(xyz, 7, start=3))
    got = knn_query(xyz, centroids, 9)
    for b in range(len(xyz)):
        for s in range(7):
            expected = sorted(range(xyz.shape[1]), key=lambda j: (_d2(xyz[b, j], centroids[b, s]), j))[:9]
            assert got[b, s].tolist() == expected


def test_group_points_gathers_per_batch_element() -> None:
    points = torch.randn(3, 10, 5)
    idx = torch.randint(0, 10, (3, 4, 2))
    grouped = group_points(points, idx)
    assert grouped.shape == (3, 4, 2, 5)
    for b, s, k in ((0, 0, 0), (1, 3, 1), (2, 2, 0)):
        assert torch.equal(grouped[b, s, k], points[b, idx[b, s, k]])


def test_pointnet2_is_deterministic_and_only_approximately_permutation_invariant_as_documented() -> None:
    torch.manual_seed(0)
    model = KSPointNet2(n_outputs=5, widths=((8, 8), (16,)), global_widths=(16,), head_hidden=(16,))
    model = model.double().eval()
    x = _batch(8, torch.float64)
    assert torch.equal(model(x), model(x))
    # a fixed FPS start and index tie-breaking depend on the column order
    assert not torch.allclose(model(_orbit(x, 1, seed=5, rows=False)), model(x))


def test_pointnet2_sampling_and_grouping_every_point_is_exactly_column_permutation_invariant() -> None:
    torch.manual_seed(0)
    model = KSPointNet2(
        n_outputs=5, n_samples=(COLS, COLS), neighbours=(COLS, COLS), widths=((8,), (16,)), global_widths=(16,),
        head_hidden=(16,),
    ).double().eval()  # fmt: skip
    x = _batch(4, torch.float64)
    out = model(_orbit(x, 10, seed=6, rows=False))
    torch.testing.assert_close(out, model(x).repeat(10, 1), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_each_invariant_feature_is_invariant_under_random_row_and_column_permutations_and_not_constant(
    name: str,
) -> None:
    feature = FEATURES[name]
    x = _batch_with_symmetric_columns(8)
    reference = feature(x)
    out = feature(_orbit(x, 25, seed=7))
    if name.endswith("spectrum"):  # eigvalsh: equal up to rounding (values up to ~1e4)
        torch.testing.assert_close(out, reference.repeat(25, 1), rtol=1e-9, atol=1e-9)
    else:
        assert torch.equal(out, reference.repeat(25, 1))
    assert not (reference == reference[:1]).all(), f"{name} is constant on the test batch"


def test_invariant_features_concatenate_every_feature_and_tell_random_matrices_apart() -> None:
    x = _batch(32, torch.float64)
    features = invariant_features(x)
    assert features.shape == (32, sum(f(x[:1]).shape[1] for f in FEATURES.values())) == (32, 195)
    assert len(torch.unique(features, dim=0)) == 32
    assert invariant_features(x.float()).dtype == torch.float32


@pytest.mark.parametrize("transform", ["signed_log", "none"])
def test_invariant_feature_mlp_is_invariant_under_random_row_and_column_permutations(transform: str) -> None:
    torch.manual_seed(0)
    model = InvariantFeatureMLP(n_outputs=7, hidden=(32, 32), transform=transform)
    model.train()
    model(_batch(64))  # move the standardisation's running statistics off their initial values
    model = model.double().eval()
    x = _batch_with_symmetric_columns(8)
    out = model(_orbit(x, 25, seed=8))
    torch.testing.assert_close(out, model(x).repeat(25, 1), rtol=0, atol=1e-9)


@pytest.mark.parametrize("pool", ["mean", "max", "mean+max"])
@pytest.mark.parametrize("gram_bias", [False, True])
def test_column_set_transformer_is_invariant_under_column_permutations_but_not_row_permutations(
    pool: str, gram_bias: bool
) -> None:
    torch.manual_seed(0)
    model = ColumnSetTransformer(n_outputs=7, dim=16, depth=2, heads=4, pool=pool, gram_bias=gram_bias)
    model = model.double().eval()
    x = _batch(6, torch.float64)
    out = model(_orbit(x, 20, seed=9, rows=False))
    torch.testing.assert_close(out, model(x).repeat(20, 1), rtol=0, atol=1e-10)
    assert not torch.allclose(model(_orbit(x, 1, seed=10, cols=False)), model(x))


def test_column_set_transformer_on_the_canonical_form_is_invariant_under_rows_and_columns() -> None:
    torch.manual_seed(0)
    model = ColumnSetTransformer(n_outputs=7, dim=16, depth=2, heads=2).eval()
    x = _batch(6)
    xs = _orbit(x, 20, seed=11)

    def canonical(batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(canonical_form(batch.numpy().astype(np.int64))).float()

    torch.testing.assert_close(model(canonical(xs)), model(canonical(x)).repeat(20, 1), rtol=0, atol=0)


def test_zoo_model_constructors_reject_bad_options() -> None:
    with pytest.raises(ValueError, match="does not tile"):
        KSViT(n_outputs=2, patch=(3, 2))
    with pytest.raises(ValueError, match="image"):
        KSViT(n_outputs=2, image="square")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pool"):
        KSViT(n_outputs=2, pool="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="widths"):
        KSPointNet(n_outputs=2, widths=())
    with pytest.raises(ValueError, match="one entry per SA"):
        KSPointNet2(n_outputs=2, n_samples=(16,))
    with pytest.raises(ValueError, match="grouping"):
        KSPointNet2(n_outputs=2, grouping="radius")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_samples"):
        farthest_point_sample(torch.zeros(1, 5, 4), 6)
    with pytest.raises(ValueError, match="transform"):
        InvariantFeatureMLP(n_outputs=2, transform="log")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="divisible"):
        ColumnSetTransformer(n_outputs=2, dim=10, heads=4)
    with pytest.raises(ValueError, match="pool"):
        ColumnSetTransformer(n_outputs=2, pool="sum")  # type: ignore[arg-type]
