"""Papers like a set of papers (a reading list), and what is new in a library.

A set is ranked as one reference paper made of its members, with the signals a single
paper is ranked by (bot.retrieve.ranking):

- its vector is the mean of the members' unit vectors, normalised (their centroid): a
  paper's cosine to it is the mean of its cosines to the members, up to one factor for all
  papers, so every member counts alike and the ranking favours papers close to the whole
  set over papers close to one member only;
- its text is the members' texts together: BM25 with their terms as the query, and the
  cosine of the term weights of that combined text, so terms the members share weigh more;
- aspect queries take the members' sentences of the role, all of them (the mean of best
  cosines then runs over every member's sentences).

Every member is left out of the results. Measured on CiteSeer (README, "Papers like a
reading list").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.library.contents import Library
from bot.library.roles import Role
from bot.records import Filters, Hit
from bot.retrieve.aspects import AspectQuery, PaperRoles
from bot.retrieve.ranking import Retriever

MAX_SET = 200  # papers a set may name: a long reading list, not a library


@dataclass(frozen=True)
class PaperSet:
    """The papers of a set, by row (each once, in the order given)."""

    rows: tuple[int, ...]

    @classmethod
    def of(cls, rows: Sequence[int]) -> PaperSet:
        return cls(rows=tuple(dict.fromkeys(int(r) for r in rows)))

    def vector(self, library: Library) -> np.ndarray:
        """The members' centroid, as a unit vector."""
        vectors = library.doc_index.vectors(np.array(self.rows, dtype=np.int64))
        centroid = vectors.mean(axis=0)
        return centroid / max(float(np.linalg.norm(centroid)), 1e-12)

    def aspect(self, roles: PaperRoles, role: Role) -> AspectQuery:
        """Every member's sentences of the role (or all its sentences, when it has none)."""
        queries = [AspectQuery.of_paper(roles, row, role) for row in self.rows]
        return AspectQuery(role=role, vectors=np.vstack([q.vectors for q in queries]))

    def ranked(self, retriever: Retriever, k: int, filters: Filters | None,
               role: Role | None, among: Sequence[int] | None) -> list[Hit]:
        """The k papers most like the set, none of its members."""
        library = retriever.library
        lexical, terms = library.lexical.similarity_of_papers(self.rows)
        aspect = self.aspect(retriever.roles, role) if role is not None else None
        return retriever.rank_similar(self.vector(library), k, filters, lexical=lexical,
                                      term_cosines=terms, exclude_rows=frozenset(self.rows),
                                      aspect=aspect, among=among)


def rows_since(library: Library, since: dt.date) -> np.ndarray:
    """The rows of the papers added to the library on or after `since`, or dated so."""
    assert library.added is not None
    dated = np.array([p.date is not None and p.date >= since for p in library.papers],
                     dtype=bool)
    return np.flatnonzero((library.added >= since.toordinal()) | dated).astype(np.int64)


def newest_first(library: Library, rows: np.ndarray, k: int) -> list[Hit]:
    """The k newest of these rows: the latest added first, then the latest dated."""
    assert library.added is not None
    def key(row: int) -> tuple[int, int]:
        date = library.papers[row].date
        return int(library.added[row]), date.toordinal() if date else 0
    chosen = sorted((int(r) for r in rows), key=key, reverse=True)[:k]
    return [Hit(paper=library.papers[row], score=0.0, relevance=0.0) for row in chosen]
