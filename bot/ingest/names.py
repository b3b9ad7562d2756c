"""Author lists: splitting, `et al.`, organisations, and telling a name from title words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

_ET_AL = re.compile(r"[\s,]*\bet\s+al\.?\s*$", re.IGNORECASE)
_AND = re.compile(r",?\s+(?:and|&)\s+")
# Lower-case words that belong inside names: "Ludwig van Beethoven", "Yann Le Cun".
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "du", "la",
              "le", "bin", "ibn", "al", "ten", "ter", "y"}
_NAME_CHARS = re.compile(r"^[\w.'’\-]+$")
_CAMEL = re.compile(r"[a-z][A-Z]")
_WORD = re.compile(r"\w+")
MAX_NAME_TOKENS = 6
# Each split point is checked against the rest of the line: longer lines are not bylines
# (real ones are a few hundred characters), and would cost time quadratic in their length.
MAX_BYLINE_CHARS = 5_000
# The longest author list worth checking name by name (room for the largest collaborations'
# author lists); a longer line is prose, glued lines or junk.
MAX_AUTHOR_LIST_CHARS = 100_000


@dataclass
class AuthorField:
    authors: list[str]
    truncated: bool
    organisations: list[str]


def parse_author_field(text: str) -> AuthorField:
    """`A, B, C et al. · org1, org2` -> names, whether `et al.` cut it short, organisations."""
    people, _, orgs = text.partition(" · ")
    truncated = bool(_ET_AL.search(people))
    people = _ET_AL.sub("", people)
    names = [n.strip() for part in people.split(",") for n in _AND.split(part)]
    organisations = [o.strip() for o in orgs.split(",") if o.strip()]
    return AuthorField([n for n in names if n], truncated, organisations)


def is_plausible_name(name: str) -> bool:
    """A person or team name: a few capitalised words, no sentence punctuation or digits."""
    tokens = name.split()
    if not 1 <= len(tokens) <= MAX_NAME_TOKENS:
        return False
    for token in tokens:
        if not _NAME_CHARS.match(token) or any(ch.isdigit() or ch == "_" for ch in token):
            return False
        if not (token[0].isupper() or token.lower() in _PARTICLES):
            return False
    return tokens[0][0].isupper()


def is_author_list(text: str) -> bool:
    if len(text) > MAX_AUTHOR_LIST_CHARS:
        return False
    return _all_plausible(parse_author_field(text))


def _all_plausible(field: AuthorField) -> bool:
    return bool(field.authors) and all(is_plausible_name(n) for n in field.authors)


def camel_joins(text: str) -> int:
    """How many lower-to-upper joins (`LearningDeep`) a string holds: a sign of a bad split."""
    return len(_CAMEL.findall(text))


def words_of(text: str) -> set[str]:
    """Its words, lower-cased, as evidence for the CamelCase words near a seam."""
    return {word.lower() for word in _WORD.findall(text)}


@dataclass(frozen=True)
class SeamEvidence:
    """What the rest of a file says about the words and names a seam may cut through.

    `words`: lower-cased words of its abstracts, organisations and cleanly split titles (a
    CamelCase word found there, `AlphaCode`, is a real word and not a title glued to a name).
    `names`: authors of its cleanly split records; a token of one (`McCandlish`) is a real
    name-part, and the first token of one (`Yujia`) a given name.
    """

    words: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    name_parts: frozenset[str] = frozenset()
    given_names: frozenset[str] = frozenset()

    @classmethod
    def gathered(cls, words: Iterable[str], names: Iterable[str]) -> SeamEvidence:
        names = frozenset(names)
        return cls(words=frozenset(words), names=names,
                   name_parts=frozenset(token for name in names for token in name.split()),
                   given_names=frozenset(name.split()[0] for name in names
                                         if len(name.split()) > 1))

    def real_word(self, word: str) -> bool:
        return word.lower() in self.words

    def real_name_part(self, token: str) -> bool:
        return token in self.name_parts or token.lower() in self.words


NO_EVIDENCE = SeamEvidence()


@dataclass(frozen=True)
class Reading:
    """One way to split a byline: the title, the author text, and how doubtful it is."""

    title: str
    authors: str
    first_author: str
    title_camel_words: tuple[tuple[str, int], ...]  # its CamelCase words, and how often
    cost: float = 0.0


def seam_readings(line: str, evidence: SeamEvidence = NO_EVIDENCE) -> list[Reading]:
    """Every split of a title glued to its author list (`...networksPeter W. Battaglia, ...`),
    least doubtful first (the earliest among equals): `weighed(seam_candidates(line))`."""
    return weighed(seam_candidates(line), evidence)


def seam_candidates(line: str) -> list[Reading]:
    """The splits of a byline, in order, not yet costed. Every place where a capital follows
    a non-space is a candidate start of the authors; the rest of the line must then read as
    an author list. Empty when nothing fits, or when the line is too long to be a byline."""
    if len(line) > MAX_BYLINE_CHARS:
        return []
    candidates = []
    for i in range(1, len(line) - 1):
        char, before, after = line[i], line[i - 1], line[i + 1]
        if not char.isupper() or before.isspace() or before in "-/([{":
            continue
        if not (after.islower() or after in ".'’"):
            continue
        title, rest = line[:i].rstrip(), line[i:]
        if len(title) < 2 or len(rest) > MAX_AUTHOR_LIST_CHARS:
            continue
        field = parse_author_field(rest)  # parsed once: its first author is costed below
        if not _all_plausible(field):
            continue
        camel_words = Counter(w for w in _WORD.findall(title) if camel_joins(w))
        candidates.append(Reading(title, rest, field.authors[0], tuple(camel_words.items())))
    return candidates


def weighed(candidates: list[Reading], evidence: SeamEvidence) -> list[Reading]:
    """The candidates costed with `evidence` (`seam_cost`), least doubtful first; sorted() is
    stable, so among equal costs the earliest split stays first."""
    costed = [replace(c, cost=seam_cost(c, evidence)) for c in candidates]
    return sorted(costed, key=lambda reading: reading.cost)


def seam_cost(reading: Reading, evidence: SeamEvidence) -> float:
    """How doubtful a split is: each lower-to-upper join it leaves in the title or the first
    author counts one, unless the file vouches for the word (`AlphaCode` in an abstract, or
    twice in the title) or the name-part (`McCandlish` as another record's author). A
    one-word first author counts one (`Sam Mc|Candlish`: people and teams have two or more),
    and a first token known as a given name counts one in favour (`AlphaCode|Yujia Li`)."""
    cost = 0.0
    for word, times in reading.title_camel_words:
        if not (times > 1 or evidence.real_word(word)):
            cost += camel_joins(word) * times
    tokens = reading.first_author.split()
    for token in tokens:
        joins = camel_joins(token)
        if joins and not evidence.real_name_part(token):
            cost += joins
    if len(tokens) == 1 and reading.first_author not in evidence.names:
        cost += 1
    if len(tokens) > 1 and tokens[0] in evidence.given_names:
        cost -= 1
    return cost


def split_title_authors(line: str, evidence: SeamEvidence = NO_EVIDENCE
                        ) -> tuple[str, str] | None:
    """The least doubtful split of a title glued to its author list (`seam_readings`), as
    (title, author text); None when nothing fits."""
    readings = seam_readings(line, evidence)
    if not readings:
        return None
    return readings[0].title, readings[0].authors
