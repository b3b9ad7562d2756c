"""What a built library is: its papers, their vectors, the vectors of their abstract
sentences, BM25, and the manifest that says how it was built (`store` writes and reads it,
`build` makes it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, model_validator

from bot.ingest.merge import normalise_title
from bot.library.lexical import LexicalIndex
from bot.records import Filters, IngestReport, Layout, Paper
from embeddings import Int8Vectors, VectorIndex
from embeddings.encoder import identity_of

# 7: the int8 encoder's per-token scales (Manifest.encoder_revision); its earlier vectors
# are recomputed, those of other encoders come from the embedding cache.
FORMAT_VERSION = 7


class FileCheck(BaseModel):
    """A library file's size and CRC-32, recorded when it is written, checked before it is
    read: a truncated, damaged or edited file is refused by name instead of being handed to
    FAISS or SciPy, whose readers trust what they read."""

    size: int
    crc32: int | None = Field(None, description="None for the sentence vectors: the largest "
                              "file (README, \"At 75k papers\"), memory-mapped, checked by "
                              "size and header only.")


class CorpusFile(BaseModel):
    """A corpus file as the build read it: where it was and what it held, so that a read can
    say which files changed or vanished since, without reading them as a corpus again."""

    path: str = Field(description="Absolute; relative to the library folder for a file "
                      "inside it (an upload), so that a moved library still finds it.")
    size: int | None = None
    mtime_ns: int | None = Field(None, description="Unchanged with the size: not re-hashed.")
    sha256: str | None = Field(None, description="None in libraries of earlier versions.")


class Manifest(BaseModel):
    """What a library folder holds and how it was built; written last, read first."""

    format_version: int = FORMAT_VERSION
    model_name: str
    model_sha256: str
    encoder: str = Field(description="What ran the model: onnx-int8 or torch.")
    encoder_revision: str = Field("", description="The encoder's way of running it, when "
                                  "it changed its vectors (Encoder.revision).")
    dim: int
    papers: int
    sentences: int
    corpus_fingerprint: str = Field(description="Content hash of the corpus files + layout.")
    corpus: list[CorpusFile] = Field(default_factory=list, description="The files read.")
    layout: Layout | None = None
    generation: str = Field(description="Names this build's files; changes on every write.")
    files: dict[str, str] = Field(default_factory=dict)
    checks: dict[str, FileCheck] = Field(
        default_factory=dict, description="Every file of the build by its path in the folder.")
    built_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    @model_validator(mode="before")
    @classmethod
    def _read_earlier_corpus_paths(cls, data):
        """Libraries of earlier versions list their corpus as bare paths (`corpus_paths`),
        relative to the folder the command ran in: taken as they were always read."""
        if isinstance(data, dict) and "corpus_paths" in data and "corpus" not in data:
            paths = data["corpus_paths"]
            data = {k: v for k, v in data.items() if k != "corpus_paths"}
            data["corpus"] = ([{"path": str(Path(p).absolute())} for p in paths
                               if isinstance(p, str)] if isinstance(paths, list) else paths)
        return data

    @property
    def corpus_paths(self) -> list[str]:
        """The corpus files as stored (see `LibraryStore.corpus_files` for their places)."""
        return [f.path for f in self.corpus]


def document_text(paper: Paper) -> str:
    """A paper's whole text, as BM25 indexes it: the title first (alone when it has no
    abstract)."""
    if paper.title and paper.abstract:
        return f"{paper.title}. {paper.abstract}"
    return paper.title or paper.abstract


def sentence_rows_of(offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The sentence rows of these papers, in order, where paper r's sentences are rows
    offsets[r] to offsets[r + 1]."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    first = np.cumsum(lengths) - lengths  # where each paper's run begins in the result
    return np.repeat(starts - first, lengths) + np.arange(int(lengths.sum()))


@dataclass
class Library:
    papers: list[Paper]
    report: IngestReport
    doc_index: VectorIndex  # id = row in `papers`
    lexical: LexicalIndex  # BM25 over the same texts, row-aligned with `papers`
    sentence_vectors: Int8Vectors  # (S, dim), in paper order
    sentence_spans: np.ndarray  # (S, 3) int32: paper row, start, end in the paper's abstract
    hubness: np.ndarray  # (N,) float32: mean cosine of each paper to its nearest papers
    manifest: Manifest
    # (N,) int32 day ordinals: when each paper first entered the library (bot.library.added);
    # None: every paper on the day the library was built (a library older than the dates).
    added: np.ndarray | None = None
    row_of: dict[str, int] = field(init=False)
    sentence_offsets: np.ndarray = field(init=False)  # paper row -> first sentence row

    def __post_init__(self) -> None:
        self.row_of = {p.id: i for i, p in enumerate(self.papers)}
        self.sentence_offsets = np.searchsorted(
            self.sentence_spans[:, 0], np.arange(len(self.papers) + 1)).astype(np.int64)
        if self.added is None:
            self.added = np.full(len(self.papers), self.built_on.toordinal(), dtype=np.int32)

    @property
    def built_on(self) -> dt.date:
        """The local date of the build."""
        return self.manifest.built_at.astimezone().date()

    def added_on(self, row: int) -> dt.date:
        """When the paper of this row first entered the library."""
        assert self.added is not None
        return dt.date.fromordinal(int(self.added[row]))

    @cached_property
    def row_of_arxiv_id(self) -> dict[str, int]:
        return {p.arxiv_id: i for i, p in reversed(list(enumerate(self.papers))) if p.arxiv_id}

    @cached_property
    def row_of_title(self) -> dict[str, int]:
        """Normalised title (case and punctuation ignored) -> row."""
        return {normalise_title(p.title): i
                for i, p in reversed(list(enumerate(self.papers))) if p.title}

    @cached_property
    def row_of_short_title(self) -> dict[str, int]:
        """A title's part before its colon ("Mixture-of-Depths" of "Mixture-of-Depths:
        Dynamically allocating …"), normalised -> row, where only one paper has it: what a
        person writes when naming a paper."""
        rows: dict[str, list[int]] = {}
        for i, p in enumerate(self.papers):
            if p.title and ":" in p.title:
                rows.setdefault(normalise_title(p.title.split(":", 1)[0]), []).append(i)
        return {short: found[0] for short, found in rows.items() if short and len(found) == 1}

    def sentence_rows(self, row: int) -> range:
        return range(int(self.sentence_offsets[row]), int(self.sentence_offsets[row + 1]))

    def sentence_text(self, sentence_row: int) -> str:
        row, start, end = (int(x) for x in self.sentence_spans[sentence_row])
        return self.papers[row].abstract[start:end]

    @property
    def embedder_identity(self) -> str:
        manifest = self.manifest
        return identity_of(manifest.model_sha256, manifest.encoder, manifest.encoder_revision)

    @cached_property
    def row_of_doi(self) -> dict[str, int]:
        return {p.doi: i for i, p in reversed(list(enumerate(self.papers))) if p.doi}

    @cached_property
    def row_of_cite_key(self) -> dict[str, int]:
        """A bibliography's key (`vaswani2017attention`) -> row."""
        return {p.cite_key: i for i, p in reversed(list(enumerate(self.papers))) if p.cite_key}

    def allowed_rows(self, filters: Filters | None) -> np.ndarray | None:
        """Rows passing the filters; None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        return np.array([i for i, p in enumerate(self.papers) if filters.matches(p)],
                        dtype=np.int64)

    @cached_property
    def _rows_with_sentences(self) -> np.ndarray | None:
        """Rows with an abstract sentence to quote; None when that is every row."""
        has = np.diff(self.sentence_offsets) > 0
        return None if has.all() else np.flatnonzero(has).astype(np.int64)

    def citable_rows(self, allowed: np.ndarray | None) -> np.ndarray | None:
        """Of the allowed rows (None: all), those an answer may cite: a paper kept without an
        abstract (a book, a web page) has no sentence to quote, so it never is."""
        citable = self._rows_with_sentences
        if citable is None:
            return allowed
        return citable if allowed is None else np.intersect1d(allowed, citable)
