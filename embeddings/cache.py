"""Vectors kept by (model, text hash), so no text is ever embedded twice.

Embedding is the slow part of building a library (hours for a large corpus on a laptop).
The cache outlives any one build: an unchanged corpus embeds nothing, new papers embed only
themselves, and an interrupted build resumes from the last committed chunk.

    <folder>/keys.sqlite    (model, text digest) -> row, and each model's dimension
    <folder>/<model>.f32    that model's vectors, float32 rows, append-only

Vectors live in a flat file rather than in SQLite: a vector's blob in each B-tree row made
the tree many times the size of its keys, and looking up a large corpus's texts slow; keys
alone are quick to look up (`bench/incremental.py` times a re-ingest), and the vectors are
then read by row from a memory map.
A chunk's vectors are written and synced before its keys commit, so a key never points at
a vector that is not on disk; a crash in between leaves unreferenced rows, never bad ones.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    dim INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    model INTEGER NOT NULL,
    digest BLOB NOT NULL,
    row INTEGER NOT NULL,
    PRIMARY KEY (model, digest)
) WITHOUT ROWID;
"""
KEYS_FILE = "keys.sqlite"
CHUNK = 512  # texts embedded and committed together
_LOOKUP_BATCH = 500  # SQLite host parameters per query

# A bar of (total, label), entered around the embedding; what it yields moves it on by a
# number of texts done. The caller's reporter supplies it; this package draws none itself.
CountedBar = Callable[[int, str], AbstractContextManager[Callable[[int], None]]]


class CacheError(RuntimeError):
    """The cache is unreadable."""


class EngineError(RuntimeError):
    """An embedding engine cannot run: not installed, its cluster unreachable, its workers
    failing."""


def _no_bar(done: int) -> None:
    """What moves no bar."""


def text_digest(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


@runtime_checkable
class EmbeddingEngine(Protocol):
    """Embeds texts somewhere (this process, a cluster) and hands the vectors back in chunks
    as they are ready, in any order: `rows` are positions in `texts`."""

    label: str  # what the progress bar says

    def stream(self, texts: Sequence[str], chunk: int
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...


class LocalEngine:
    """Chunk after chunk through an embedding function, in this process."""

    label = "embedding"

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray]):
        self.embed = embed

    def stream(self, texts: Sequence[str], chunk: int
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(texts), chunk):
            rows = np.arange(start, min(start + chunk, len(texts)))
            yield rows, self.embed(texts[start : start + chunk])


class EmbeddingCache:
    def __init__(self, folder: Path, model: str, dim: int):
        self.folder = Path(folder)
        self.model = model
        self.dim = dim
        keys_path = self.folder / KEYS_FILE
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(keys_path, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            with self._db:
                self._db.execute("INSERT OR IGNORE INTO models (name, dim) VALUES (?, ?)",
                                 (model, dim))
            self._model_id, stored_dim = self._db.execute(
                "SELECT id, dim FROM models WHERE name = ?", (model,)).fetchone()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise CacheError(f"{keys_path}: not a readable embedding cache ({exc})") from None
        if stored_dim != dim:
            raise CacheError(f"{keys_path}: holds {stored_dim}-dimensional vectors for {model}, "
                             f"not {dim}")
        self.vectors_path = self.folder / f"{self._model_id}.f32"
        self._row_bytes = dim * 4

    def close(self) -> None:
        self._db.close()

    def holds(self, model: str) -> bool:
        """Whether the cache keeps vectors of this model (another than its own, say)."""
        row = self._db.execute("SELECT 1 FROM models JOIN keys ON keys.model = models.id "
                               "WHERE models.name = ? LIMIT 1", (model,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM keys WHERE model = ?",
                                (self._model_id,)).fetchone()[0]

    def get(self, digests: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among these digests; a key whose row is missing (a vector file
        cut short) counts as not cached."""
        rows: dict[bytes, int] = {}
        unique = sorted(set(digests))  # in key order: the B-tree is walked, not jumped
        try:
            for start in range(0, len(unique), _LOOKUP_BATCH):
                batch = unique[start : start + _LOOKUP_BATCH]
                marks = ",".join("?" * len(batch))
                rows.update(self._db.execute(
                    f"SELECT digest, row FROM keys WHERE model = ? AND digest IN ({marks})",
                    [self._model_id, *batch]))
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.folder / KEYS_FILE}: not a readable embedding cache "
                             f"({exc})") from None
        stored = self._stored_rows()
        rows = {d: r for d, r in rows.items() if 0 <= r < stored}
        if not rows:
            return {}
        found = list(rows.items())
        found.sort(key=lambda item: item[1])  # read the file front to back
        table = np.memmap(self.vectors_path, dtype=np.float32, mode="r", shape=(stored, self.dim))
        vectors = np.array(table[np.fromiter((r for _, r in found), dtype=np.int64,
                                             count=len(found))])
        del table
        return {digest: vectors[i] for i, (digest, _) in enumerate(found)}

    def put(self, digests: Sequence[bytes], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        with self.vectors_path.open("ab") as fh:
            size = fh.seek(0, os.SEEK_END)
            first = size // self._row_bytes
            if size % self._row_bytes:  # a torn write of a crashed run: cut it off
                fh.truncate(first * self._row_bytes)
            fh.write(vectors.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO keys VALUES (?, ?, ?)",
                    [(self._model_id, d, first + i) for i, d in enumerate(digests)])
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.folder / KEYS_FILE}: not a writable embedding cache "
                             f"({exc})") from None

    def absorb_legacy(self, path: Path) -> int:
        """Copy this model's vectors from a cache of the earlier layout (vectors inside
        SQLite, table `vectors(model, digest, vector)`), so that a library built before
        re-embeds nothing. Returns how many were copied; an unreadable file copies none."""
        try:
            legacy = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            rows = legacy.execute("SELECT digest, vector FROM vectors WHERE model = ?",
                                  (self.model,))
            copied = 0
            while batch := rows.fetchmany(CHUNK * 8):
                batch = [(d, v) for d, v in batch if len(v) == self._row_bytes]
                self.put([d for d, _ in batch],
                         np.frombuffer(b"".join(v for _, v in batch), dtype=np.float32))
                copied += len(batch)
            legacy.close()
        except sqlite3.DatabaseError:
            return 0
        return copied

    def _stored_rows(self) -> int:
        try:
            return self.vectors_path.stat().st_size // self._row_bytes
        except FileNotFoundError:
            return 0

    def embed(
        self,
        texts: Sequence[str],
        embed: Callable[[Sequence[str]], np.ndarray] | EmbeddingEngine,
        *,
        bar: CountedBar | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors for `texts`, embedding (and committing, chunk by chunk as each comes back)
        only the unseen, moving `bar` (if given) as they come. `embed` is a function of a
        chunk of texts, or an engine that streams chunks back.

        Returns the (n, dim) vectors and how many texts were embedded.
        """
        engine = embed if isinstance(embed, EmbeddingEngine) else LocalEngine(embed)
        digests = [text_digest(t) for t in texts]
        known = self.get(digests)
        missing: dict[bytes, str] = {}
        for digest, text in zip(digests, texts, strict=True):
            if digest not in known:
                missing.setdefault(digest, text)
        pending = list(missing.items())
        # Longest first: batches of similar length waste no padding, and the ETA is honest.
        pending.sort(key=lambda item: -len(item[1]))
        shown = bar is not None and pending
        with bar(len(pending), engine.label) if shown else nullcontext(_no_bar) as advance:
            chunks = engine.stream([text for _, text in pending], CHUNK) if pending else ()
            for rows, vectors in chunks:
                chunk = [pending[row][0] for row in rows]
                self.put(chunk, vectors)
                known.update(zip(chunk, vectors, strict=True))
                advance(len(chunk))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), 0
        return np.vstack([known[d] for d in digests]).astype(np.float32, copy=False), len(pending)
