"""The reference's greedy "Dirichlet" projection, vectorised (kreuzer-skarke-ML ``gradient_ascent``).

From X, scan the generators [row swaps (0,1), (1,2), (2,3), identity, column swaps (0,1), …, (24,25)] in
this order; apply the first one that makes the row-major flattening lexicographically larger and restart the
scan; stop when none does. The result is a local maximum, NOT a canonical form: different points of one orbit
can end at different local maxima, so the variant is only about 25 % invariant (DESIGN §4). For an exact
canonical form see :func:`symbench.groups.canonical.canonical_form` (the global maximum of the same order).
"""

from __future__ import annotations

import numpy as np


def dirichlet_ascent(X: np.ndarray) -> np.ndarray:
    """Greedy lexicographic ascent by adjacent row and column swaps of each matrix of X; keeps the dtype."""
    X = np.asarray(X)
    U = _shift_to_unsigned(X)
    n, rows, cols = U.shape
    # Rows padded with zero bytes to a multiple of 8 so that each row reads as big-endian uint64 chunks whose
    # integer order is the row's lexicographic order (the padding is equal in all rows, so it never decides).
    work = np.zeros((n, rows, cols + (-cols % 8)), dtype=np.uint8)
    work[:, :, :cols] = U
    keys = _column_keys(U)
    index = np.arange(n)
    out = np.empty_like(U)
    while index.size:
        generator = _first_improving_generator(work, keys)
        finished = generator < 0
        if finished.any():
            out[index[finished]] = work[finished, :, :cols]
            active = ~finished
            work, keys, index, generator = work[active], keys[active], index[active], generator[active]
        _apply_generator(work, keys, generator, cols)
    return (out.astype(np.int16) - 128).astype(X.dtype)


def _first_improving_generator(work: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per matrix, the first improving generator: 0..rows-2 row swaps, then column swaps; -1 if none.

    The identity never improves, so it is left out of the numbering. A swap of adjacent rows (r, r+1)
    improves iff row r+1 > row r lexicographically; a swap of adjacent columns (c, c+1) improves iff column
    c+1 > column c read top to bottom (the flattenings first differ in the first row where the columns do).
    """
    chunks = work.view(">u8").astype(np.uint64)
    upper, lower = chunks[:, :-1], chunks[:, 1:]
    first_difference = (upper != lower).argmax(axis=-1)[..., None]
    row_up = (
        np.take_along_axis(lower, first_difference, -1)[..., 0]
        > np.take_along_axis(upper, first_difference, -1)[..., 0]
    )
    column_up = keys[:, 1:] > keys[:, :-1]
    improves = np.concatenate([row_up, column_up], axis=1)
    generator = improves.argmax(axis=1)
    generator[~improves.any(axis=1)] = -1
    return generator


def _apply_generator(work: np.ndarray, keys: np.ndarray, generator: np.ndarray, cols: int) -> None:
    """Apply each matrix's generator in place (to the padded bytes and the column keys)."""
    row_swaps = work.shape[1] - 1
    selected = np.flatnonzero((generator >= 0) & (generator < row_swaps))
    if selected.size:
        r = generator[selected]
        upper = work[selected, r].copy()
        work[selected, r] = work[selected, r + 1]
        work[selected, r + 1] = upper
        keys[selected] = _column_keys(work[selected, :, :cols])
    selected = np.flatnonzero(generator >= row_swaps)
    if selected.size:
        c = generator[selected] - row_swaps
        left = work[selected, :, c].copy()
        work[selected, :, c] = work[selected, :, c + 1]
        work[selected, :, c + 1] = left
        left_key = keys[selected, c].copy()
        keys[selected, c] = keys[selected, c + 1]
        keys[selected, c + 1] = left_key


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
