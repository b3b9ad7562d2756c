"""Misspelt query words, corrected to the library's own words before searching.

"wich paprs use grpah netwroks for relatonal reasoning?" should find what the correct
spelling finds. A word is left as typed when the library's texts hold it or another form of
it (its stem is a BM25 term: "bullied" beside "bullies"), or when the embedding model knows
it whole (an English word the library happens to lack, such as "cooking": correcting it to a
library word would make an unanswerable question look answerable). Names are left alone
too: a word in capitals or with a capital inside (GAVI, dLNs), or one joined to digits
(NLRP3, p53BERs). Any other word of four letters or more is replaced by the closest library
word that begins with the same letter (most typos keep the first one), within one edit for
words of up to seven letters and two for longer ones, a transposition counting as one
(Damerau-Levenshtein, by rapidfuzz); among equally close words, the one in most texts wins.
The corrected question is what both the embedding and BM25 see.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping

from rapidfuzz import distance, process

# A word of letters only, not joined to digits or underscores (those are names: NLRP3).
_WORD = re.compile(r"(?<![\w])[^\W\d_]+(?![\w])")
MIN_LENGTH = 4  # shorter words have too many neighbours one edit away to guess between
LONG_WORD = 8  # from this length on, two edits are allowed


def _is_plain_word(typed: str) -> bool:
    """lower case, or Capitalised: not an acronym or a name with capitals inside."""
    return typed[1:].islower()


def _edits_allowed(word: str) -> int:
    return 2 if len(word) >= LONG_WORD else 1


class Speller:
    def __init__(self, library_words: Mapping[str, int], known_words: Collection[str],
                 holds_term: Callable[[str], bool] = lambda word: False):
        self._count = library_words
        self._known = known_words
        self._holds_term = holds_term  # whether the library holds another form of a word
        # Candidates by first letter and length: a typo's neighbours are among few of them.
        self._by_start: dict[tuple[str, int], list[str]] = defaultdict(list)
        for word in library_words:
            if word.isalpha():
                self._by_start[word[0], len(word)].append(word)

    def correct(self, text: str) -> str:
        """The text with each misspelt word replaced (see the module's docstring)."""
        return _WORD.sub(lambda match: self._corrected(match.group()), text)

    def _corrected(self, typed: str) -> str:
        word = typed.lower()
        if (len(word) < MIN_LENGTH or not _is_plain_word(typed) or word in self._count
                or word in self._known or self._holds_term(word)):
            return typed
        best = self._closest(word)
        if best is None:
            return typed
        return best.capitalize() if typed[0].isupper() else best

    def _closest(self, word: str) -> str | None:
        edits = _edits_allowed(word)
        candidates = [c for length in range(len(word) - edits, len(word) + edits + 1)
                      for c in self._by_start.get((word[0], length), ())]
        found = process.extract(word, candidates, scorer=distance.DamerauLevenshtein.distance,
                                score_cutoff=edits, limit=None)
        if not found:
            return None
        closest, _, _ = min(found, key=lambda match: (match[1], -self._count[match[0]],
                                                      match[0]))
        return closest
