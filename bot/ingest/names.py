"""Author lists: splitting, `et al.`, organisations, and telling a name from title words."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ET_AL = re.compile(r"[\s,]*\bet\s+al\.?\s*$", re.IGNORECASE)
_AND = re.compile(r",?\s+(?:and|&)\s+")
# Lower-case words that belong inside names: "Ludwig van Beethoven", "Yann Le Cun".
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "du", "la",
              "le", "bin", "ibn", "al", "ten", "ter", "y"}
_NAME_CHARS = re.compile(r"^[\w.'’\-]+$")
_CAMEL = re.compile(r"[a-z][A-Z]")
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


def split_title_authors(line: str) -> tuple[str, str] | None:
    """Split a title glued to its author list (`...networksPeter W. Battaglia, ...`).

    Every place where a capital follows a non-space is a candidate start of the authors; the
    rest of the line must then read as an author list. Of the candidates that do, the one that
    leaves the fewest lower-to-upper joins at the seam wins (`...LearningDeepMind Team` splits
    before `Deep`, not before `Mind`), and the earliest breaks ties. None when nothing fits.
    """
    if len(line) > MAX_BYLINE_CHARS:
        return None
    best: tuple[int, int] | None = None  # (cost, index)
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
        cost = camel_joins(title.split()[-1]) + camel_joins(first_author)
        if best is None or cost < best[0]:
            best = (cost, i)
    if best is None:
        return None
    return line[: best[1]].rstrip(), line[best[1]:]
