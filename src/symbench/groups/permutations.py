"""Row and column permutations of stacks of matrices: the S_m×S_n action X ↦ X[σ][:, τ].

numpy for the data variants, torch twins for augmentation inside a training step. torch is imported lazily so
that numpy-only callers (the preprocessing stages) do not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def random_permutations(
    rng: np.random.Generator, n: int, rows: int = 4, cols: int = 26
) -> tuple[np.ndarray, np.ndarray]:
    """n uniformly random (σ, τ): sigma (n, rows) and tau (n, cols), int64, each row a permutation."""
    sigma = np.argsort(rng.random((n, rows)), axis=1)
    tau = np.argsort(rng.random((n, cols)), axis=1)
    return sigma, tau


def apply_permutations(X: np.ndarray, sigma: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Y[i] = X[i][sigma[i]][:, tau[i]] for a stack X of shape (n, rows, cols); keeps the dtype."""
    X = np.asarray(X)
    sigma = np.asarray(sigma)
    tau = np.asarray(tau)
    _check_shapes(X.shape, sigma.shape, tau.shape)
    Y = np.take_along_axis(X, sigma[:, :, None], axis=1)
    return np.take_along_axis(Y, tau[:, None, :], axis=2)


def permute_randomly(X: np.ndarray, seed: int) -> np.ndarray:
    """One seeded uniformly random (σ, τ) per matrix: the ``*_permuted`` data variants."""
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"permute_randomly: expected a stack of matrices (n, rows, cols), got shape {X.shape}")
    sigma, tau = random_permutations(np.random.default_rng(seed), X.shape[0], X.shape[1], X.shape[2])
    return apply_permutations(X, sigma, tau)


def permuted_copies(X: np.ndarray, copies: int, seed: int) -> np.ndarray:
    """``copies`` stacks of X, each matrix under its own fresh random (σ, τ): (copies * n, rows, cols).

    Augmentation for learners that see a fixed training set (gradient boosting), where per-batch permutations
    do not apply; row ``k * n + i`` is a permutation of ``X[i]``.
    """
    X = np.asarray(X)
    if copies < 1:
        raise ValueError(f"permuted_copies: copies must be at least 1, got {copies}")
    rng = np.random.default_rng(seed)
    stacks = []
    for _ in range(copies):
        sigma, tau = random_permutations(rng, X.shape[0], X.shape[1], X.shape[2])
        stacks.append(apply_permutations(X, sigma, tau))
    return np.concatenate(stacks)


def random_permutations_torch(
    generator: torch.Generator | None,
    n: int,
    rows: int = 4,
    cols: int = 26,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Torch twin of :func:`random_permutations`, int64 on ``device`` (where the generator must live too)."""
    import torch

    sigma = torch.rand((n, rows), generator=generator, device=device).argsort(dim=1)
    tau = torch.rand((n, cols), generator=generator, device=device).argsort(dim=1)
    return sigma, tau


def apply_permutations_torch(x: torch.Tensor, sigma: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """Torch twin of :func:`apply_permutations`: y[i] = x[i][sigma[i]][:, tau[i]], differentiable in x."""
    _check_shapes(tuple(x.shape), tuple(sigma.shape), tuple(tau.shape))
    n, rows, cols = x.shape
    y = x.gather(1, sigma[:, :, None].expand(n, rows, cols))
    return y.gather(2, tau[:, None, :].expand(n, rows, cols))


def _check_shapes(x_shape: tuple[int, ...], sigma_shape: tuple[int, ...], tau_shape: tuple[int, ...]) -> None:
    if len(x_shape) != 3:
        raise ValueError(f"expected a stack of matrices (n, rows, cols), got shape {x_shape}")
    n, rows, cols = x_shape
    if tuple(sigma_shape) != (n, rows) or tuple(tau_shape) != (n, cols):
        raise ValueError(
            f"for matrices of shape {x_shape} expected sigma {(n, rows)} and tau {(n, cols)}, "
            f"got sigma {tuple(sigma_shape)} and tau {tuple(tau_shape)}"
        )
