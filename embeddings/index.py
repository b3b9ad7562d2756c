"""A FAISS inner-product index over unit vectors, addressed by int64 ids.

With normalised vectors the inner product is the cosine. Searches can be restricted to a
set of allowed ids *inside* FAISS, so a narrow filter still yields k results when k match.

Up to `EXACT_LIMIT` vectors the search is exact (a flat scan, a few milliseconds); above it
the index is an HNSW graph, whose parameters grow with the count (`hnsw_parameters`).
Both choices come from `bench/ann.py`, which measures latency and recall@10 against exact
search up to a million vectors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np


class IndexFileError(RuntimeError):
    """An index file that cannot be read back."""


# Exact search scans every vector, so its time grows with the count; past this many an HNSW
# graph answers far sooner with recall@10 near 1 (bench/ann.py; README, 'Vector index').
EXACT_LIMIT = 25_000
# A filter that leaves this many vectors or fewer is searched exactly even in a graph: a
# graph walk that must skip most nodes loses recall, and a scan of a few is fast.
EXACT_FILTER_LIMIT = 50_000


def hnsw_parameters(count: int) -> tuple[int, int, int]:
    """(M, efConstruction, efSearch) for a graph of `count` vectors: more links and a wider
    search as the graph grows, so recall@10 stays above 0.95."""
    ef_search = round(16 * np.log2(max(count, 1000) / 1000))  # 106 at 100k, 160 at 1M
    return 32, 80, int(np.clip(ef_search, 64, 512))


class VectorIndex:
    """Inner-product search with id mapping and reconstruction: exact, or HNSW when large."""

    def __init__(self, dim: int, _index: faiss.Index | None = None):
        self.dim = dim
        self._index = _index if _index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        inner = faiss.downcast_index(getattr(self._index, "index", self._index))
        self._graph = inner if isinstance(inner, faiss.IndexHNSW) else None

    @classmethod
    def build(cls, vectors: np.ndarray, ids: np.ndarray, *, exact_limit: int | None = None,
              ) -> VectorIndex:
        """An index of these vectors, exact or approximate by their count."""
        exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(vectors) <= exact_limit:
            index = cls(dim)
        else:
            m, ef_construction, ef_search = hnsw_parameters(len(vectors))
            graph = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = ef_construction
            graph.hnsw.efSearch = ef_search
            index = cls(dim, faiss.IndexIDMap2(graph))
        index.add(vectors, ids)
        return index

    @property
    def approximate(self) -> bool:
        return self._graph is not None

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def extended(self, vectors: np.ndarray, ids: np.ndarray) -> VectorIndex:
        """A copy of this index with these vectors added (this one may be memory-mapped,
        so read-only). Inserting a few nodes into a graph costs in proportion to their
        number, not the graph's."""
        grown = VectorIndex(self.dim, faiss.clone_index(self._index))
        grown.add(vectors, ids)
        if grown._graph is not None:
            grown._graph.hnsw.efSearch = hnsw_parameters(grown.count)[2]
        return grown

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; ids are -1 where fewer than k exist."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.count))
        if self.count == 0:
            return np.full((len(queries), k), -np.inf), np.full((len(queries), k), -1)
        selector = None  # must outlive the search: FAISS holds only a raw pointer to it
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return np.full((len(queries), k), -np.inf), np.full((len(queries), k), -1)
            if self.approximate and len(allowed_ids) <= EXACT_FILTER_LIMIT:
                return self._exact_among(queries, k, np.asarray(allowed_ids, dtype=np.int64))
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_ids, dtype=np.int64))
        if self.approximate:
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(self._graph.hnsw.efSearch, k)
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        with _one_thread_for(len(queries)):
            scores, ids = self._index.search(queries, k, params=params)
        return scores, ids

    def _exact_among(self, queries: np.ndarray, k: int, allowed: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        scores = queries @ self.vectors(allowed).T
        k_found = min(k, len(allowed))
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k_found]
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        out_ids = np.full((len(queries), k), -1, dtype=np.int64)
        out_scores[:, :k_found] = np.take_along_axis(scores, top, axis=1)
        out_ids[:, :k_found] = allowed[top]
        return out_scores, out_ids

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
            # Memory-mapped: vectors are paged in as searches touch them, and shared by every
            # process that serves the same library.
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
        except RuntimeError as exc:  # FAISS reports damaged files as RuntimeError
            raise IndexFileError(
                f"{path}: not a readable FAISS index ({_first_line(exc)})") from None
        return cls(index.d, index)


@contextlib.contextmanager
def _one_thread_for(queries: int) -> Iterator[None]:
    """One query runs on the calling thread alone. FAISS parallelises over queries, so a
    team of OpenMP threads has nothing to share for one, and while other work holds the cores
    its threads spin and wait, which makes a search in a busy server many times slower.
    OpenMP's thread count is per calling thread, so concurrent searches don't interfere."""
    if queries > 1:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__
