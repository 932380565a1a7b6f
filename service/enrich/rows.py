"""Per-text sums of cached table rows: the shared mechanics of the per-token caches of language
identification (:mod:`.lang`) and negativity scoring (:mod:`.negativity`).

Each keeps a dict from token to a row of a numpy table that grows as new tokens are seen; a batch of
texts becomes a list of row ids per text, summed in one sparse matrix product.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

try:  # scipy's own CSR-times-dense kernel (what ``csr_matrix @ table`` runs): a private module
    from scipy.sparse._sparsetools import csr_matvecs as _matvecs
except ImportError:  # pragma: no cover - another scipy layout: the public path below
    _matvecs = None


def _kernel_works() -> bool:
    """Whether the private kernel still takes these arguments and gives the product's sums (checked
    once, at import): a scipy that changed it falls back to the public path instead of failing."""
    if _matvecs is None:
        return False
    table = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = np.zeros((2, 2))
    try:
        _matvecs(2, 3, 2, np.array([0, 2, 3], dtype=np.int64), np.array([2, 0, 1], dtype=np.int64), np.ones(3),
                 table.ravel(), out.ravel())
    except Exception:  # pragma: no cover - depends on the installed scipy
        return False
    return out.tolist() == [[6.0, 8.0], [3.0, 4.0]]


if not _kernel_works():  # pragma: no cover - depends on the installed scipy
    _matvecs = None


@contextmanager
def forgotten_on_failure(cache: dict[str, int], new: list[str]) -> Iterator[None]:
    """Around a batch that caches ``new`` tokens before their rows are written: if it fails anywhere,
    they are removed from ``cache``, so that a later batch never reads rows that were not written."""
    try:
        yield
    except BaseException:
        for token in new:
            del cache[token]
        raise


def with_room(table: np.ndarray, used: int, needed: int) -> np.ndarray:
    """``table`` itself when it has ``needed`` rows, else a copy (of its first ``used`` rows) at least
    twice as long."""
    if needed <= len(table):
        return table
    grown = np.zeros((max(needed, 2 * len(table)), table.shape[1]))
    grown[:used] = table[:used]
    return grown


def gather(ids: list[int], indptr: list[int], table: np.ndarray) -> np.ndarray:
    """Per-text sums of ``table`` rows (``ids[indptr[i]:indptr[i + 1]]`` for text ``i``)."""
    if _matvecs is not None and table.dtype == np.float64 and table.ndim == 2 and table.flags.c_contiguous:
        # The kernel of the product below, without building (and checking) a sparse matrix first:
        # the same sums in the same order, for a fraction of the cost on a small batch.
        # The kernel checks nothing: out-of-range ids or pointers would read outside the arrays.
        columns, pointers = np.asarray(ids, dtype=np.int64), np.asarray(indptr, dtype=np.int64)
        if len(pointers) == 0 or pointers[0] != 0 or pointers[-1] != len(columns) or (np.diff(pointers) < 0).any():
            raise ValueError(f"bad row pointers for {len(columns)} ids")
        if len(columns) and (columns.min() < 0 or columns.max() >= len(table)):
            raise IndexError(f"row id out of range for a table of {len(table)} rows")
        out = np.zeros((len(pointers) - 1, table.shape[1]))
        if len(columns):
            _matvecs(len(pointers) - 1, len(table), table.shape[1], pointers, columns, np.ones(len(columns)),
                     table.ravel(), out.ravel())
        return out
    ones = np.ones(len(ids))
    selection = sp.csr_matrix((ones, np.asarray(ids, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                              shape=(len(indptr) - 1, len(table)))
    return np.asarray(selection @ table)
