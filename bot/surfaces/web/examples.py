"""Example questions drawn from the library's own topics, for the Chat tab to offer.

A topic is a key phrase (RAKE's candidates: a run of two or three content words between stop
words and punctuation) that a paper's title names and that at least two papers' texts hold:
a subject the library has papers on, not one paper's wording. Each of the library's largest
categories gives its most distinctive topic (held by many of its papers and few others,
`df · idf`); the rest of the library fills in when there are few categories. Topics share no
word, so the examples cover different ground. Everything is computed from the papers alone,
in a fixed order, so one library always offers the same questions.

Bounded: at most `MAX_PAPERS` papers are read, evenly spaced through the library.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.records import Paper
from bot.surfaces.text import as_written

EXAMPLE_COUNT = 4
MAX_PAPERS = 2_000
MIN_PAPERS = 2  # a topic is held by at least this many papers
MIN_CATEGORY = 3  # a category this small has no topic of its own
FALLBACK = "Which papers study reinforcement learning?"
# The questions' wordings, taken in turn; "Which papers …" asks for every paper that answers.
TEMPLATES = ("Which papers study {topic}?", "Which papers use {topic}?",
             "What do the papers say about {topic}?", "What is known about {topic}?")
# Words between which key phrases are cut (RAKE's stop list): function words, and words
# that say how a paper speaks rather than what of.
_STOP_WORDS = frozenset("""
a about above across after against all almost along also although always am among an and
another any are as at be because been before being below between both but by can cannot
could did do does doing done down during each either else even ever every few for from
further had has have having he her here hers him his how however i if in into is it its
itself just least less like many may me might more most much must my neither no nor not
now of off often on once one only onto or other others our ours out over own per rather
same several she should since so some such than that the their theirs them then there
these they this those though through thus to too toward towards under until up upon us
use used uses using very via was we were what when where whether which while who whom
whose why will with within without would yet you your
approach approaches based new novel paper papers present propose proposed show shows
study studies towards work works result results method methods able large small high low
first second two three simple different various specific well better best still given make
makes making often including important key recent recently much existing current
""".split())
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", re.IGNORECASE)
# Where a phrase ends whatever the words: punctuation, brackets, quotes, dashes.
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”‘’/|–—]|\s-+\s|\$")
_PHRASE_WORDS = (2, 3)


@dataclass(frozen=True)
class Topic:
    phrase: str  # as the papers write it most often ("reinforcement learning", "Gemini models")
    words: frozenset[str]


def example_questions(papers: Sequence[Paper], count: int = EXAMPLE_COUNT) -> list[str]:
    """Up to `count` questions about the library's topics (one fallback question for a library
    with no topic, such as a handful of papers)."""
    topics = library_topics(papers, count)
    return [TEMPLATES[i % len(TEMPLATES)].format(topic=t.phrase)
            for i, t in enumerate(topics)] or [FALLBACK]


def library_topics(papers: Sequence[Paper], count: int = EXAMPLE_COUNT) -> list[Topic]:
    """The `count` topics the examples ask about: each large category's most distinctive,
    then the library's most held, no two sharing a word."""
    read = _evenly_spaced(papers, MAX_PAPERS)
    phrases_of = [_text_phrases(p) for p in read]
    in_titles = set().union(*(_phrases(as_written(p.title)) for p in read if p.title))
    held = Counter(key for phrases in phrases_of for key in phrases)
    candidates = {key for key in in_titles if held[key] >= MIN_PAPERS}
    surface = _surface_forms(phrases_of)
    idf = {key: math.log(len(read) / held[key]) for key in candidates}
    chosen: list[Topic] = []

    def take(ranked: Iterable[str]) -> None:
        for key in ranked:
            topic = Topic(surface[key], frozenset(key.split()))
            if len(chosen) < count and not any(_overlap(topic, c) for c in chosen):
                chosen.append(topic)
                return

    for rows in _categories(read):
        in_category = Counter(key for row in rows for key in phrases_of[row] if key in candidates)
        take(sorted((k for k, n in in_category.items() if n >= MIN_PAPERS),
                    key=lambda k: (-in_category[k] * idf[k], k)))
    overall = sorted(candidates, key=lambda k: (-held[k] * idf[k], k))
    while len(chosen) < count:
        before = len(chosen)
        take(overall)
        if len(chosen) == before:  # no topic left that shares no word with those chosen
            break
    return chosen


def _overlap(one: Topic, other: Topic) -> bool:
    """Whether two topics are much the same: one's words within the other's ("neural
    networks", "deep neural networks"), or more than half of them shared."""
    shared = len(one.words & other.words)
    return shared == min(len(one.words), len(other.words)) or 2 * shared > len(one.words)


def _evenly_spaced(papers: Sequence[Paper], limit: int) -> list[Paper]:
    step = max(1, math.ceil(len(papers) / limit))
    return list(papers[::step])


def _categories(papers: Sequence[Paper]) -> list[list[int]]:
    """The rows of each category of at least `MIN_CATEGORY` papers, largest first (by name
    within a size): a paper counts in its first category."""
    rows: dict[str, list[int]] = defaultdict(list)
    for row, paper in enumerate(papers):
        if paper.category:
            rows[paper.category].append(row)
    named = sorted(rows.items(), key=lambda item: (-len(item[1]), item[0]))
    return [members for _, members in named if len(members) >= MIN_CATEGORY]


def _text_phrases(paper: Paper) -> dict[str, str]:
    """The key phrases of a paper's title and abstract: lower-cased key -> as written."""
    text = as_written(f"{paper.title or ''}. {paper.abstract}")
    found: dict[str, str] = {}
    for segment in _BREAK.split(text):
        words = _WORD.findall(segment)
        for start, end in _runs(words):
            for size in _PHRASE_WORDS:
                for i in range(start, end - size + 1):
                    written = " ".join(words[i:i + size])
                    found.setdefault(written.lower(), written)
    return found


def _phrases(text: str) -> set[str]:
    found: set[str] = set()
    for segment in _BREAK.split(text):
        words = _WORD.findall(segment)
        for start, end in _runs(words):
            if end - start in _PHRASE_WORDS:  # a title's whole phrase, not a piece of a longer
                found.add(" ".join(words[start:end]).lower())
    return found


def _runs(words: list[str]) -> Iterable[tuple[int, int]]:
    """The [start, end) spans of content words between stop words (and numbers)."""
    start = None
    for i, word in enumerate([*words, ""]):
        content = bool(word) and word.lower() not in _STOP_WORDS and not word[0].isdigit()
        if content and start is None:
            start = i
        elif not content and start is not None:
            yield start, i
            start = None


def _surface_forms(phrases_of: list[dict[str, str]]) -> dict[str, str]:
    """Each phrase as the papers write it most often; lower case wins a tie (a title's
    capitals are not the phrase's own)."""
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for phrases in phrases_of:
        for key, written in phrases.items():
            forms[key][written] += 1
    return {key: max(counts, key=lambda w: (counts[w], w == key, w))
            for key, counts in forms.items()}
