"""Similar by aspect: papers like a reference in its background, its method or its results.

Each abstract sentence has a role (bot/library/roles.py). The reference's sentences of the
aspect's role are compared with each candidate's sentences of that role, sentence to
sentence (a "chamfer" similarity):

    aspect similarity = mean over the reference's role sentences of
                        the best cosine to one of the candidate's role sentences

A candidate with no sentence of that role is compared through the one sentence that comes
closest to it (its best score for the role), less MISSING_ROLE_PENALTY; a reference with
none is compared through all its sentences. The ranking adds the whole-text similarity
(what `similar` ranks by without an aspect) as a weaker signal, weighted by aspect:
background is close to what a whole abstract is about, a method much less so. Measured on
CSFCube dev (bench/quality.py; README, "Similar by aspect").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.library.contents import Library
from bot.library.roles import ROLES, Role, role_scores

# Weight of the whole-text score beside the aspect similarity, chosen on CSFCube dev.
WHOLE_TEXT_WEIGHTS = {Role.BACKGROUND: 2.0, Role.METHOD: 0.25, Role.RESULT: 1.5}
MISSING_ROLE_PENALTY = 0.1


class PaperRoles:
    """Each paper's sentences scored for every role (roles.role_scores), worked out when
    first asked for and kept: a library's sentences never change, and the cue rules cost
    about half a millisecond a paper (README, "Similar by aspect")."""

    def __init__(self, library: Library, kept: int = 50_000):
        self.library = library
        self.scores = functools.lru_cache(maxsize=kept)(self._scores)

    def _scores(self, row: int) -> np.ndarray:
        library = self.library
        return role_scores([library.sentence_text(s) for s in library.sentence_rows(row)])

    def rows_of_role(self, row: int, role: Role) -> tuple[np.ndarray, bool]:
        """A paper's sentence rows of the role, and whether it had none (then the one
        sentence nearest to the role stands in; none for a paper without sentences)."""
        rows = np.array(self.library.sentence_rows(row), dtype=np.int64)
        if len(rows) == 0:
            return rows, True
        scores = self.scores(row)
        chosen = role_rows(scores, role)
        if len(chosen):
            return rows[chosen], False
        return rows[[int(np.argmax(scores[:, ROLES.index(role)]))]], True


@dataclass(frozen=True, eq=False)  # compared by identity: it holds an array
class AspectQuery:
    """What a reference brings to an aspect search: the vectors of its sentences of the
    role (all of its sentences when none has that role)."""

    role: Role
    vectors: np.ndarray  # (n, dim), unit rows

    @classmethod
    def of_sentences(cls, role: Role, sentences: Sequence[str], vectors: np.ndarray
                     ) -> AspectQuery:
        """From one abstract's sentences, in order, and their vectors."""
        return cls._chosen(role, role_scores(sentences), np.asarray(vectors))

    @classmethod
    def of_paper(cls, roles: PaperRoles, row: int, role: Role) -> AspectQuery:
        """From a paper of the library: its stored sentence vectors."""
        library = roles.library
        rows = np.array(library.sentence_rows(row), dtype=np.int64)
        return cls._chosen(role, roles.scores(row), library.sentence_vectors[rows])

    @classmethod
    def _chosen(cls, role: Role, scores: np.ndarray, vectors: np.ndarray) -> AspectQuery:
        chosen = role_rows(scores, role)
        return cls(role=role, vectors=vectors[chosen] if len(chosen) else vectors)


def role_rows(scores: np.ndarray, role: Role) -> np.ndarray:
    """The positions of the sentences whose best role is `role`, given each one's scores
    for every role (roles.role_scores)."""
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.argmax(scores, axis=1) == ROLES.index(role))


def aspect_similarities(roles: PaperRoles, query: AspectQuery, candidates: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate row: its aspect similarity to the query (module docstring; -1 for a
    paper without sentences) and the sentence row that matched the query best (-1 if
    none), which shows why it was chosen."""
    similarity = np.full(len(candidates), -1.0, dtype=np.float32)
    best_sentence = np.full(len(candidates), -1, dtype=np.int64)
    if len(query.vectors) == 0:
        return similarity, best_sentence
    vectors = roles.library.sentence_vectors
    for i, row in enumerate(candidates):
        rows, missing = roles.rows_of_role(int(row), query.role)
        if len(rows) == 0:
            continue
        cosines = query.vectors @ vectors[rows].T  # (query sentences, candidate sentences)
        similarity[i] = cosines.max(axis=1).mean() - (MISSING_ROLE_PENALTY if missing else 0)
        best_sentence[i] = rows[np.unravel_index(np.argmax(cosines), cosines.shape)[1]]
    return similarity, best_sentence
