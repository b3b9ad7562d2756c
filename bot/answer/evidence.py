"""Which of the ranked papers an answer cites: those whose evidence answers the question.

A paper's evidence is its relevance (the blended cosine of `bot.retrieve.ranking`) plus
`coverage_weight` times its coverage: the share of the question's terms, weighed by how rare
they are, that its text holds. Relevance alone cannot tell a paper that answers from one on
the same topic that does not ("How many TPU chips trained Gemini Ultra?" is close to the
Gemini report, which never says); the words the question turns on, absent from the text,
can.

How many papers are cited follows the kind of question:
- "Which papers …?" (a list question) cites every paper, up to k, whose evidence reaches
  `list_evidence_threshold`; those below `evidence_threshold` are shown as related.
- Any other question or claim is answered by the strongest evidence: it cites the papers
  that reach `evidence_threshold` and lie within `evidence_margin` of the best, usually one.
When no paper reaches its threshold, the answer abstains. The thresholds were chosen on
SciFact train and the hand-labelled seed questions (`bench/citations.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.records import CitationStrength, Hit
from bot.settings import RetrievalSettings

# A question asking for a list of papers: "Which papers …", "What recent studies …",
# "List …", "and which of those …". Plural only: "Which paper introduced …?" has one answer.
_LIST_QUESTION = re.compile(
    r"^\s*(?:(?:which|what)\s+(?:\w+\s+)?(?:papers|works|studies|articles|publications"
    r"|methods|approaches|models)\b|(?:list|name|find|show)\b)"
    r"|\bwhich\s+of\s+(?:those|these|them)\b", re.IGNORECASE)
# Words that say how a question is asked, not what it is about: not counted in coverage (BM25's
# own stop words, "the", "of", "is", are not terms at all).
FRAMING_WORDS = frozenset(
    "paper papers study studies studied article articles publication publications work "
    "works research what which who whom whose how why when where does do did can could "
    "should would many much".split())


def is_list_question(question: str) -> bool:
    return bool(_LIST_QUESTION.search(question))


@dataclass(frozen=True)
class Cited:
    hit: Hit
    evidence: float
    strength: CitationStrength


def evidence_of(hit: Hit, settings: RetrievalSettings) -> float:
    return hit.relevance + settings.coverage_weight * (hit.coverage or 0.0)


def citable(question: str, hits: list[Hit], settings: RetrievalSettings, *,
            as_list: bool | None = None) -> list[Cited]:
    """The hits an answer cites, in their ranked order; none when it should abstain. Only
    hits with a sentence to quote can be cited. `as_list`: whether the answer lists papers,
    when the caller knows (a follow-up about an earlier answer's papers); else the
    question's words tell."""
    scored = [(hit, evidence_of(hit, settings)) for hit in hits if hit.evidence]
    if not scored:
        return []
    if is_list_question(question) if as_list is None else as_list:
        floor = settings.list_evidence_threshold
    else:
        best = max(evidence for _, evidence in scored)
        floor = max(settings.evidence_threshold, best - settings.evidence_margin)
    return [Cited(hit, evidence,
                  "direct" if evidence >= settings.evidence_threshold else "related")
            for hit, evidence in scored if evidence >= floor]
