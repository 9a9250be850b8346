"""Shared fixtures: small synthetic KS-like data, the repository root, torch thread limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def vertex_matrices(rng: np.random.Generator) -> np.ndarray:
    """64 random int8 matrices (4 x 26) with entries in the real data's range -8..6."""
    return rng.integers(-8, 7, size=(64, 4, 26)).astype(np.int8)
