"""Finding papers in the library by what a person remembers of them: a few words of the title,
an author's surname, a year, typed loosely.

The search forgives what people get wrong. Text is compared as words: LaTeX markup read as
the words it marks (`as_written`), case and accents folded ("Dąbrowski" is "dabrowski"),
every run of punctuation (the hyphen of "Mixture-of-Depths" too) a space between words.
Each word of the query is matched against the library's vocabulary with rapidfuzz, so word
order does not matter, a word begun ("transf") finds the words it begins, and a typo
("mixtre") still finds its word: one typo in a word of 3 to 5 letters, two in a longer one,
none in a shorter one or in one with a digit (gpt4, 2018), as search engines allow.

A word found in the title, the authors, the ids (arXiv id, DOI) or the year counts fully,
one in the abstract less. A paper's score is the mean of its query words' best matches: it
is listed when that clears `MIN_SCORE`, best first, ties broken by how closely its title and
authors read as the whole query (rapidfuzz's token_set_ratio), then by the library's order.
The index is built at a library's first search; a search reads only the papers that hold a
word near a query word.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.records import Paper
from bot.surfaces.text import as_written

# A paper is listed when its query words match this well on average (0-100).
MIN_SCORE = 72.0
# Typos forgiven in a query word, by its length: a word of up to two letters is taken as
# typed, one of three to five may have one typo, a longer one two (a typo: a letter left out,
# added, changed, or two letters swapped). More would find other words: "img" is not "image".
_TYPOS_BY_LENGTH = ((2, 0), (5, 1))
MORE_TYPOS = 2
# How much a match in the abstract counts against one in the title or authors.
ABSTRACT_WEIGHT = 0.85
# A query word this long or longer also matches the words it begins ("transf" ->
# "transformer"): shorter ones begin too many.
MIN_PREFIX = 3
# Query words beyond this many are ignored: a pasted paragraph is not a search.
MAX_QUERY_WORDS = 24
# The words of a text: letters and digits; everything else separates them.
_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> list[str]:
    """`"Mixture-of-Depths: \\textit{Dynamic}"` -> `["mixture", "of", "depths", "dynamic"]`."""
    decomposed = unicodedata.normalize("NFKD", as_written(text).casefold())
    return _WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


class PaperSearch:
    """The papers of one library: `search(query)` ranks them. Their index of words is built at
    the first search (listing them all needs none)."""

    def __init__(self, papers: Sequence[Paper]):
        self.papers = list(papers)

    def search(self, query: str) -> list[Paper]:
        """The papers the query finds, best first; every paper, in order, for no query."""
        wanted = list(dict.fromkeys(words_of(query or "")))[:MAX_QUERY_WORDS]
        if not wanted:
            return list(self.papers)
        totals: dict[int, float] = defaultdict(float)
        for word in wanted:
            for row, score in self._best_matches(word).items():
                totals[row] += score
        scores = {row: total / len(wanted) for row, total in totals.items()}
        found = [row for row, score in scores.items() if score >= MIN_SCORE]
        phrase = " ".join(wanted)
        found.sort(key=lambda row: (-round(scores[row], 1),
                                    -fuzz.token_set_ratio(phrase, self._headings[row]), row))
        return [self.papers[row] for row in found]

    @functools.cached_property
    def _rows(self) -> dict[str, dict[int, float]]:
        """For each word, the rows of the papers that hold it and the weight of the best
        field it is in: one lookup a matched word, however many papers share it."""
        rows: dict[str, dict[int, float]] = defaultdict(dict)
        for row, paper in enumerate(self.papers):
            for weight, words in _weighted_words(paper):
                for word in words:
                    held = rows[word]
                    held[row] = max(held.get(row, 0.0), weight)
        return rows

    @functools.cached_property
    def _textual(self) -> list[str]:
        """The vocabulary's words that typos can reach: all but numbers."""
        return [word for word in self._rows if not word.isdigit()]

    @functools.cached_property
    def _headings(self) -> list[str]:
        """Each paper's title and authors as words, for the tie-break."""
        return [" ".join(words_of(p.title or "") + words_of(" ".join(p.authors)))
                for p in self.papers]

    def _best_matches(self, word: str) -> dict[int, float]:
        """Each paper holding a word near `word`: how well its best such word matches,
        weighted by where it is."""
        best: dict[int, float] = {}
        for near, similarity in self._near_words(word):
            for row, weight in self._rows[near].items():
                best[row] = max(best.get(row, 0.0), similarity * weight)
        return best

    def _near_words(self, word: str) -> list[tuple[str, float]]:
        """The vocabulary's words that `word` may mean, with how alike they are (0-100): the
        word itself; for a number nothing else; else misspellings and words it begins."""
        if word.isdigit():
            return [(word, 100.0)] if word in self._rows else []
        near = {found: fuzz.ratio(word, found) for found, _, _ in process.extract(
            word, self._textual, scorer=OSA.distance, score_cutoff=typos_allowed(word),
            limit=None)}
        if len(word) >= MIN_PREFIX:
            near.update({w: 100.0 for w in self._textual if w.startswith(word)})
        return list(near.items())


def typos_allowed(word: str) -> int:
    """A word with a digit is an identifier (gpt4, d4pg): taken as typed, as numbers are."""
    if any(c.isdigit() for c in word):
        return 0
    return next((typos for length, typos in _TYPOS_BY_LENGTH if len(word) <= length),
                MORE_TYPOS)


def _weighted_words(paper: Paper) -> list[tuple[float, set[str]]]:
    """A paper's words, each field's with the weight of a match there. The title is the one a
    source gave: an untitled paper's stand-in title is the opening of its abstract."""
    ids = " ".join(filter(None, (paper.id, paper.arxiv_id, paper.doi)))
    return [(1.0, set(words_of(paper.title or ""))),
            (1.0, set(words_of(" ".join(paper.authors)))),
            (1.0, set(words_of(ids))),
            (1.0, {str(paper.year)} if paper.year else set()),
            (ABSTRACT_WEIGHT, set(words_of(paper.abstract)))]
