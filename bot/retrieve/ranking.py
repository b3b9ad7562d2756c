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
hubness is a paper's mean cosine to its nearest papers.
"""

from __future__ import annotations

import numpy as np

from bot.library.contents import Library, sentence_rows_of
from bot.records import Filters, Hit
from bot.settings import RetrievalSettings


class Retriever:
    def __init__(self, library: Library, settings: RetrievalSettings):
        self.library = library
        self.settings = settings

    def rank(
        self,
        query_vector: np.ndarray,
        k: int,
        filters: Filters | None = None,
        *,
        lexical: np.ndarray | None = None,
        term_cosines: np.ndarray | None = None,
        exclude_rows: frozenset[int] = frozenset(),
        paper_to_paper: bool = False,
    ) -> list[Hit]:
        """The k best papers. `lexical` holds every paper's BM25 score for the query;
        `paper_to_paper` ranks papers like a reference paper instead of answering a question,
        with `term_cosines` holding every paper's term-weight cosine to the reference."""
        library, settings = self.library, self.settings
        lexical_weight = (settings.similar_lexical_weight if paper_to_paper
                          else settings.lexical_weight)
        allowed = library.allowed_rows(filters)
        if exclude_rows:
            if allowed is None:
                allowed = np.arange(len(library.papers), dtype=np.int64)
            allowed = allowed[~np.isin(allowed, list(exclude_rows))]
        wanted = max(k, settings.candidates)

        _, dense_rows = library.doc_index.search(query_vector, wanted, allowed)
        candidates = dense_rows[0][dense_rows[0] >= 0]
        lexical_scale = 0.0
        if lexical is not None and lexical_weight > 0:
            # Scaled by the best match in the whole library, before filters or exclusions:
            # for a reference paper that is its own text, so BM25 reads as a share of a
            # perfect match.
            lexical_scale = float(lexical.max())
            lexical = _restricted(lexical, allowed)
            candidates = np.union1d(candidates, _top_positive_rows(lexical, wanted))
        term_weight = settings.similar_term_weight if paper_to_paper else 0.0
        if term_cosines is not None and term_weight > 0:
            term_cosines = _restricted(term_cosines, allowed)
            candidates = np.union1d(candidates, _top_positive_rows(term_cosines, wanted))
        if len(candidates) == 0:
            return []

        doc_scores = _cosines(library.doc_index.vectors(candidates), query_vector)
        relevance = doc_scores
        best_sentence = np.full(len(candidates), -1, dtype=np.int64)
        if not paper_to_paper:
            best_sentence, sentence_scores = self._best_sentences(query_vector, candidates)
            total = settings.dense_weight + settings.sentence_weight
            if total > 0:
                blended = (settings.dense_weight * doc_scores
                           + settings.sentence_weight * sentence_scores) / total
                relevance = np.where(best_sentence >= 0, blended, doc_scores)
        scores = relevance
        if paper_to_paper:
            scores = scores - settings.hubness_weight * library.hubness[candidates]
        if lexical is not None and lexical_scale > 0:
            scores = scores + lexical_weight * lexical[candidates] / lexical_scale
        if term_cosines is not None and term_weight > 0:
            scores = scores + term_weight * term_cosines[candidates]

        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Hit(paper=library.papers[int(candidates[i])], score=round(float(scores[i]), 4),
                relevance=round(float(relevance[i]), 4),
                evidence=library.sentence_text(int(best_sentence[i]))
                if best_sentence[i] >= 0 else None)
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
    handing them over cost 10 ms per query while other work held the cores (0.2 ms here)."""
    return np.einsum("ij,j->i", vectors, query)


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
