"""A question read with the conversation before it: a follow-up is answered about the papers
and the topic of the earlier turns; a question on a new topic starts afresh.

No language model is needed: a follow-up is told by how it refers back.
- "the second one", "[2]", "the last paper": that paper of the previous answer, alone.
- "which of those …", "of these", "among them": the previous answer's papers, and only
  they, are searched with the new question ("and which of those use imitation learning?").
- "they", "their", "those", "these", "them" ("what about their results?"): the previous
  answer's papers too; a follow-up with few words of its own ("and their results?") is
  searched with the previous question's words as well.
- "and …", "what about …", "also …", or a question of two words or fewer of its own
  ("and in 2023?"): the previous question's topic, with the new words added, over the
  whole library.
- A year it names, "in 2023", "since 2020", "before 2019", narrows the follow-up's years.
Anything else is a new question, whatever came before it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.records import Filters, Turn

_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
             "4th": 3, "fifth": 4, "5th": 4, "last": -1}
_ORDINAL = re.compile(r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)"
                      r"\s+(?:one|paper|result|citation|answer|reference)\b", re.IGNORECASE)
_NUMBERED = re.compile(r"\[(\d{1,2})\]")
_SUBSET = re.compile(r"\b(?:(?:of|among|from|between)\s+(?:those|these|them|the\s+above)"
                     r"|which\s+of\s+(?:those|these|them))\b", re.IGNORECASE)
_BACK = re.compile(r"\b(?:they|them|their|theirs|those|these|the\s+above|the\s+same"
                   r"|th(?:is|at|ose|ese)\s+(?:paper|papers|one|ones|work|works|model|models))\b",
                   re.IGNORECASE)
# "it"/"its" refer back only in a short question: "Is it possible to …" is a new one.
_IT = re.compile(r"\b(?:it|its)\b", re.IGNORECASE)
_SHORT_WORDS = 6
_CONTINUES = re.compile(r"^\s*(?:and|also|then|what\s+about|how\s+about|and\s+what\s+about"
                        r"|what\s+of|same\s+for|only)\b", re.IGNORECASE)
_YEAR_IN = re.compile(r"\b(?:in|from|during|of)\s+((?:19|20)\d\d)\b", re.IGNORECASE)
_YEAR_SINCE = re.compile(r"\b(since|after|from)\s+((?:19|20)\d\d)\s*(?:on(?:wards?)?)?\b",
                         re.IGNORECASE)
_YEAR_BEFORE = re.compile(r"\b(before|until|up\s+to|prior\s+to)\s+((?:19|20)\d\d)\b",
                          re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")
# Words that carry no topic of their own in a follow-up.
_FUNCTION_WORDS = frozenset(
    "a an the and or but of in on for to from with by at as is are was were be been do does "
    "did what which who whom whose how why when where about also then only any some more "
    "most other same that this those these they them their theirs it its one ones paper "
    "papers work works since after before until up prior during year years there than".split())
_FEW_WORDS = 2
MAX_TURNS = 20  # a conversation's earlier turns read; a longer history comes from a program


@dataclass(frozen=True)
class Resolved:
    """What a question, read with the conversation, is answered as."""

    query: str  # the text searched: the question, with the earlier topic where it refers back
    among: list[str] | None = None  # paper ids the answer is limited to; None: the library
    filters: Filters | None = None
    context: str | None = None  # how the question was read, in words, when not on its own


def resolve(question: str, history: Sequence[Turn], filters: Filters | None) -> Resolved:
    """The question as it is to be answered, given the earlier turns (oldest first; only the
    last `MAX_TURNS` are read)."""
    history = history[-MAX_TURNS:]
    if not history:
        return Resolved(question, filters=filters)
    return _resolve(question, history[-1], _topic(history), filters)


def _topic(history: Sequence[Turn]) -> str:
    """What the conversation was last about: the previous question as it was searched, so
    that a follow-up to a follow-up ("the second one", then "and its results?") keeps the
    topic of the question they follow."""
    searched = history[0].question
    for previous, turn in zip(history, history[1:], strict=False):
        searched = _resolve(turn.question, previous, searched, None).query
    return searched


def _resolve(question: str, last: Turn, topic: str, filters: Filters | None) -> Resolved:
    asked_filters = filters
    filters, year_words = _with_years(question, filters)
    own_words = _topic_words(question, year_words)
    if (paper := _one_paper(question, last)) is not None:
        return Resolved(_with_topic(question, topic, own_words), [paper], filters,
                        "a follow-up about one paper of the previous answer")
    refers_back = bool(_SUBSET.search(question) or _BACK.search(question)
                       or (_IT.search(question) and len(question.split()) <= _SHORT_WORDS))
    if refers_back and last.cited:
        return Resolved(_with_topic(question, topic, own_words), list(last.cited), filters,
                        f"a follow-up: among the {len(last.cited)} papers of the previous "
                        "answer")
    if refers_back or _CONTINUES.search(question) or len(own_words) <= _FEW_WORDS:
        return Resolved(f"{topic} {' '.join(own_words)}".strip(), None, filters,
                        f"a follow-up to “{last.question}”")
    return Resolved(question, filters=asked_filters)  # a new question: the years are its words


def _one_paper(question: str, last: Turn) -> str | None:
    """The paper of the previous answer that "the second one" or "[2]" names, if any."""
    if not last.cited:
        return None
    if found := _ORDINAL.search(question):
        index = _ORDINALS[found.group(1).lower()]
    elif found := _NUMBERED.search(question):
        index = int(found.group(1)) - 1
    else:
        return None
    return last.cited[index] if -len(last.cited) <= index < len(last.cited) else None


def _with_topic(question: str, topic: str, own_words: list[str]) -> str:
    """A follow-up with few words of its own ("what about their results?") is searched with
    the topic's words too."""
    return f"{topic} {question}" if len(own_words) <= _FEW_WORDS else question


def _topic_words(question: str, year_words: set[str]) -> list[str]:
    return [w for w in _WORD.findall(question)
            if w.lower() not in _FUNCTION_WORDS and w not in year_words]


def _with_years(question: str, filters: Filters | None) -> tuple[Filters | None, set[str]]:
    """The filters, narrowed to the years the question names; and the words naming them."""
    year_from = year_to = None
    if found := _YEAR_BEFORE.search(question):
        year_to = int(found.group(2)) - 1
    elif found := _YEAR_SINCE.search(question):
        year_from = int(found.group(2)) + (1 if found.group(1).lower() == "after" else 0)
    elif found := _YEAR_IN.search(question):
        year_from = year_to = int(found.group(1))
    if found is None:
        return filters, set()
    current = filters.model_dump() if filters else {}
    current["year_from"] = max(filter(None, (current.get("year_from"), year_from)), default=None)
    current["year_to"] = min(filter(None, (current.get("year_to"), year_to)), default=None)
    try:
        narrowed = Filters(**current)
    except ValueError:  # a year outside the filters' range: the filters stand
        return filters, set()
    return narrowed, set(_WORD.findall(found.group(0)))
