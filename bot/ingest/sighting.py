"""One record as a reader saw it, before the same paper's sightings are merged."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from bot.records import Source

# The earliest year a work's date may have: a bibliography may cite a book of 1883, but a
# year before printing is a typo or a placeholder (`0000-00-00`), and would skew year filters.
EARLIEST_YEAR = 1450
_SPACE_RUN = re.compile(r"\s+")
# Control characters (a terminal's escapes, NUL, bell) and the bidirectional overrides that
# make text display in another order than it reads: never meant as content.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A DOI: the directory indicator 10., a registrant code, a slash and a suffix, alone or in a
# doi.org address or after a `doi:` prefix.
_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
# arXiv ids: new style 2403.05530(v2), old style cs.LG/0601001(v1).
_ARXIV_ID = re.compile(
    r"^(?:arxiv:)?\s*(\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(v\d+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class AbstractKeys:
    """What merging compares of an abstract, computed once per file read (and kept with the
    file's cached reading), so re-merging a large corpus does not re-tokenise every abstract."""

    words: str  # digest of its lower-cased words: equal for wordings alike but for spacing
    sketch: tuple[int, ...]  # bottom-k min-hash keys of its word 5-shingles


@dataclass
class Sighting:
    """The fields one record gives; None where it says nothing."""

    source: Source
    abstract: str
    last_line: int = 0  # the record's last input line (0: its first, `source.line`)
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    authors_truncated: bool = False
    organisations: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date: dt.date | None = None
    has_code: bool = False
    arxiv_id: str | None = None
    source_id: str | None = None  # an id the source gives that is not an arXiv id (BEIR _id)
    doi: str | None = None  # normalised (normalise_doi): an identity, as the arXiv id is
    venue: str | None = None  # the journal, proceedings or book it appeared in
    url: str | None = None
    cite_key: str | None = None  # a bibliography's own key for it (BibTeX, CSL-JSON id)
    keywords: list[str] = field(default_factory=list)
    entry_type: str | None = None  # what the source calls it: article, inproceedings, book…
    comment: str | None = None
    doubts: list[str] = field(default_factory=list)  # kept, but worth a warning in the report
    abstract_keys: AbstractKeys | None = None  # set by merge.add_abstract_keys


def clean_text(text: str) -> str:
    """Collapse whitespace runs (arXiv metadata wraps abstracts at 80 columns); control
    characters and bidirectional overrides become spaces."""
    return _SPACE_RUN.sub(" ", _INVISIBLE.sub(" ", text)).strip()


def implausible_date(date: dt.date) -> str | None:
    """Why a date read from a file cannot be a paper's, or None when it can: before
    `EARLIEST_YEAR` or after next year, it is a typo or junk, and would skew year filters."""
    if date.year < EARLIEST_YEAR:
        return f"before {EARLIEST_YEAR}"
    if date.year > dt.date.today().year + 1:
        return "in the future"
    return None


def short(text: str, limit: int = 40) -> str:
    """Text from a file, cut for a message about it."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalise_arxiv_id(raw: str | None) -> str | None:
    """`arXiv:2403.05530v2` -> `2403.05530`; None for anything that is not an arXiv id."""
    if not raw:
        return None
    match = _ARXIV_ID.match(raw.strip())
    return match.group(1) if match else None


def normalise_doi(raw: str | None) -> str | None:
    """`https://doi.org/10.1000/XYZ.` -> `10.1000/xyz`; None for anything that is not a DOI.
    DOIs are case-insensitive; the trailing punctuation of a sentence is no part of one."""
    if not raw:
        return None
    match = _DOI.match(raw.strip())
    return match.group(1).rstrip(".,;").lower() if match else None
