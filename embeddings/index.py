"""A FAISS inner-product index over unit vectors, addressed by int64 ids.

With normalised vectors the inner product is the cosine. Searches can be restricted to a
set of allowed ids *inside* FAISS, so a narrow filter still yields k results when k match.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class IndexFileError(RuntimeError):
    """An index file that cannot be read back."""


class VectorIndex:
    """Exact (flat) inner-product search with id mapping and reconstruction."""

    def __init__(self, dim: int, _index: faiss.Index | None = None):
        self.dim = dim
        self._index = _index if _index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; ids are -1 where fewer than k exist."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.count))
        if self.count == 0:
            return np.full((len(queries), k), -np.inf), np.full((len(queries), k), -1)
        params = None
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return np.full((len(queries), k), -np.inf), np.full((len(queries), k), -1)
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_ids, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)
        scores, ids = self._index.search(queries, k, params=params)
        return scores, ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors for these ids, in order."""
        if len(ids) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def write(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def read(cls, path: Path) -> VectorIndex:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:  # FAISS reports damaged files as RuntimeError
            raise IndexFileError(
                f"{path}: not a readable FAISS index ({_first_line(exc)})") from None
        return cls(index.d, index)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__
