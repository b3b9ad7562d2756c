"""Ranking: a query in, scored papers with their best-matching sentence out.

Candidates come from the dense index and from BM25 (filters applied inside both). Each is
scored on three signals, measured on SciFact train (README, "Retrieval quality"):

- relevance = 0.4 · cosine(query, title + abstract) + 0.6 · cosine(query, best sentence):
  a question is often answered by one sentence, and that sentence becomes the citation's
  quote. Relevance is a calibrated cosine, so it also decides abstention.
- score = relevance + 0.3 · BM25 / (best BM25 in the library): exact terms lift the ranking.

Paper-to-paper similarity (measured on CiteSeer dev) compares whole texts: relevance is the
cosine of the two papers, and score = relevance − 0.5 · hubness + 0.4 · BM25 (the reference
paper's text as the query) + 0.8 · cosine of the two papers' BM25 term weights, where
hubness is a paper's mean cosine to its nearest papers. Similar by one aspect (background,
method, result) compares the two papers' sentences of that role first: bot.retrieve.aspects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.library.contents import Library, sentence_rows_of
from bot.records import Filters, Hit
from bot.retrieve.aspects import (
    WHOLE_TEXT_WEIGHTS,
    AspectQuery,
    PaperRoles,
    aspect_similarities,
)
from bot.settings import RetrievalSettings


@dataclass(frozen=True)
class _Signal:
    """A per-paper score that adds to the ranking (BM25, term-weight cosines) and brings
    its own best papers in as candidates: zero outside the allowed rows."""

    values: np.ndarray
    weight: float
    scale: float | None  # what the values are divided by; None: added as they are

    @classmethod
    def of(cls, values: np.ndarray | None, weight: float, allowed: np.ndarray | None,
           *, scaled: bool) -> _Signal | None:
        """None when there is no such score or it weighs nothing. A scaled signal is scaled
        by its best value in the whole library, before filters or exclusions: for a
        reference paper that is its own text, so BM25 reads as a share of a perfect match."""
        if values is None or weight <= 0:
            return None
        scale = float(values.max()) if scaled else None
        return cls(values=_restricted(values, allowed), weight=weight, scale=scale)

    def best_rows(self, n: int) -> np.ndarray:
        return _top_positive_rows(self.values, n)

    def added_to(self, scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if self.scale is None:
            return scores + self.weight * self.values[rows]
        if self.scale > 0:
            return scores + self.weight * self.values[rows] / self.scale
        return scores


class Retriever:
    def __init__(self, library: Library, settings: RetrievalSettings):
        self.library = library
        self.settings = settings
        self.roles = PaperRoles(library)  # each sentence's role, as aspects need them

    def rank_for_question(self, query_vector: np.ndarray, k: int,
                          filters: Filters | None = None, *,
                          lexical: np.ndarray | None = None,
                          citable_only: bool = False,
                          among: Sequence[int] | None = None) -> list[Hit]:
        """The k papers that best answer a question, each with its best sentence as evidence.
        `lexical` holds every paper's BM25 score for the question. `citable_only` (for an
        answer) leaves out papers with no abstract, which a search still finds by title.
        `among`: only these rows (a follow-up about an earlier answer's papers)."""
        settings = self.settings
        allowed = _among(self.library.allowed_rows(filters), among)
        if citable_only:
            allowed = self.library.citable_rows(allowed)
        bm25 = _Signal.of(lexical, settings.lexical_weight, allowed, scaled=True)
        candidates = self._candidates(query_vector, k, allowed, [bm25])
        if len(candidates) == 0:
            return []
        doc_scores = _cosines(self.library.doc_index.vectors(candidates), query_vector)
        best_sentence, sentence_scores = self._best_sentences(query_vector, candidates)
        relevance = self._blended(doc_scores, best_sentence, sentence_scores)
        scores = _with_signals(relevance, candidates, [bm25])
        return self._hits(candidates, scores, relevance, k, best_sentence)

    def rank_similar(self, vector: np.ndarray, k: int, filters: Filters | None = None, *,
                     lexical: np.ndarray | None = None, term_cosines: np.ndarray | None = None,
                     exclude_rows: frozenset[int] = frozenset(),
                     aspect: AspectQuery | None = None,
                     among: Sequence[int] | None = None) -> list[Hit]:
        """The k papers most like a reference (its vector; `lexical`, every paper's BM25
        score with the reference's text as the query; `term_cosines`, every paper's
        term-weight cosine to it), none of `exclude_rows`. Relevance is the cosine of the
        two papers; hubness counts against a paper. With an `aspect`, papers are ranked by
        how alike their sentences of its role are (bot.retrieve.aspects), the whole-text
        score weighing less; relevance is then that similarity, and each hit's evidence
        the sentence that matched best. `among`: only these rows (a pool to re-rank)."""
        settings, library = self.settings, self.library
        allowed = _without(_among(library.allowed_rows(filters), among), exclude_rows,
                           len(library.papers))
        signals = [_Signal.of(lexical, settings.similar_lexical_weight, allowed, scaled=True),
                   _Signal.of(term_cosines, settings.similar_term_weight, allowed, scaled=False)]
        candidates = self._candidates(vector, k, allowed, signals)
        if len(candidates) == 0:
            return []
        relevance = _cosines(library.doc_index.vectors(candidates), vector)
        scores = relevance - settings.hubness_weight * library.hubness[candidates]
        scores = _with_signals(scores, candidates, signals)
        if aspect is None:
            return self._hits(candidates, scores, relevance, k)
        similarity, best_sentence = aspect_similarities(self.roles, aspect, candidates)
        scores = similarity + WHOLE_TEXT_WEIGHTS[aspect.role] * scores
        return self._hits(candidates, scores, similarity, k, best_sentence)

    def _candidates(self, vector: np.ndarray, k: int, allowed: np.ndarray | None,
                    signals: list[_Signal | None]) -> np.ndarray:
        """The allowed papers worth scoring: the nearest by vector, and each signal's best."""
        wanted = max(k, self.settings.candidates)
        _, dense_rows = self.library.doc_index.search(vector, wanted, allowed)
        candidates = dense_rows[0][dense_rows[0] >= 0]
        for signal in signals:
            if signal is not None:
                candidates = np.union1d(candidates, signal.best_rows(wanted))
        return candidates

    def _blended(self, doc_scores: np.ndarray, best_sentence: np.ndarray,
                 sentence_scores: np.ndarray) -> np.ndarray:
        """Relevance to a question: the paper's cosine blended with its best sentence's, for
        papers that have one."""
        settings = self.settings
        total = settings.dense_weight + settings.sentence_weight
        if total <= 0:
            return doc_scores
        blended = (settings.dense_weight * doc_scores
                   + settings.sentence_weight * sentence_scores) / total
        return np.where(best_sentence >= 0, blended, doc_scores)

    def _hits(self, candidates: np.ndarray, scores: np.ndarray, relevance: np.ndarray, k: int,
              best_sentence: np.ndarray | None = None) -> list[Hit]:
        """The k best-scored candidates as hits, best first (ties in candidate order)."""
        library = self.library
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Hit(paper=library.papers[int(candidates[i])], score=round(float(scores[i]), 4),
                relevance=round(float(relevance[i]), 4),
                evidence=library.sentence_text(int(best_sentence[i]))
                if best_sentence is not None and best_sentence[i] >= 0 else None)
            for i in order
        ]

    def top_sentences(self, query_vector: np.ndarray, paper_id: str, n: int) -> list[str]:
        """A paper's n abstract sentences closest to the query, in the abstract's order."""
        library = self.library
        rows = np.array(library.sentence_rows(library.row_of[paper_id]), dtype=np.int64)
        if len(rows) == 0:
            return []
        sims = library.sentence_vectors.dot(rows, query_vector)
        chosen = np.sort(np.argsort(-sims, kind="stable")[:n])
        return [library.sentence_text(int(rows[i])) for i in chosen]

    def _best_sentences(self, query_vector: np.ndarray, rows: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate row: its best sentence row (-1 if none) and that sentence's cosine."""
        library = self.library
        starts = library.sentence_offsets[rows]
        ends = library.sentence_offsets[rows + 1]
        lengths = ends - starts
        best = np.full(len(rows), -1, dtype=np.int64)
        best_scores = np.full(len(rows), -np.inf, dtype=np.float32)
        if lengths.sum() == 0:
            return best, best_scores
        owner = np.repeat(np.arange(len(rows)), lengths)
        first_of_owner = np.cumsum(lengths) - lengths  # where each candidate's run begins
        sentence_rows = sentence_rows_of(library.sentence_offsets, rows)
        sims = library.sentence_vectors.dot(sentence_rows, query_vector)
        # Best per candidate: runs are contiguous, so a max per run, then its first position.
        has = np.flatnonzero(lengths > 0)
        run_max = np.maximum.reduceat(sims, first_of_owner[has])
        is_best = sims >= np.repeat(run_max, lengths[has])
        positions = np.flatnonzero(is_best)
        winners = positions[np.unique(owner[positions], return_index=True)[1]]
        best[owner[winners]] = sentence_rows[winners]
        best_scores[owner[winners]] = sims[winners]
        return best, best_scores


def _cosines(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """vectors @ query, on this thread. A few hundred rows are too few for BLAS's threads:
    handing them over is slow while other work holds the cores (README, "At 75k papers")."""
    return np.einsum("ij,j->i", vectors, query)


def _with_signals(scores: np.ndarray, rows: np.ndarray, signals: list[_Signal | None]
                  ) -> np.ndarray:
    for signal in signals:
        if signal is not None:
            scores = signal.added_to(scores, rows)
    return scores


def _among(allowed: np.ndarray | None, among: Sequence[int] | None) -> np.ndarray | None:
    """The allowed rows (None: all) that are also among these (None: no such limit)."""
    if among is None:
        return allowed
    rows = np.unique(np.asarray(among, dtype=np.int64))
    return rows if allowed is None else np.intersect1d(allowed, rows)


def _without(allowed: np.ndarray | None, excluded: frozenset[int], count: int
             ) -> np.ndarray | None:
    """The allowed rows (None: all `count` papers) less the excluded ones."""
    if not excluded:
        return allowed
    if allowed is None:
        allowed = np.arange(count, dtype=np.int64)
    return allowed[~np.isin(allowed, list(excluded))]


def _restricted(scores: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Every paper's score, zero outside the allowed rows."""
    if allowed is None:
        return scores
    masked = np.zeros_like(scores)
    masked[allowed] = scores[allowed]
    return masked


def _top_positive_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the n best scores, those above zero."""
    top = (np.arange(len(scores)) if n >= len(scores)
           else np.argpartition(-scores, n)[:n])
    return top[scores[top] > 0]
