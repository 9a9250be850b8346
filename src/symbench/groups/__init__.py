"""Group actions on stacks of matrices: S_m×S_n permutations, Dirichlet ascent, exact canonical forms."""

from symbench.groups.canonical import canonical_form, canonical_form_with_permutations
from symbench.groups.dirichlet import dirichlet_ascent
from symbench.groups.permutations import (
    apply_permutations,
    apply_permutations_torch,
    permute_randomly,
    permuted_copies,
    random_permutations,
    random_permutations_torch,
)

__all__ = [
    "apply_permutations",
    "apply_permutations_torch",
    "canonical_form",
    "canonical_form_with_permutations",
    "dirichlet_ascent",
    "permute_randomly",
    "permuted_copies",
    "random_permutations",
    "random_permutations_torch",
]
