"""Author lists: splitting, `et al.`, organisations, and telling a name from title words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

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
    field = parse_author_field(text)
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
    cost: float

    @property
    def first_author(self) -> str:
        return parse_author_field(self.authors).authors[0]


def seam_readings(line: str, evidence: SeamEvidence = NO_EVIDENCE) -> list[Reading]:
    """Every split of a title glued to its author list (`...networksPeter W. Battaglia, ...`),
    least doubtful first (the earliest among equals).

    Every place where a capital follows a non-space is a candidate start of the authors; the
    rest of the line must then read as an author list. Each candidate is costed by the
    lower-to-upper joins it leaves that nothing vouches for (`seam_cost`). Empty when nothing
    fits, or when the line is too long to be a byline.
    """
    if len(line) > MAX_BYLINE_CHARS:
        return []
    readings = []
    for i in range(1, len(line) - 1):
        char, before, after = line[i], line[i - 1], line[i + 1]
        if not char.isupper() or before.isspace() or before in "-/([{":
            continue
        if not (after.islower() or after in ".'’"):
            continue
        title, rest = line[:i].rstrip(), line[i:]
        if len(title) < 2 or not is_author_list(rest):
            continue
        first_author = parse_author_field(rest).authors[0]
        readings.append(Reading(title, rest, seam_cost(title, first_author, evidence)))
    # sorted() is stable: among equal costs the earliest split stays first.
    return sorted(readings, key=lambda reading: reading.cost)


def seam_cost(title: str, first_author: str, evidence: SeamEvidence) -> float:
    """How doubtful a split is: each lower-to-upper join it leaves in the title or the first
    author counts one, unless the file vouches for the word (`AlphaCode` in an abstract, or
    twice in the title) or the name-part (`McCandlish` as another record's author). A
    one-word first author counts one (`Sam Mc|Candlish`: people and teams have two or more),
    and a first token known as a given name counts one in favour (`AlphaCode|Yujia Li`)."""
    cost = 0.0
    title_words = Counter(_WORD.findall(title))
    for word, times in title_words.items():
        joins = camel_joins(word) * times
        if joins and not (evidence.real_word(word) or times > 1):
            cost += joins
    tokens = first_author.split()
    for token in tokens:
        joins = camel_joins(token)
        if joins and not evidence.real_name_part(token):
            cost += joins
    if len(tokens) == 1 and first_author not in evidence.names:
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
