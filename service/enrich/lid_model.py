"""A fastText supervised model (``lid.176.ftz``) read with numpy, for per-word cached prediction.

fastText predicts from the mean of the input-matrix rows of a line's tokens: each word's own row
(when in the dictionary) and the rows of its character n-grams (hashed, pruned), plus the row of
the end-of-line token ``</s>``. The mean goes through a hierarchical softmax (a Huffman tree over the
labels). This module reproduces that computation (same dictionary, hashing, pruning, dequantised
rows, tree and ``log(p + 1e-5)`` scores), so a word's row sum can be computed once and cached, and a
batch of texts is scored with a few numpy operations instead of one C++ call per text.

Only what ``lid.176.ftz`` uses is supported: a supervised model with hierarchical softmax, word
unigrams and character n-grams, with a product-quantised or a dense input matrix and a dense output
matrix. Anything else is refused with :class:`LidFormatError`. The tests compare its answers with
fastText's own (``fasttext-predict``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import scipy.sparse as sp

_MAGIC = 793712314
_VERSION = 12
_SUPERVISED = 3
_HIERARCHICAL_SOFTMAX = 1
_LABEL_PREFIX = "__label__"
EOS = "</s>"
_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619
_MASK = 0xFFFFFFFF
_LOG_EPSILON = 1e-5  # fastText's std_log(x) = log(x + 1e-5)


class LidFormatError(ValueError):
    """The file is not a fastText model of the supported kind."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += values.nbytes
        return values

    def cstring(self) -> bytes:
        end = self.data.index(b"\0", self.offset)
        value = self.data[self.offset : end]
        self.offset = end + 1
        return value


class FastTextLid:
    """The dictionary, dequantised input rows, output rows and label tree of a fastText model file."""

    def __init__(self, path: Path) -> None:
        try:
            reader = _Reader(Path(path).read_bytes())
            self._read(reader)
        except (struct.error, ValueError, IndexError) as exc:
            raise LidFormatError(f"{path}: not a supported fastText model ({exc})") from exc
        if reader.offset != len(reader.data):
            raise LidFormatError(f"{path}: {len(reader.data) - reader.offset} unexpected trailing bytes")
        self.dim = self.input.shape[1]
        self.eos_row = self.input[self.words[EOS.encode()]].astype(np.float64)
        self._label_paths = _path_matrix(self._label_counts).T.tocsr()

    def _read(self, reader: _Reader) -> None:
        magic, version = reader.unpack("<ii")
        if magic != _MAGIC or version != _VERSION:
            raise LidFormatError(f"magic {magic} version {version}")
        (dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, maxn, _lr_update), _t = (
            reader.unpack("<12i"), reader.unpack("<d"))
        if model != _SUPERVISED or loss != _HIERARCHICAL_SOFTMAX or word_ngrams != 1:
            raise LidFormatError(f"model {model}, loss {loss}, wordNgrams {word_ngrams} (need 3, 1, 1)")
        self.bucket, self.minn, self.maxn = bucket, minn, maxn
        size, nwords, nlabels = reader.unpack("<iii")
        _ntokens, prune_size = reader.unpack("<qq")
        words: dict[bytes, int] = {}
        labels: list[str] = []
        counts: list[int] = []
        for index in range(size):
            entry = reader.cstring()
            count, kind = reader.unpack("<qb")
            if index < nwords:
                words[entry] = index
            else:
                labels.append(entry.decode("utf-8").removeprefix(_LABEL_PREFIX))
                counts.append(count)
        if len(labels) != nlabels or kind != 1:
            raise LidFormatError(f"{len(labels)} labels, header says {nlabels}")
        self.words, self.nwords, self.labels, self._label_counts = words, nwords, labels, counts
        pairs = reader.array(np.int32, 2 * prune_size) if prune_size > 0 else np.zeros(0, np.int32)
        self.prune: dict[int, int] | None = dict(zip(pairs[0::2].tolist(), pairs[1::2].tolist(), strict=True))
        if prune_size < 0:
            self.prune = None  # not pruned: every bucket has its row
        (quantized,) = reader.unpack("<?")
        self.input = _quantized_matrix(reader) if quantized else _dense_matrix(reader)
        if self.input.shape[1] != dim:
            raise LidFormatError(f"input matrix width {self.input.shape[1]}, dim {dim}")
        (quantized_output,) = reader.unpack("<?")
        if quantized_output:
            raise LidFormatError("quantised output matrix")
        self.output = _dense_matrix(reader).astype(np.float64)
        if self.output.shape != (nlabels, dim):
            raise LidFormatError(f"output matrix shape {self.output.shape}")

    def word_rows(self, word: str) -> list[int]:
        """Input rows of one whitespace-free token, as fastText's ``Dictionary::getLine`` adds them."""
        if word.startswith(_LABEL_PREFIX):
            return []  # fastText reads it as a label, not a word
        encoded = word.encode("utf-8", "surrogatepass")
        rows = [self.words[encoded]] if encoded in self.words else []
        if encoded != EOS.encode():
            rows += self._subword_rows(b"<" + encoded + b">")
        return rows

    def _subword_rows(self, token: bytes) -> list[int]:
        """Rows of the hashed character n-grams (``minn``..``maxn`` UTF-8 characters) of ``<word>``."""
        rows: list[int] = []
        size, minn, maxn, bucket, prune, nwords = len(token), self.minn, self.maxn, self.bucket, self.prune, self.nwords
        for start in range(size):
            if token[start] & 0xC0 == 0x80:
                continue
            h = _FNV_OFFSET
            end, n = start, 0
            while end < size and n < maxn:
                n += 1
                h = _fnv(h, token[end])
                end += 1
                while end < size and token[end] & 0xC0 == 0x80:
                    h = _fnv(h, token[end])
                    end += 1
                if n >= minn and not (n == 1 and (start == 0 or end == size)):
                    bucket_id = h % bucket
                    if prune is None:
                        rows.append(nwords + bucket_id)
                    elif bucket_id in prune:
                        rows.append(nwords + prune[bucket_id])
        return rows

    def row_sum(self, rows: list[int]) -> np.ndarray:
        return self.input[rows].sum(axis=0, dtype=np.float64) if rows else np.zeros(self.dim)

    def best_labels(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the most probable label of each hidden row, and its probability."""
        if not len(hidden):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        internal = 1.0 / (1.0 + np.exp(-(hidden @ self.output[: len(self.labels) - 1].T)))
        logs = np.log(np.hstack([1.0 - internal, internal]) + _LOG_EPSILON)
        scores = np.asarray(self._label_paths @ logs.T).T
        best = scores.argmax(axis=1)
        return best, np.exp(scores[np.arange(len(best)), best])


def _fnv(h: int, byte: int) -> int:
    """One FNV-1a step on a byte read as fastText does (a signed char widened to 32 bits)."""
    return ((h ^ (byte | 0xFFFFFF00 if byte & 0x80 else byte)) * _FNV_PRIME) & _MASK


def _dense_matrix(reader: _Reader) -> np.ndarray:
    rows, cols = reader.unpack("<qq")
    return reader.array(np.float32, rows * cols).reshape(rows, cols)


def _quantized_matrix(reader: _Reader) -> np.ndarray:
    """Rows of a product-quantised matrix (with optionally quantised norms), as float32."""
    (qnorm,) = reader.unpack("<?")
    rows, cols = reader.unpack("<qq")
    (code_size,) = reader.unpack("<i")
    codes = reader.array(np.uint8, code_size)
    matrix = _product_quantizer(reader, codes, rows)
    if matrix.shape[1] != cols:
        raise LidFormatError(f"quantised matrix width {matrix.shape[1]}, header says {cols}")
    if qnorm:
        norm_codes = reader.array(np.uint8, rows)
        norms = _product_quantizer(reader, norm_codes, rows)
        matrix = (matrix * norms[:, :1]).astype(np.float32)
    return matrix


def _product_quantizer(reader: _Reader, codes: np.ndarray, rows: int) -> np.ndarray:
    dim, nsubq, dsub, lastdsub = reader.unpack("<iiii")
    ksub = 256
    centroids = reader.array(np.float32, dim * ksub)
    codes = codes.reshape(rows, nsubq)
    parts = []
    for m in range(nsubq):
        width = lastdsub if m == nsubq - 1 else dsub
        table = centroids[m * ksub * dsub : m * ksub * dsub + ksub * width].reshape(ksub, width)
        parts.append(table[codes[:, m]])
    return np.hstack(parts).astype(np.float32)


def _path_matrix(counts: list[int]) -> sp.csc_matrix:
    """Sparse ``(2 * (labels - 1), labels)`` matrix summing each label's branch log-probabilities.

    The Huffman tree is built as fastText's ``HierarchicalSoftmaxLoss::buildTree`` builds it; node
    ``labels + j`` uses output row ``j``, its left branch has probability ``1 - sigmoid`` (row ``j``
    of the log table) and its right branch ``sigmoid`` (row ``labels - 1 + j``).
    """
    osz = len(counts)
    size = 2 * osz - 1
    count = [float(c) for c in counts] + [1e15] * (osz - 1)
    parent = [-1] * size
    is_right = [False] * size
    leaf, node = osz - 1, osz
    for i in range(osz, size):
        chosen = []
        for _ in range(2):
            if leaf >= 0 and count[leaf] < count[node]:
                chosen.append(leaf)
                leaf -= 1
            else:
                chosen.append(node)
                node += 1
        count[i] = count[chosen[0]] + count[chosen[1]]
        parent[chosen[0]] = parent[chosen[1]] = i
        is_right[chosen[1]] = True
    rows: list[int] = []
    cols: list[int] = []
    for label in range(osz):
        child = label
        while parent[child] != -1:
            j = parent[child] - osz
            rows.append(j + (osz - 1 if is_right[child] else 0))
            cols.append(label)
            child = parent[child]
    return sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(2 * (osz - 1), osz))
