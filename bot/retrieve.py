"""Ranking: a query vector in, scored papers with their best-matching sentence out.

A paper's score blends the cosine of its whole text (title + abstract) with that of its
best abstract sentence: a question is often answered by one sentence, and the sentence is
what the citation then quotes.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from bot.errors import QueryError
from bot.library import Library
from bot.records import Filters, Hit
from bot.settings import RetrievalSettings


def clean_query(text: object, *, max_chars: int, what: str = "question") -> str:
    """The text a user typed, with control characters removed; refuses blank or huge input."""
    if not isinstance(text, str):
        raise QueryError(f"the {what} must be text")
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QueryError(f"the {what} is empty: type a few words")
    if len(cleaned) > max_chars:
        raise QueryError(f"the {what} is {len(cleaned):,} characters long; the limit is "
                         f"{max_chars:,}. Shorten it to the part that matters.")
    return cleaned


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
        exclude_rows: frozenset[int] = frozenset(),
        sentence_weight: float | None = None,
    ) -> list[Hit]:
        """The k best papers for a query vector, filters applied inside the index search."""
        library = self.library
        weight = self.settings.sentence_weight if sentence_weight is None else sentence_weight
        allowed = library.allowed_rows(filters)
        if exclude_rows and allowed is None:
            allowed = np.arange(len(library.papers), dtype=np.int64)
        if exclude_rows:
            allowed = allowed[~np.isin(allowed, list(exclude_rows))]
        wanted = max(k, self.settings.candidates)
        doc_scores, rows = library.doc_index.search(query_vector, wanted, allowed)
        doc_scores, rows = doc_scores[0], rows[0]
        keep = rows >= 0
        doc_scores, rows = doc_scores[keep], rows[keep]
        if len(rows) == 0:
            return []

        best_sentence, sentence_scores = self._best_sentences(query_vector, rows)
        has_sentence = best_sentence >= 0
        scores = np.where(has_sentence,
                          (1 - weight) * doc_scores + weight * sentence_scores, doc_scores)
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Hit(paper=library.papers[int(rows[i])], score=round(float(scores[i]), 4),
                evidence=library.sentence_text(int(best_sentence[i])) if has_sentence[i] else None)
            for i in order
        ]

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
        sentence_rows = np.concatenate(
            [np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
        sims = library.sentence_vectors[sentence_rows] @ query_vector
        owner = np.repeat(np.arange(len(rows)), lengths)
        # Best per owner: sort by (owner, -sim) and take the first of each owner's run.
        order = np.lexsort((-sims, owner))
        first = np.unique(owner[order], return_index=True)[1]
        winners = order[first]
        best[owner[winners]] = sentence_rows[winners]
        best_scores[owner[winners]] = sims[winners]
        return best, best_scores
