"""The KS data variants: what the models see in place of the raw vertex matrices.

``original`` is the upstream order; ``*_permuted`` applies one seeded random (sigma, tau) in S4 x S26 per matrix
(the reference's test of how much a model relies on the arbitrary order); ``dirichlet`` is the reference's greedy
ascent towards a fundamental domain; ``canonical`` is an exact canonical form of the S4 x S26 orbit.
"""

from __future__ import annotations

import numpy as np

from symbench.groups import canonical_form, dirichlet_ascent, permute_randomly

VARIANTS = (
    "original",
    "original_permuted",
    "dirichlet",
    "dirichlet_permuted",
    "canonical",
    "canonical_permuted",
)

_PROJECTIONS = {"original": lambda X: X, "dirichlet": dirichlet_ascent, "canonical": canonical_form}


def make_variant(name: str, vertices: np.ndarray, permute_seed: int) -> np.ndarray:
    """The vertex matrices (N, 4, 26) of variant ``name``: optionally permuted, then projected."""
    if name not in VARIANTS:
        raise ValueError(f"unknown KS variant {name!r}; expected one of {', '.join(VARIANTS)}")
    base = name.removesuffix("_permuted")
    X = permute_randomly(vertices, seed=permute_seed) if name.endswith("_permuted") else vertices
    return np.ascontiguousarray(_PROJECTIONS[base](X), dtype=vertices.dtype)
