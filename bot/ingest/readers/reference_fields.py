"""What the RIS and CSV readers share: reference managers' ways of writing a name, a date and
an arXiv id, read into a sighting's fields."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from bot.ingest.readers.json_values import parse_date
from bot.ingest.sighting import Sighting, clean_text, implausible_date, normalise_arxiv_id, short

# An arXiv id as exports mention it: an arxiv.org address, `arXiv:2207.07048 [cs]` in a note,
# Zotero's `arXiv: 1706.03762` in Extra, or an arXiv DOI (10.48550/arXiv.1706.03762).
_ARXIV_MENTION = re.compile(
    r"arxiv(?:\.org/(?:abs|pdf)/|:\s*|\.)([a-z\-.]*/?\d{4}\.?\d{3,5}(?:v\d+)?)", re.IGNORECASE)
# RIS dates: `2017`, `2017///`, `2016/12//`, `2019/10//undefined`, `2013/04/18/received`;
# tables add `2019-10`. A month or day of 0 or none is unknown, not January.
_SLASH_DATE = re.compile(r"^\s*(\d{4})(?:[/-](\d{0,2})(?:[/-](\d{0,2}))?)?(?![\d])")


def person(name: str) -> str:
    """ "Vaswani, Ashish" -> "Ashish Vaswani" ("Last, First, Jr." -> "First Last Jr."); a name
    written without a comma (or an organisation's) stays as it is."""
    parts = [clean_text(part) for part in name.split(",")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return clean_text(name)
    return " ".join([parts[1], parts[0], *parts[2:]]).strip()


def arxiv_id_in(texts: Iterable[str | None]) -> str | None:
    """The first arXiv id that one of these fields is, or mentions."""
    for text in texts:
        if not text:
            continue
        if found := normalise_arxiv_id(text):
            return found
        mention = _ARXIV_MENTION.search(text)
        if mention and (found := normalise_arxiv_id(mention.group(1))):
            return found
    return None


def read_date(candidates: Iterable[tuple[str, str | None]], sighting: Sighting) -> None:
    """The first (field name, text) that holds a real date; when none does but a field holds
    something, a warning names the first of them (the record is kept, undated)."""
    doubt = None
    for name, text in candidates:
        if not text or not text.strip():
            continue
        date = parse_date(text) or _slash_date(text)
        why = "not a readable date" if date is None else implausible_date(date)
        if why is None:
            sighting.date = date
            return
        doubt = doubt or f"{name} {short(text)!r} ignored: {why}"
    if doubt:
        sighting.doubts.append(doubt)


def _slash_date(text: str) -> dt.date | None:
    match = _SLASH_DATE.match(text)
    if not match:
        return None
    year, month, day = (int(part) if part else 0 for part in match.groups())
    try:
        return dt.date(year, month or 1, day if month and day else 1)
    except ValueError:  # month 13, 30 February, year 0
        return None
