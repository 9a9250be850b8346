"""Exact canonical form under S_m×S_n (row and column permutations): the orbit's lexicographic maximum.

For each of the m! row orders, sorting the columns in descending lexicographic order (a column read top to
bottom) maximises the row-major flattening among all column orders; the largest of these m! candidates is
the maximum of the whole orbit. It is therefore invariant, lies in the orbit, and is the global maximum of
the order that :func:`symbench.groups.dirichlet.dirichlet_ascent` only climbs to a local maximum of.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

_CHUNK = 4096  # matrices per block: bounds the (block, m!, n) candidate arrays to a few tens of MB


def canonical_form(X: np.ndarray) -> np.ndarray:
    """The orbit's lexicographically largest row-major flattening, per matrix of X; keeps the dtype."""
    return canonical_form_with_permutations(X)[0]


def canonical_form_with_permutations(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical forms C with the permutations that produce them: C[i] = X[i][sigma[i]][:, tau[i]].

    sigma (n, rows) and tau (n, cols) are int64; where several (σ, τ) give C (a matrix with symmetries), the
    first row order in ``itertools.permutations`` order and a stable column order are returned.
    """
    X = np.asarray(X)
    U = _shift_to_unsigned(X)
    n, rows, cols = U.shape
    row_orders = np.array(list(permutations(range(rows))), dtype=np.int64).reshape(-1, rows)
    sigma = np.empty((n, rows), dtype=np.int64)
    for start in range(0, n, _CHUNK):
        block = U[start : start + _CHUNK]
        best = _best_row_order(block, row_orders)
        sigma[start : start + _CHUNK] = row_orders[best]
    U = np.take_along_axis(U, sigma[:, :, None], axis=1)
    tau = np.argsort(~_column_keys(U), axis=1, kind="stable")  # ~key: descending order, stable among equal keys
    C = np.take_along_axis(X, sigma[:, :, None], axis=1)
    C = np.take_along_axis(C, tau[:, None, :], axis=2)
    return C, sigma, tau


def _best_row_order(U: np.ndarray, row_orders: np.ndarray) -> np.ndarray:
    """Index into row_orders of the row order whose column-sorted candidate is largest, per matrix of U."""
    n, rows, cols = U.shape
    orders = len(row_orders)
    candidates = np.empty((n, orders, cols), dtype=np.uint64)
    for k, order in enumerate(row_orders):
        candidates[:, k] = _column_keys(U[:, order])
    candidates = np.sort(candidates, axis=2)[:, :, ::-1]  # columns in descending order
    # Back to bytes in row-major order (rows, cols), zero-padded to a multiple of 8 bytes: read as big-endian
    # uint64 chunks, the integer order of the chunk sequences is the lexicographic order of the flattenings.
    shifts = np.array([8 * (rows - 1 - r) for r in range(rows)], dtype=np.uint64)
    flat = ((candidates[:, :, None, :] >> shifts[None, None, :, None]) & np.uint64(0xFF)).astype(np.uint8)
    flat = flat.reshape(n, orders, rows * cols)
    padded = np.zeros((n, orders, rows * cols + (-(rows * cols) % 8)), dtype=np.uint8)
    padded[:, :, : rows * cols] = flat
    chunks = padded.view(">u8").astype(np.uint64)
    contender = np.ones((n, orders), dtype=bool)
    for j in range(chunks.shape[2]):
        values = np.where(contender, chunks[:, :, j], np.uint64(0))
        contender &= values == values.max(axis=1, keepdims=True)
    return contender.argmax(axis=1)


def _shift_to_unsigned(X: np.ndarray) -> np.ndarray:
    """X + 128 as uint8, so that byte order is value order; X must be integer in -128..127 with ≤ 8 rows."""
    if X.ndim != 3 or not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"expected an integer stack of matrices (n, rows, cols), got {X.dtype} {X.shape}")
    if X.shape[1] > 8:
        raise ValueError(f"expected at most 8 rows (a column must fit one uint64 key), got {X.shape[1]}")
    if X.size and (X.min() < -128 or X.max() > 127):
        raise ValueError(f"expected entries in -128..127, got {X.min()}..{X.max()}")
    return (X.astype(np.int16) + 128).astype(np.uint8)


def _column_keys(U: np.ndarray) -> np.ndarray:
    """One uint64 per column of the unsigned bytes U (n, rows, cols), first row most significant."""
    rows = U.shape[1]
    keys = np.zeros((U.shape[0], U.shape[2]), dtype=np.uint64)
    for r in range(rows):
        keys |= U[:, r, :].astype(np.uint64) << np.uint64(8 * (rows - 1 - r))
    return keys
