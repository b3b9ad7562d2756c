"""The role of each abstract sentence: background, method or result (CSFCube's facets).

A sentence's role is the best of three scores, each the sum of
- cue phrases: words that mark a role wherever the sentence stands ("we propose", "our
  approach" for a method; "outperforms", "we show that", a percentage for a result; "has
  been", "however", "remains a challenge" for background), and
- its place in the abstract: abstracts run background → method → result, so the first
  sentence leans to background and the last to result.

Cues are regular expressions over the sentence's words, so roles cost microseconds a
sentence and are worked out when a query needs them, for its candidates only: nothing is
stored and no library needs rebuilding. Accuracy on hand-labelled sentences of the seed
corpus: bench/roles.py, README "Similar by aspect".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

import numpy as np


class Role(StrEnum):
    BACKGROUND = "background"  # the problem, its context, earlier work, the paper's aim
    METHOD = "method"  # what the paper does or builds, and how
    RESULT = "result"  # what it finds or shows: outcomes, comparisons, conclusions


ROLES = tuple(Role)


def _cues(*patterns: str) -> re.Pattern[str]:
    """One pattern of lower-case alternatives: matched against lower-cased text, which is
    three times faster than re.IGNORECASE."""
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Each match adds CUE_WEIGHT times its pattern's weight; a pattern counts once a sentence.
_ROLE_CUES: dict[Role, list[tuple[float, re.Pattern[str]]]] = {
    Role.BACKGROUND: [
        (1.0, _cues(r"\b(?:has|have) (?:been|become|attracted|received|shown)\b",
                    r"\b(?:recent(?:ly)?|traditional(?:ly)?|existing|previous|prior|"
                    r"conventional|current|standard|typical(?:ly)?)\b",
                    r"\b(?:however|although|despite|yet|nevertheless)\b",
                    r"\b(?:challeng\w*|difficult\w*|problem\w*|issue\w*|bottleneck|"
                    r"limitation\w*|lack\w*|remains?|open question)\b",
                    r"\b(?:important|crucial|essential|critical|fundamental|key|central|"
                    r"widely|popular|common(?:ly)?|increasing(?:ly)?|growing)\b")),
        (1.0, _cues(r"\bwe (?:study|investigate|explore|examine|address|consider|focus|ask|"
                    r"tackle|aim)\b", r"\b(?:aims? to|goal|motivat\w*|whether)\b")),
        (0.5, _cues(r"^(?:in|for|as|with|many|most|the|a|an)\b.*\b(?:is|are)\b")),
    ],
    Role.METHOD: [
        (1.5, _cues(r"\bwe (?:propose|present|introduce|develop|design|describe|formulate|"
                    r"use|apply|train|extend|build|adopt|employ|combine|derive|define|"
                    r"construct|model|implement|leverage|exploit|incorporate|cast|frame|"
                    r"treat|represent|learn|approximate|compute|annotate|collect|create|"
                    r"release|provide|offer)\b",
                    r"\b(?:our|the proposed|this|the) (?:approach|method|model|framework|"
                    r"system|algorithm|architecture|technique|procedure|formulation|scheme)\b")),
        (1.0, _cues(r"\b(?:based on|consists? of|composed of|relies on|by (?:using|combining|"
                    r"learning|modeling|modelling|training|exploiting|leveraging|"
                    r"introducing|imposing|re-?expressing))\b",
                    r"\b(?:framework|architecture|algorithm|objective|loss|encoder|decoder|"
                    r"network|module|layer|corpus|dataset|annotat\w*|features?)\b",
                    r"\b(?:in this (?:paper|work)|here|this paper|to this end|specifically)\b")),
    ],
    Role.RESULT: [
        (1.5, _cues(r"\b(?:we|results?|experiments?|evaluations?|analys[ie]s|studies|findings)"
                    r" (?:\w+ )?(?:show|shows|showed|demonstrate\w*|indicate\w*|suggest\w*|"
                    r"reveal\w*|confirm\w*|find|found|observe\w*)\b",
                    r"\b(?:outperform\w*|achiev\w*|surpass\w*|exceed\w*|improv\w*|"
                    r"state[- ]of[- ]the[- ]art|sota|significant(?:ly)?|superior|"
                    r"better than|competitive|gains?|boosts?|reduc\w*|faster)\b",
                    r"\d+(?:\.\d+)?\s*(?:%|\\%|percent|points?|times|x\b)")),
        (1.0, _cues(r"\b(?:results?|experiments?|experimental|empirical(?:ly)?|evaluat\w*|"
                    r"benchmarks?|baselines?|accuracy|f1|bleu|performance|effective\w*|"
                    r"robust\w*|ablations?)\b",
                    r"\b(?:finally|overall|in sum|taken together|altogether|in summary|"
                    r"we conclude|our findings)\b",
                    r"\b(?:code|data|software|videos?)\b.*\b(?:available|released?)\b|https?://")),
    ],
}
CUE_WEIGHT = 1.0
POSITION_WEIGHT = 1.5  # how much a sentence's place counts against one strong cue


def position_scores(positions: np.ndarray) -> np.ndarray:
    """(n, 3) how well sentences at these places (0 first, 1 last) fit each role."""
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 1)
    return np.hstack([np.maximum(0.0, 1.0 - 2.0 * positions),  # background: the first half
                      1.0 - np.abs(2.0 * positions - 1.0),  # method: the middle
                      np.maximum(0.0, 2.0 * positions - 1.0)])  # result: the second half


def cue_scores(text: str) -> tuple[float, float, float]:
    """Each role's cue weight found in the sentence."""
    text = text.lower()
    background, method, result = (sum(weight for weight, pattern in _ROLE_CUES[role]
                                       if pattern.search(text)) for role in ROLES)
    return background, method, result


def relative_positions(count: int) -> np.ndarray:
    """Each of an abstract's `count` sentences' place, 0 (first) to 1 (last); a lone
    sentence stands in the middle."""
    if count <= 1:
        return np.full(count, 0.5)
    return np.arange(count) / (count - 1)


def role_scores(sentences: Sequence[str]) -> np.ndarray:
    """(len(sentences), 3) each sentence of one abstract, in order, scored for each role.
    A lone sentence has no place that tells anything: its cues alone count."""
    cues = np.array([cue_scores(text) for text in sentences], dtype=np.float64).reshape(-1, 3)
    if len(sentences) < 2:
        return CUE_WEIGHT * cues
    return (CUE_WEIGHT * cues
            + POSITION_WEIGHT * position_scores(relative_positions(len(sentences))))


def roles_of(sentences: Sequence[str]) -> list[Role]:
    """The role of each sentence of one abstract, in order."""
    return [ROLES[int(i)] for i in np.argmax(role_scores(sentences), axis=1)]
