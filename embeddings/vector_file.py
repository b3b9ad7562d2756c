"""Unit vectors kept as int8 codes with a float32 scale a row: a quarter of float32's size.

A library keeps several sentence vectors a paper, and a query scores the sentences of its
few hundred candidates. As int8 the matrix is small enough to memory-map whole even for a
large corpus: a query's rows are then slices of memory rather than a read from disk each
(README, 'Hardening', has the sizes). Each row is symmetric: codes = round(x / scale)
with scale = max |x| / 127, which keeps a unit vector's cosines close to float32's
(tests/test_embeddings.py holds the bound).

On disk a row is its dim int8 codes followed by the 4 bytes of its float32 scale, in one
int8 .npy of shape (rows, dim + 4): a row is one contiguous run, the file one map.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_SCALE_BYTES = 4
_QUANTIZE_BLOCK = 65_536


class Int8Vectors:
    """(rows, dim) float32 vectors, stored as packed int8 rows; index it like an array."""

    def __init__(self, packed: np.ndarray):
        if packed.dtype != np.int8 or packed.ndim != 2 or packed.shape[1] <= _SCALE_BYTES:
            raise ValueError(f"holds {packed.dtype} of shape {packed.shape}, "
                             "not packed int8 rows")
        self.packed = packed
        self.shape: tuple[int, int] = (packed.shape[0], packed.shape[1] - _SCALE_BYTES)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2

    @classmethod
    def quantize(cls, vectors: np.ndarray) -> Int8Vectors:
        vectors = np.asarray(vectors, dtype=np.float32)
        rows, dim = vectors.shape
        packed = np.empty((rows, dim + _SCALE_BYTES), dtype=np.int8)
        # By blocks, so the float temporaries stay small next to a million-row input.
        for start in range(0, rows, _QUANTIZE_BLOCK):
            block = vectors[start : start + _QUANTIZE_BLOCK]
            scales = np.abs(block).max(axis=1, initial=0.0) / 127.0
            scales[scales == 0] = 1.0  # an all-zero row: any scale decodes it to zeros
            out = packed[start : start + _QUANTIZE_BLOCK]
            out[:, :dim] = np.rint(block / scales[:, None])
            out[:, dim:] = scales.astype("<f4").view(np.int8).reshape(len(block), _SCALE_BYTES)
        return cls(packed)

    @classmethod
    def zeros(cls, rows: int, dim: int) -> Int8Vectors:
        return cls(np.zeros((rows, dim + _SCALE_BYTES), dtype=np.int8))

    @classmethod
    def open(cls, path: Path) -> Int8Vectors:
        """Memory-mapped, read-only: rows come into memory as queries touch them.
        Raises ValueError for a file that is not packed int8 rows or is cut short."""
        return cls(np.load(path, mmap_mode="r", allow_pickle=False))

    def save(self, path: Path) -> None:
        with Path(path).open("wb") as fh:
            np.save(fh, np.ascontiguousarray(self.packed), allow_pickle=False)

    def take(self, rows) -> Int8Vectors:
        """These rows as they are stored, not decoded: for copying rows into a new matrix."""
        return Int8Vectors(self.packed[np.asarray(rows, dtype=np.int64)])

    def put(self, rows, vectors: Int8Vectors) -> None:
        self.packed[np.asarray(rows, dtype=np.int64)] = vectors.packed

    def dot(self, rows, query: np.ndarray) -> np.ndarray:
        """(len(rows),) the rows' dot products with a float32 query, without decoding them:
        the codes' products, each times its row's scale (cheaper than decoding them first).
        On this thread: a few thousand rows are too few for BLAS's threads."""
        packed = self.packed[np.asarray(rows, dtype=np.int64).ravel()]
        dim = self.shape[1]
        products = np.einsum("ij,j->i", packed[:, :dim].astype(np.float32), query)
        return products * _scales(packed, dim)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        packed = self.packed[key] if isinstance(key, slice) else self.packed[
            np.asarray(key, dtype=np.int64).ravel()]
        return _decode(packed, self.shape[1])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = _decode(self.packed, self.shape[1])
        return whole if dtype is None else whole.astype(dtype)


def _scales(packed: np.ndarray, dim: int) -> np.ndarray:
    return np.ascontiguousarray(packed[:, dim:]).view("<f4").astype(np.float32).ravel()


def _decode(packed: np.ndarray, dim: int) -> np.ndarray:
    return packed[:, :dim].astype(np.float32) * _scales(packed, dim)[:, None]
