"""The reference split and the data variants built from it."""

from __future__ import annotations

import numpy as np
import pytest

from symbench.groups import apply_permutations, canonical_form, random_permutations
from symbench.ks.split import reference_split
from symbench.ks.variants import VARIANTS, make_variant


def test_reference_split_has_the_reference_sizes_and_is_disjoint():
    split = reference_split(78_468)
    assert len(split.train) + len(split.val) == 62_774
    assert len(split.test) == 15_694
    everything = np.concatenate([split.train, split.val, split.test])
    assert len(np.unique(everything)) == 78_468


def test_reference_split_test_part_is_the_tail_of_the_seed_42_shuffle():
    split = reference_split(1000, seed=42, test_fraction=0.2)
    order = np.random.RandomState(42).permutation(1000)
    np.testing.assert_array_equal(split.test, order[800:])
    assert set(split.train) | set(split.val) == set(order[:800])


def test_validation_part_does_not_change_the_test_part():
    a = reference_split(5000, val_fraction=0.1, val_seed=0)
    b = reference_split(5000, val_fraction=0.3, val_seed=7)
    np.testing.assert_array_equal(a.test, b.test)
    assert len(b.val) == 1200


def test_split_caps_limit_train_and_test():
    split = reference_split(5000, max_train=300, max_test=50)
    assert len(split.train) + len(split.val) == 300
    assert len(split.test) == 50


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1])
def test_split_rejects_fractions_outside_the_unit_interval(bad):
    with pytest.raises(ValueError, match="fractions"):
        reference_split(100, test_fraction=bad)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_keeps_shape_and_dtype_and_is_seeded(variant, vertex_matrices):
    a = make_variant(variant, vertex_matrices, permute_seed=3)
    b = make_variant(variant, vertex_matrices, permute_seed=3)
    assert a.shape == vertex_matrices.shape and a.dtype == vertex_matrices.dtype
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_stays_in_the_orbit_of_the_original(variant, vertex_matrices):
    out = make_variant(variant, vertex_matrices, permute_seed=1)
    np.testing.assert_array_equal(canonical_form(out), canonical_form(vertex_matrices))


def test_canonical_variants_are_equal_with_and_without_permutation(vertex_matrices):
    np.testing.assert_array_equal(
        make_variant("canonical", vertex_matrices, 0), make_variant("canonical_permuted", vertex_matrices, 0)
    )


def test_permuted_variant_differs_from_the_original(vertex_matrices):
    out = make_variant("original_permuted", vertex_matrices, permute_seed=0)
    assert (out != vertex_matrices).any(axis=(1, 2)).mean() > 0.9


def test_canonical_variant_is_invariant_under_a_fresh_random_group_element(vertex_matrices, rng):
    sigma, tau = random_permutations(rng, len(vertex_matrices))
    moved = apply_permutations(vertex_matrices, sigma, tau)
    np.testing.assert_array_equal(make_variant("canonical", moved, 0), make_variant("canonical", vertex_matrices, 0))


def test_unknown_variant_is_rejected_with_the_known_names(vertex_matrices):
    with pytest.raises(ValueError, match="original_permuted"):
        make_variant("sorted", vertex_matrices, 0)
