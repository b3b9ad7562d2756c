"""Building a library: embed only what the embedding cache lacks (re-ingesting an unchanged
corpus embeds nothing, adding papers embeds only those, an interrupted build resumes), then
index everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.ingest import Corpus
from bot.library.contents import Library, Manifest, document_text, sentence_rows_of
from bot.library.lexical import LexicalIndex
from bot.library.sentences import split_sentences
from bot.records import Layout, Paper
from bot.reporting import SILENT, Reporter
from embeddings import EmbeddingCache, EmbeddingEngine, Encoder, Int8Vectors, VectorIndex

HUB_NEIGHBOURS = 10  # a paper's hubness: mean cosine to this many nearest other papers
_QUANTIZE_ROWS = 65_536  # sentence vectors quantized this many at a time while building


def paper_vectors(papers: list[Paper], spans: np.ndarray, vectors_of: dict[str, np.ndarray],
                  rows: Sequence[int], dim: int) -> np.ndarray:
    """The vectors of these papers: a titled paper's is its title's vector plus the mean of
    its sentences' vectors, normalised; with no title (or no sentence), its whole text's.

    The sentences are embedded anyway, for evidence, so a titled paper costs one short
    title more rather than a second pass over its whole abstract, and the whole abstract
    counts, not only its first 256 tokens. On SciFact this scores higher than the whole-text
    vector (README, "Retrieval quality"; `bench/quality.py`).
    Untitled text (CiteSeer's title-and-body) is better served by the whole-text vector.
    """
    out = np.zeros((len(rows), dim), dtype=np.float32)
    offsets = np.searchsorted(spans[:, 0], np.arange(len(papers) + 1))
    for i, row in enumerate(rows):
        paper = papers[row]
        start, end = offsets[row], offsets[row + 1]
        if paper.title and end > start:
            sentences = np.stack([vectors_of[paper.abstract[s:e]] for _, s, e in spans[start:end]])
            vector = vectors_of[paper.title] + sentences.mean(axis=0)
            out[i] = vector / max(float(np.linalg.norm(vector)), 1e-12)
        else:
            out[i] = vectors_of[document_text(paper)]
    return out


def texts_to_embed(papers: list[Paper], spans: np.ndarray, rows: Sequence[int]) -> list[str]:
    """What `paper_vectors` needs for these papers: titles, sentences, and the whole text
    of untitled papers."""
    offsets = np.searchsorted(spans[:, 0], np.arange(len(papers) + 1))
    texts = []
    for row in rows:
        paper = papers[row]
        start, end = offsets[row], offsets[row + 1]
        texts.append(paper.title if paper.title and end > start else document_text(paper))
        texts.extend(paper.abstract[s:e] for _, s, e in spans[start:end])
    return texts


def unchanged_rows(papers: list[Paper], previous: Library | None) -> np.ndarray:
    """For each paper, its row in the previous build if its title and abstract (all that its
    vectors depend on) are unchanged there; else -1."""
    out = np.full(len(papers), -1, dtype=np.int64)
    if previous is None:
        return out
    old = previous.papers
    row_of_text = {(p.title, p.abstract): row for row, p in enumerate(old)}
    for row, paper in enumerate(papers):
        if row < len(old) and old[row].title == paper.title and old[row].abstract == paper.abstract:
            out[row] = row  # the same row when it can be: papers only appended keep theirs
        else:
            out[row] = row_of_text.get((paper.title, paper.abstract), -1)
    return out


def sentence_spans(papers: list[Paper], reused: np.ndarray, previous: Library | None
                   ) -> np.ndarray:
    """(paper row, start, end) of every abstract sentence; an unchanged paper's are copied
    from the previous build instead of split again."""
    old = previous.sentence_spans.tolist() if previous is not None else []
    spans: list[tuple[int, int, int]] = []
    for row, paper in enumerate(papers):
        if reused[row] >= 0:
            assert previous is not None
            rows = previous.sentence_rows(int(reused[row]))
            spans.extend((row, s, e) for _, s, e in old[rows.start : rows.stop])
        else:
            spans.extend((row, s, e) for s, e in split_sentences(paper.abstract))
    return np.array(spans, dtype=np.int32).reshape(-1, 3)


def hubness(index: VectorIndex, vectors: np.ndarray, rows: np.ndarray | None = None,
            batch: int = 4096) -> np.ndarray:
    """Mean cosine of each paper (or of these rows) to its nearest other papers.

    Some papers sit close to everything (surveys, broad abstracts) and crowd every similar-
    paper list; subtracting half their hubness (CSLS, Lample et al. 2018) ranks a paper by
    how much closer it is to the reference than to its usual neighbours.
    """
    rows = np.arange(len(vectors)) if rows is None else rows
    out = np.zeros(len(rows), dtype=np.float32)
    k = min(HUB_NEIGHBOURS + 1, len(vectors))
    if k < 2:
        return out
    for start in range(0, len(rows), batch):
        scores, _ = index.search(vectors[rows[start : start + batch]], k)
        out[start : start + batch] = scores[:, 1:].mean(axis=1)  # column 0 is the paper itself
    return out


def grown_hubness(index: VectorIndex, vectors: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Hubness after papers were appended to `old`'s: computed for the new papers and for
    the old papers near them (whose nearest papers may now include a new one), kept for the
    rest. A few thousand searches instead of one per paper."""
    new_rows = np.arange(len(old), len(vectors))
    _, near = index.search(vectors[new_rows], 2 * HUB_NEIGHBOURS + 1)
    touched = np.union1d(new_rows, near[near >= 0])
    out = np.concatenate([old, np.zeros(len(new_rows), dtype=np.float32)])
    out[touched] = hubness(index, vectors, touched)
    return out


@dataclass(frozen=True)
class _Reuse:
    """What a build takes from the previous one: each paper's row there if unchanged (else
    -1), and every paper's sentence spans (an unchanged paper's copied, not split again)."""

    reused: np.ndarray
    spans: np.ndarray

    @property
    def fresh(self) -> np.ndarray:
        return np.flatnonzero(self.reused < 0)

    @property
    def kept(self) -> np.ndarray:
        return np.flatnonzero(self.reused >= 0)

    def sentence_offsets(self) -> np.ndarray:
        return np.searchsorted(self.spans[:, 0], np.arange(len(self.reused) + 1))


def build_library(
    corpus: Corpus,
    embedder: Encoder,
    *,
    fingerprint: str,
    layout: Layout | None = None,
    cache: EmbeddingCache,
    previous: Library | None = None,
    engine: EmbeddingEngine | None = None,
    reporter: Reporter = SILENT,
) -> tuple[Library, int]:
    """Embed what the cache lacks (in this process, or on `engine`, which must run the same
    model) and index everything. Returns the library and how many texts were embedded; the
    caller sets its manifest's corpus (the files it read, as the store records them).

    `previous`, a build by the same model, lends the sentences and vectors of every paper
    whose title and abstract are unchanged: adding a few papers to a large library reads the
    others' from its files instead of looking up all their texts in the cache.
    """
    papers = corpus.papers
    plan = _reuse_plan(papers, previous, reporter)
    texts = texts_to_embed(papers, plan.spans, plan.fresh)
    vectors, embedded = cache.embed(texts, engine or embedder.embed_documents,
                                    bar=reporter.counting)
    vectors_of = dict(zip(texts, vectors, strict=True))
    doc_vectors = _fresh_paper_vectors(papers, plan, vectors_of, embedder.dim)
    sentence_vectors = _fresh_sentence_vectors(papers, plan, vectors_of, embedder.dim)
    if len(plan.kept):
        assert previous is not None
        with reporter.step(f"reusing the vectors of {len(plan.kept):,} unchanged papers"):
            _copy_kept_vectors(plan, previous, doc_vectors, sentence_vectors)
    with reporter.step("indexing vectors"):
        doc_index, paper_hubness = _dense_index(doc_vectors, plan.reused, previous)
    with reporter.step("indexing terms (BM25)"):
        lexical = LexicalIndex.build(
            [document_text(p) for p in papers], previous_rows=plan.reused,
            previous=previous.lexical if previous is not None else None)
    manifest = Manifest(
        model_name=embedder.name, model_sha256=embedder.weights_sha256,
        encoder=embedder.kind, encoder_revision=embedder.revision, dim=embedder.dim,
        papers=len(papers), sentences=len(plan.spans), corpus_fingerprint=fingerprint,
        layout=layout, generation="unsaved")
    library = Library(
        papers=papers, report=corpus.report, doc_index=doc_index, lexical=lexical,
        sentence_vectors=sentence_vectors, sentence_spans=plan.spans, hubness=paper_hubness,
        manifest=manifest)
    return library, embedded


def _reuse_plan(papers: list[Paper], previous: Library | None, reporter: Reporter) -> _Reuse:
    reused = unchanged_rows(papers, previous)
    with reporter.step(f"splitting {int((reused < 0).sum()):,} new abstracts into sentences"):
        spans = sentence_spans(papers, reused, previous)
    return _Reuse(reused=reused, spans=spans)


def _fresh_paper_vectors(papers: list[Paper], plan: _Reuse,
                         vectors_of: dict[str, np.ndarray], dim: int) -> np.ndarray:
    """Every paper's vector row: the fresh papers' filled in, the kept ones still zero."""
    doc_vectors = np.zeros((len(papers), dim), dtype=np.float32)
    doc_vectors[plan.fresh] = paper_vectors(papers, plan.spans, vectors_of, plan.fresh, dim)
    return doc_vectors


def _fresh_sentence_vectors(papers: list[Paper], plan: _Reuse,
                            vectors_of: dict[str, np.ndarray], dim: int) -> Int8Vectors:
    """Every sentence's int8 row: the fresh papers' quantized in blocks (never a float32
    copy of them all), the kept ones still zero."""
    sentence_vectors = Int8Vectors.zeros(len(plan.spans), dim)
    spans = plan.spans
    fresh_sentences = sentence_rows_of(plan.sentence_offsets(), plan.fresh)
    for start in range(0, len(fresh_sentences), _QUANTIZE_ROWS):
        rows = fresh_sentences[start : start + _QUANTIZE_ROWS]
        sentence_vectors.put(rows, Int8Vectors.quantize(np.stack(
            [vectors_of[papers[row].abstract[s:e]] for row, s, e in spans[rows]])))
    return sentence_vectors


def _copy_kept_vectors(plan: _Reuse, previous: Library, doc_vectors: np.ndarray,
                       sentence_vectors: Int8Vectors) -> None:
    """The unchanged papers' vectors and sentence vectors, as the previous build stored them."""
    kept = plan.kept
    doc_vectors[kept] = previous.doc_index.vectors(plan.reused[kept])
    sentence_vectors.put(sentence_rows_of(plan.sentence_offsets(), kept),
                         previous.sentence_vectors.take(
                             sentence_rows_of(previous.sentence_offsets, plan.reused[kept])))


def _dense_index(doc_vectors: np.ndarray, reused: np.ndarray, previous: Library | None
                 ) -> tuple[VectorIndex, np.ndarray]:
    """The paper index and each paper's hubness. A graph index that only gains papers grows
    by its new nodes, and hubness changes only near them."""
    appended = _appended_to(previous, reused)
    if appended:
        assert previous is not None
        doc_index = previous.doc_index.extended(doc_vectors[appended:],
                                                np.arange(appended, len(doc_vectors)))
        return doc_index, grown_hubness(doc_index, doc_vectors, previous.hubness)
    doc_index = VectorIndex.build(doc_vectors, np.arange(len(doc_vectors)))
    return doc_index, hubness(doc_index, doc_vectors)


def _appended_to(previous: Library | None, reused: np.ndarray) -> int:
    """The previous build's paper count when this build only appends papers to a graph
    index of it (every old paper unchanged, in its row); else 0."""
    if previous is None or not previous.doc_index.approximate:
        return 0
    count = previous.doc_index.count
    if len(reused) <= count or not np.array_equal(reused[:count], np.arange(count)):
        return 0
    return count
