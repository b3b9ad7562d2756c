"""A built library: papers, their vectors, and the vectors of their abstract sentences.

Building embeds only what is new: vectors of an earlier build are reused for every
document or sentence whose text is unchanged (same model), so re-ingesting an unchanged
corpus embeds nothing and adding papers embeds only those.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from pydantic import BaseModel, Field

from bot.ingest import Corpus
from bot.ingest.merge import normalise_title
from bot.records import Filters, IngestReport, Layout, Paper
from bot.sentences import split_sentences
from embeddings import Embedder, VectorIndex

FORMAT_VERSION = 1


class Manifest(BaseModel):
    """What a library folder holds and how it was built; written last, read first."""

    format_version: int = FORMAT_VERSION
    model_name: str
    model_sha256: str
    dim: int
    papers: int
    sentences: int
    corpus_fingerprint: str = Field(description="Content hash of the corpus files + layout.")
    corpus_paths: list[str] = Field(description="The files ingested, as given.")
    layout: Layout | None = None
    generation: str = Field(description="Names this build's files; changes on every write.")
    files: dict[str, str] = Field(default_factory=dict)
    built_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))


def document_text(paper: Paper) -> str:
    """What is embedded for a paper: the title first, so truncation never cuts it."""
    return f"{paper.title}. {paper.abstract}" if paper.title else paper.abstract


def _digest(text: str) -> bytes:
    return hashlib.sha1(text.encode()).digest()


@dataclass
class Library:
    papers: list[Paper]
    report: IngestReport
    doc_index: VectorIndex  # id = row in `papers`
    sentence_vectors: np.ndarray  # (S, dim) float32, in paper order
    sentence_spans: np.ndarray  # (S, 3) int32: paper row, start, end in the paper's abstract
    manifest: Manifest
    row_of: dict[str, int] = field(init=False)
    sentence_offsets: np.ndarray = field(init=False)  # paper row -> first sentence row

    def __post_init__(self) -> None:
        self.row_of = {p.id: i for i, p in enumerate(self.papers)}
        self.sentence_offsets = np.searchsorted(
            self.sentence_spans[:, 0], np.arange(len(self.papers) + 1)).astype(np.int64)

    @cached_property
    def row_of_arxiv_id(self) -> dict[str, int]:
        return {p.arxiv_id: i for i, p in reversed(list(enumerate(self.papers))) if p.arxiv_id}

    @cached_property
    def row_of_title(self) -> dict[str, int]:
        """Normalised title (case and punctuation ignored) -> row."""
        return {normalise_title(p.title): i
                for i, p in reversed(list(enumerate(self.papers))) if p.title}

    def sentence_rows(self, row: int) -> range:
        return range(int(self.sentence_offsets[row]), int(self.sentence_offsets[row + 1]))

    def sentence_text(self, sentence_row: int) -> str:
        row, start, end = (int(x) for x in self.sentence_spans[sentence_row])
        return self.papers[row].abstract[start:end]

    def allowed_rows(self, filters: Filters | None) -> np.ndarray | None:
        """Rows passing the filters; None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        return np.array([i for i, p in enumerate(self.papers) if filters.matches(p)],
                        dtype=np.int64)

    def vector_cache(self) -> dict[bytes, np.ndarray]:
        """Text digest -> vector for every document and sentence of this build."""
        cache: dict[bytes, np.ndarray] = {}
        doc_vectors = self.doc_index.vectors(np.arange(len(self.papers)))
        for paper, vector in zip(self.papers, doc_vectors, strict=True):
            cache[_digest(document_text(paper))] = vector
        for srow, vector in enumerate(self.sentence_vectors):
            cache[_digest(self.sentence_text(srow))] = vector
        return cache


def build_library(
    corpus: Corpus,
    embedder: Embedder,
    *,
    fingerprint: str,
    corpus_paths: list[str],
    layout: Layout | None = None,
    previous: Library | None = None,
    progress: bool = False,
) -> tuple[Library, int]:
    """Embed what is new and index it. Returns the library and how many texts were embedded."""
    papers = corpus.papers
    spans = [(row, s, e) for row, p in enumerate(papers) for s, e in split_sentences(p.abstract)]
    doc_texts = [document_text(p) for p in papers]
    sentence_texts = [papers[row].abstract[s:e] for row, s, e in spans]
    texts = doc_texts + sentence_texts

    reusable = previous is not None and previous.manifest.model_sha256 == embedder.weights_sha256
    cache = previous.vector_cache() if reusable else {}
    digests = [_digest(t) for t in texts]
    missing: dict[bytes, str] = {}
    for digest, text in zip(digests, texts, strict=True):
        if digest not in cache:
            missing.setdefault(digest, text)
    if missing:
        fresh = embedder.embed_documents(list(missing.values()), progress=progress)
        cache.update(zip(missing.keys(), fresh, strict=True))
    vectors = np.vstack([cache[d] for d in digests]).astype(np.float32, copy=False)

    doc_index = VectorIndex(vectors.shape[1])
    doc_index.add(vectors[: len(papers)], np.arange(len(papers)))
    manifest = Manifest(
        model_name=embedder.name, model_sha256=embedder.weights_sha256, dim=vectors.shape[1],
        papers=len(papers), sentences=len(spans), corpus_fingerprint=fingerprint,
        corpus_paths=corpus_paths, layout=layout, generation="unsaved")
    library = Library(
        papers=papers, report=corpus.report, doc_index=doc_index,
        sentence_vectors=np.ascontiguousarray(vectors[len(papers):]),
        sentence_spans=np.array(spans, dtype=np.int32).reshape(-1, 3),
        manifest=manifest)
    return library, len(missing)
