"""Bringing a library folder up to date with its corpus files, in named steps: reuse the
current library if it is of these files and this model; else read the corpus, embed what is
new, index, and commit the new library to the folder, under its write lock."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.errors import LibraryError
from bot.ingest import Corpus, expand_paths, fingerprint, ingest
from bot.library import added
from bot.library.build import build_library
from bot.library.contents import Library
from bot.library.store import LibraryStore
from bot.records import Layout
from bot.reporting import Reporter
from embeddings import CacheError, EmbeddingEngine, Encoder, EngineError

log = logging.getLogger(__name__)


class LibraryChanged(LibraryError):
    """Another process rebuilt the library between reading and writing it."""


@dataclass(frozen=True)
class LibraryBuild:
    """One build of a library folder from corpus files, in named steps: reuse the current
    library if it is of these files and this model; else read the corpus, embed what is new,
    index, and commit the new library to the folder."""

    store: LibraryStore
    files: list[Path]
    layout: Layout | None
    fingerprint: str
    current: Library | None
    embedder: Encoder
    reporter: Reporter

    @classmethod
    def of(cls, store: LibraryStore, paths: Sequence[str | Path], layout: Layout | None,
           embedder: Encoder, reporter: Reporter, loaded: Library | None) -> LibraryBuild:
        files = expand_paths(paths)
        current = (loaded if loaded is not None and _is_current(loaded, store)
                   else _try_load(store))
        return cls(store=store, files=files, layout=layout,
                   fingerprint=fingerprint(files, layout), current=current,
                   embedder=embedder, reporter=reporter)

    def current_if_unchanged(self) -> Library | None:
        """The current library, when it was built from these files, where they are, with
        this model: then there is nothing to build."""
        current = self.current
        if (current is not None and current.manifest.corpus_fingerprint == self.fingerprint
                and current.embedder_identity == self.embedder.identity
                and _same_places(self.store.corpus_files(current.manifest), self.files)):
            return current
        return None

    def run(self, engine: EmbeddingEngine | None, expected_generation: str | None
            ) -> tuple[Library, int]:
        """Build and commit under the folder's write lock: the library and the number of
        texts embedded."""
        with self.store.writing():
            self._check_generation(expected_generation)
            corpus = ingest(self.files, self.layout, reporter=self.reporter,
                            parse_cache=self.store.parse_cache())
            library, embedded = self._embed_and_index(corpus, engine)
            library.added = self._added_dates(library)
            self._commit(library, corpus)
        return library, embedded

    def _check_generation(self, expected: str | None) -> None:
        store = self.store
        if (expected is not None and store.exists()
                and store.read_manifest().generation != expected):
            raise LibraryChanged(f"{store.root} was rebuilt by another paperchat process "
                                 "meanwhile; run the command again")

    def _embed_and_index(self, corpus: Corpus, engine: EmbeddingEngine | None
                         ) -> tuple[Library, int]:
        embedder, current = self.embedder, self.current
        cache = self.store.embedding_cache(embedder.identity, embedder.dim)
        try:
            return build_library(
                corpus, embedder, fingerprint=self.fingerprint, layout=self.layout,
                cache=cache, engine=engine, reporter=self.reporter,
                previous=current if current is not None
                and current.embedder_identity == embedder.identity else None)
        finally:
            cache.close()

    def _added_dates(self, library: Library) -> np.ndarray:
        """Each paper's first date in this folder: kept from the library this build
        replaces (whatever model built it), today's for a paper new to it."""
        current = self.current
        return added.carried_over(library.papers, current.papers if current else None,
                                  current.added if current else None, added.today())

    def _commit(self, library: Library, corpus: Corpus) -> None:
        # The files actually read (a refused file is no part of it), where they are.
        library.manifest = library.manifest.model_copy(
            update={"corpus": self.store.corpus_entries(corpus.files)})
        with self.reporter.step("writing the library"):
            self.store.save(library)


@contextmanager
def build_errors(store: LibraryStore) -> Iterator[None]:
    """A build's failures as the LibraryError that says what to do about each."""
    try:
        yield
    except OSError as exc:  # a full disk, a read-only folder: while caching or writing
        if not store.is_write_failure(exc):
            raise  # not the library's: a corpus file, say (the CLI names its path)
        raise store.write_error(exc) from None
    except CacheError as exc:
        if store.is_disk_full(exc):  # the cache is fine: the disk it is on is full
            raise store.write_error(exc) from None
        raise LibraryError(f"{exc}; delete it and run `paperchat ingest` again "
                           "(it only holds vectors that can be recomputed)") from None
    except EngineError as exc:
        raise LibraryError(f"{exc} (the vectors embedded so far are kept: a new run "
                           "resumes from them)") from None


def _try_load(store: LibraryStore) -> Library | None:
    """The previous build, for a build to reuse; None when there is none or it is
    damaged (then the build, asked for with these files, replaces it). Reads never
    come here: they open the library as it is, or fail."""
    if not store.exists():
        return None
    try:
        return store.load()
    except LibraryError as exc:  # damaged: rebuilt from the corpus
        log.warning("rebuilding the library: %s", exc)
        return None


def _same_places(stored: list[Path], files: list[Path]) -> bool:
    """Whether the library's corpus, as stored, is among these files where they are now."""
    given = {Path(f).expanduser().resolve() for f in files}
    return all(path in given for path in stored)


def _is_current(library: Library, store: LibraryStore) -> bool:
    """Whether the folder still holds this build (no other process has rebuilt it since)."""
    try:
        return store.exists() and store.read_manifest().generation == library.manifest.generation
    except LibraryError:
        return False
