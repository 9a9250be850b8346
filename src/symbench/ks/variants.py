"""The KS data variants: what the models see in place of the raw vertex matrices.

``original`` is the upstream order; ``*_permuted`` applies one seeded random (sigma, tau) in S4 x S26 per matrix
(the reference's test of how much a model relies on the arbitrary order); ``dirichlet`` is the reference's greedy
ascent towards a fundamental domain; ``canonical`` is an exact canonical form of the S4 x S26 orbit.
``augmented`` is a training strategy rather than a preprocessing: its matrices are those of ``original_permuted``
and the model is trained on a fresh random (sigma, tau) of every matrix in every batch (:func:`is_augmented`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from symbench.groups import canonical_form, dirichlet_ascent, permute_randomly

VARIANTS = (
    "original",
    "original_permuted",
    "dirichlet",
    "dirichlet_permuted",
    "canonical",
    "canonical_permuted",
    "augmented",
)

_PROJECTIONS: dict[str, Callable[[np.ndarray], np.ndarray] | None] = {
    "original": None,
    "dirichlet": dirichlet_ascent,
    "canonical": canonical_form,
    "augmented": None,
}


def make_variant(name: str, vertices: np.ndarray, permute_seed: int) -> np.ndarray:
    """The vertex matrices (N, 4, 26) of variant ``name``: optionally permuted, then projected."""
    project = projection(name)
    permuted = name.endswith("_permuted") or is_augmented(name)
    X = permute_randomly(vertices, seed=permute_seed) if permuted else vertices
    return np.ascontiguousarray(X if project is None else project(X), dtype=vertices.dtype)


def projection(name: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """The preprocessing of variant ``name`` (None: the matrices are used as listed)."""
    if name not in VARIANTS:
        raise ValueError(f"unknown KS variant {name!r}; expected one of {', '.join(VARIANTS)}")
    return _PROJECTIONS[name.removesuffix("_permuted")]


def is_augmented(name: str) -> bool:
    """Whether variant ``name`` trains on fresh random permutations every batch."""
    return name == "augmented"
