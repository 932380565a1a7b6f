"""Crafted model files and word-vector folders are refused with a clear error at load, never scored
wrongly or crashed on later; a scoring batch that fails leaves nothing half-done behind."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import numpy as np
import pytest
import skops.io as sio

from service.enrich import negativity, training
from service.enrich.negativity import DEFAULT_MODEL_PATH, TRUSTED_TYPES, ModelError, load_scorer
from service.enrich.vectors import VectorsError, read_vectors, word_key

TEXT = "quelle honte, c'est une catastrophe"
FIXTURE = Path(__file__).parent / "fixtures" / "sentiment" / "fr_vectors"
Mutation = Callable[[dict[str, Any], int], None]


@pytest.fixture(scope="module")
def content() -> dict[str, Any]:
    return sio.load(DEFAULT_MODEL_PATH, trusted=list(TRUSTED_TYPES))


def _crafted(content: dict[str, Any], tmp_path: Path, mutate: Mutation) -> Path:
    changed = copy.deepcopy(content)
    block = changed["languages"]["fr"]["vectors"]
    mutate(block, int(np.searchsorted(block["keys"], np.uint64(word_key("honte")))))
    path = tmp_path / "crafted.skops"
    sio.dump(changed, path)
    return path


def _negative_row(block: dict[str, Any], at: int) -> None:
    block["rows"] = block["rows"].copy()
    block["rows"][at] = -1


def _nan_contribution(block: dict[str, Any], at: int) -> None:
    block["contributions"] = block["contributions"].copy()
    block["contributions"][block["rows"][at]] = np.nan


def _string_keys(block: dict[str, Any], at: int) -> None:
    block["keys"] = [f"{i:08d}" for i in range(len(block["keys"]))]  # sorted, aligned, trusted types


def _float_rows(block: dict[str, Any], at: int) -> None:
    block["rows"] = block["rows"].astype(np.float64)
    block["rows"][at] = np.nan  # NaN >= len(contributions) is False: it passed the bound check


@pytest.mark.parametrize("mutate", [_negative_row, _nan_contribution, _string_keys, _float_rows])
def test_a_crafted_vector_block_is_refused_at_load(content: dict[str, Any], tmp_path: Path,
                                                    mutate: Mutation) -> None:
    with pytest.raises(ModelError, match="vector block"):
        load_scorer(_crafted(content, tmp_path, mutate))


def test_non_finite_coefficients_are_refused_at_load(content: dict[str, Any], tmp_path: Path) -> None:
    changed = copy.deepcopy(content)
    changed["languages"]["en"]["intercept"] = changed["languages"]["en"]["intercept"].copy()
    changed["languages"]["en"]["intercept"][0] = np.inf
    sio.dump(changed, tmp_path / "inf.skops")
    with pytest.raises(ModelError, match="not all finite"):
        load_scorer(tmp_path / "inf.skops")


def test_a_failed_batch_leaves_no_half_filled_word_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # The words of a batch were cached before their rows were written: a batch that failed there (out
    # of memory...) left them pointing at unwritten rows, and the next batch scored them silently wrong.
    expected = load_scorer().score(TEXT, "fr")
    scorer = load_scorer()
    real = negativity.WordVectorBlock.sums
    failures = iter([MemoryError("injected")])

    def failing_once(self: negativity.WordVectorBlock, words: list[str]) -> np.ndarray:
        for error in failures:
            raise error
        return real(self, words)

    monkeypatch.setattr(negativity.WordVectorBlock, "sums", failing_once)
    with pytest.raises(MemoryError):
        scorer.score(TEXT, "fr")
    assert scorer.score(TEXT, "fr") == expected


def test_a_vectors_folder_with_a_negative_row_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "vec"
    shutil.copytree(FIXTURE, folder)
    key2row = msgspec.msgpack.decode((folder / "vocab/key2row").read_bytes(), type=dict[int, int])
    first = next(iter(key2row.values()))
    (folder / "vocab/key2row").write_bytes(msgspec.msgpack.encode(
        {key: -1 if row == first else row for key, row in key2row.items()}))
    with pytest.raises(VectorsError, match="outside the"):
        read_vectors(folder)
    args = SimpleNamespace(data=str(FIXTURE.parent), out=str(tmp_path / "m.skops"), vectors=str(folder))
    assert training.cli_train(args) == 2
    err = capsys.readouterr().err
    assert "key2row points outside" in err and "Traceback" not in err


def test_strings_json_that_is_not_a_list_is_a_vectors_error(tmp_path: Path) -> None:
    folder = tmp_path / "vec"
    shutil.copytree(FIXTURE, folder)
    (folder / "vocab/strings.json").write_text("5")
    with pytest.raises(VectorsError, match="not a list of strings"):
        read_vectors(folder)


def test_a_batch_failing_before_its_rows_are_written_leaves_no_cached_word() -> None:
    expected = load_scorer().score("awful terrible recall", "en")
    scorer = load_scorer()
    with pytest.raises(TypeError):
        scorer.score_many(["awful terrible recall", None], ["en", "en"])  # type: ignore[list-item]
    assert scorer.score("awful terrible recall", "en") == expected
