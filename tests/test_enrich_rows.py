"""Per-text row sums (service.enrich.rows.gather): the kernel fast path gives the sparse product's
sums bit for bit, and the scoring tables are laid out so that it (and the product) never copy them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from service.enrich import rows
from service.enrich.negativity import DEFAULT_MODEL_PATH, load_scorer


def sparse_sums(ids: list[int], indptr: list[int], table: np.ndarray) -> np.ndarray:
    """The reference: a CSR selection matrix of ones times the table (what gather computed before)."""
    selection = sp.csr_matrix((np.ones(len(ids)), np.asarray(ids, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                              shape=(len(indptr) - 1, len(table)))
    return np.asarray(selection @ table)


def random_case(seed: int, texts: int, columns: int) -> tuple[list[int], list[int], np.ndarray]:
    rng = np.random.default_rng(seed)
    # Magnitudes from 1e-8 to 1e8 and both signs: any change of summation order shows in the last bits.
    table = rng.standard_normal((500, columns)) * 10.0 ** rng.integers(-8, 9, (500, 1))
    table[7] = -0.0  # a row of negative zeros: a text made only of it must keep 0.0, as the product gives
    lengths = rng.integers(0, 40, texts)
    lengths[::5] = 0  # texts without any known token
    indptr = [0, *np.cumsum(lengths).tolist()]
    ids = rng.integers(0, len(table), indptr[-1]).tolist()
    return ids, indptr, table


@pytest.mark.parametrize(("seed", "texts", "columns"), [(1, 1, 4), (2, 9, 4), (3, 136, 8), (4, 700, 21), (5, 3, 1)])
def test_gather_gives_the_sparse_product_bit_for_bit(seed: int, texts: int, columns: int) -> None:
    ids, indptr, table = random_case(seed, texts, columns)
    ids[: indptr[1]] = [7] * indptr[1]  # the first text: negative zeros only (when it has tokens)
    expected = sparse_sums(ids, indptr, table)
    found = rows.gather(ids, indptr, table)
    assert found.shape == expected.shape == (texts, columns)
    assert found.dtype == np.float64
    assert np.array_equal(found, expected)
    assert np.array_equal(np.signbit(found), np.signbit(expected))
    assert found.tobytes() == expected.tobytes()


def test_gather_of_texts_without_tokens_is_zeros() -> None:
    table = np.arange(12.0).reshape(4, 3)
    assert rows.gather([], [0, 0, 0], table).tolist() == [[0.0] * 3, [0.0] * 3]
    assert rows.gather([], [0], table).shape == (0, 3)


def test_gather_on_a_table_in_another_layout_takes_the_public_path() -> None:
    ids, indptr, table = random_case(6, 50, 4)
    fortran = np.asfortranarray(table)
    assert not fortran.flags.c_contiguous
    assert rows.gather(ids, indptr, fortran).tobytes() == sparse_sums(ids, indptr, table).tobytes()
    assert rows.gather(ids, indptr, table.astype(np.float32)).dtype == np.float64  # the product's upcast


def test_gather_uses_scipys_kernel() -> None:
    # The fast path is there (and passed its check at import) with the scipy this project pins: a
    # scipy that moved or changed it shows here, not only as a slower benchmark.
    assert rows._matvecs is not None
    assert rows._kernel_works()


@pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="no trained model")
def test_scoring_tables_are_c_contiguous() -> None:
    """A table in another order is copied whole (megabytes) by every product over it, on every batch."""
    scorer = load_scorer()
    for model in scorer.models.values():
        linear = model._linear
        for table in (linear._word_table, linear._ngram_table, linear._char_table):
            assert table.flags.c_contiguous
            assert table.dtype == np.float64


def test_gather_refuses_ids_and_pointers_outside_the_arrays() -> None:
    table = np.ones((3, 2))
    with pytest.raises(IndexError, match="out of range"):
        rows.gather([0, 3], [0, 2], table)
    with pytest.raises(IndexError, match="out of range"):
        rows.gather([-1], [0, 1], table)
    with pytest.raises(ValueError, match="bad row pointers"):
        rows.gather([0, 1], [0, 3], table)  # points past the ids
    with pytest.raises(ValueError, match="bad row pointers"):
        rows.gather([0, 1], [0, 2, 1, 2], table)  # goes backwards
