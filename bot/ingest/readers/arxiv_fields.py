"""What arXiv's text forms share: the id line, the `Key: value` lines, and reading them into a
sighting.

The mailing, the listing pages and the search results all write a paper's metadata as lines
such as `Title: ...`, `Authors: ...`, `Comments: ...`, a long value wrapped onto indented
continuation lines. Only the keys arXiv writes are fields (`KEYS`): an abstract's sentence
that happens to hold a colon ("Results: we ...") is not one. Titles and names keep arXiv's TeX
accents in the mailing (`Fr\\'ed\\'eric`): they are decoded, math left as written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pylatexenc.latex2text import LatexNodes2Text

from bot.ingest.names import parse_author_field
from bot.ingest.readers.json_values import parse_date
from bot.ingest.sighting import (
    Sighting,
    clean_text,
    implausible_date,
    normalise_arxiv_id,
    normalise_doi,
    short,
)

# `arXiv:2403.05530`, what follows it on the line (a listing's `[pdf, other]`, a mailing's
# `(*cross-listing*)`) left to each reader.
ID_START = re.compile(r"^arXiv:\s*(?P<id>[^\s\[\]()]+)(?P<rest>.*)$", re.IGNORECASE)
_FIELD = re.compile(r"^(?P<key>[A-Za-z][A-Za-z -]{0,20}?)\s*:\s*(?P<value>.*)$")
# The keys arXiv writes, as `field_key` spells them; a search page writes "Journal ref".
KEYS = frozenset({"title", "authors", "categories", "subjects", "comments", "journal-ref",
                  "doi", "report-no", "msc-class", "acm-class", "license", "abstract", "from",
                  "date", "report-number"})
_CATEGORY = re.compile(r"^[a-z][a-z\-]*\.[A-Za-z\-]+$")
# Archives with no subject classes, written bare on a category line.
_ARCHIVES = frozenset({"hep-th", "hep-ph", "hep-ex", "hep-lat", "gr-qc", "quant-ph", "nucl-th",
                       "nucl-ex", "math-ph", "astro-ph", "cond-mat"})
# A listing's subjects: "Computation and Language (cs.CL); Artificial Intelligence (cs.AI)".
_SUBJECT_CODE = re.compile(r"\(([a-z][a-z\-]*(?:\.[A-Za-z\-]+)?)\)")


@dataclass
class Field:
    key: str  # as `field_key` spells it: "journal-ref"
    value: str  # its lines joined, whitespace collapsed
    line: int  # 1-based line of the key


def field_key(line: str) -> str | None:
    """The key a line opens, when it opens one arXiv writes; None for any other line."""
    match = _FIELD.match(line.strip())
    if not match:
        return None
    key = match["key"].strip().lower().replace(" ", "-")
    return key if key in KEYS else None


def read_fields(lines: Sequence[tuple[int, str]]) -> list[Field]:
    """`Key: value` lines, each with the lines after it that open no key of their own (its
    wrapped continuation). Lines before the first key are left out: the caller reads them."""
    opened: list[tuple[str, int, list[str]]] = []  # parts joined once: a value may run long
    for number, raw in lines:
        key = None if raw[:1].isspace() and opened else field_key(raw)
        if key is not None:
            opened.append((key, number, [raw.split(":", 1)[1]]))
        elif opened:
            opened[-1][2].append(raw)
    return [Field(key, clean_text(" ".join(parts)), number) for key, number, parts in opened]


def is_category_line(line: str) -> bool:
    """A line of category codes only, as a search result shows them: `cs.CL cs.AI`."""
    words = line.split()
    return bool(words) and all(_CATEGORY.match(word) or word in _ARCHIVES for word in words)


def apply_fields(fields: Sequence[Field], sighting: Sighting) -> None:
    """The fields a sighting keeps: title, authors, categories, comment, journal, DOI."""
    for field in fields:
        if field.key == "title":
            sighting.title = decode_tex(field.value) or None
        elif field.key == "authors":
            read_authors(decode_tex(field.value), sighting)
        elif field.key == "categories":
            sighting.categories = field.value.split()
        elif field.key == "subjects":
            sighting.categories = _SUBJECT_CODE.findall(field.value)
        elif field.key == "comments":
            sighting.comment = field.value or None
        elif field.key == "journal-ref":
            sighting.venue = field.value or None
        elif field.key == "doi":
            sighting.doi = normalise_doi(field.value.split()[0] if field.value else None)


_TEX = LatexNodes2Text(math_mode="verbatim")


def decode_tex(text: str) -> str:
    """TeX accents and escapes as Unicode: `D\\k{a}browski` -> `Dąbrowski`. A `%` is kept as
    text (TeX would read the rest of the line as a comment)."""
    if "\\" not in text:
        return text
    return clean_text(_TEX.latex_to_text(text.replace("\\%", "%").replace("%", "\\%")))


def read_authors(text: str, sighting: Sighting) -> None:
    authors = parse_author_field(text)
    sighting.authors = authors.authors
    sighting.authors_truncated = authors.truncated
    sighting.organisations = authors.organisations


def read_id(raw: str, sighting: Sighting) -> None:
    sighting.arxiv_id = normalise_arxiv_id(raw)
    if sighting.arxiv_id is None:
        sighting.doubts.append(f"{short(raw)!r} is not an arXiv id")


def read_date(text: str, sighting: Sighting) -> dt.date | None:
    """A date line's date onto the sighting; one that cannot be read, or cannot be a paper's,
    is left out with a warning, never silently."""
    date = parse_date(text)
    if date is None:
        sighting.doubts.append(f"unreadable date {short(text.strip())!r}")
    elif why := implausible_date(date):
        sighting.doubts.append(f"date {short(text.strip())!r} ignored: {why}")
    else:
        sighting.date = date
    return sighting.date
