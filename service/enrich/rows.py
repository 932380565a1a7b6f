"""Per-text sums of cached table rows: the shared mechanics of the per-token caches of language
identification (:mod:`.lang`) and negativity scoring (:mod:`.negativity`).

Each keeps a dict from token to a row of a numpy table that grows as new tokens are seen; a batch of
texts becomes a list of row ids per text, summed in one sparse matrix product.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


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
    ones = np.ones(len(ids))
    selection = sp.csr_matrix((ones, np.asarray(ids, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                              shape=(len(indptr) - 1, len(table)))
    return np.asarray(selection @ table)
