"""CSL-JSON, the bibliography Zotero and Better BibTeX export ("My Library.json"): one JSON
array of items, pretty-printed over many lines, each `{"id", "type", "title", "author",
"issued", "abstract", "DOI", "URL", "container-title", "keyword", ...}`.

The document is parsed whole, with limits: more than `MAX_BYTES` of it is refused unread, and
one nested deeper than `json_values.MAX_DEPTH` is refused (orjson parses iteratively and refuses
numbers too large for a float). orjson gives no positions, so each item's lines are found by
scanning the text's brackets (`json_values.item_spans`): an item's span runs to the line before
the next item's (the first from the array's opening line, the last to the closing one), so the
commas and brackets between items are accounted for. Invalid JSON is one rejected chunk over
the whole document, its reason naming the line of the error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from bot.ingest.readers.json_record import RECORD_KEYS
from bot.ingest.readers.json_values import (
    MAX_DEPTH,
    item_spans,
    json_depth,
    json_kind,
    one_line,
    parse_date,
)
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import (
    Sighting,
    clean_text,
    implausible_date,
    normalise_arxiv_id,
    normalise_doi,
    short,
)
from bot.records import Layout, RejectedChunk, Source

# A library export is megabytes; anything far larger is not one, and is held whole to parse.
MAX_BYTES = 64 * 1024 * 1024
# The rich-text markup CSL allows in titles: <i>, <b>, <sup>, <sub>, <span class="nocase">.
_MARKUP = re.compile(r"</?(?:i|b|sup|sub|sc|span)\b[^>]*>", re.IGNORECASE)
_ARXIV_MENTION = re.compile(
    r"arxiv(?:\.org/(?:abs|pdf)/|:\s*|\.)([a-z\-.]*/?\d{4}\.?\d{3,5}(?:v\d+)?)", re.IGNORECASE)
_KEYWORD_SEPARATOR = re.compile(r"[,;]")
# Keys an item of CSL's own (not a generic JSON record) shows early.
_CSL_KEYS = ("type", "title", "author", "issued", "container-title", "editor", "DOI")


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    lines = list(lines)
    nonblank = [n for n, line in enumerate(lines, start=1) if line.strip()]
    if not nonblank:
        return
    first, last = nonblank[0], nonblank[-1]

    def whole(reason: str) -> RejectedChunk:
        return RejectedChunk(file=path, line=first, lines=last - first + 1,
                             text=lines[first - 1].strip(), reason=reason)

    size = sum(len(line) + 1 for line in lines)
    if size > MAX_BYTES:
        yield whole(f"a CSL-JSON document larger than {MAX_BYTES // 2**20} MB: not read")
        return
    text = "\n".join(lines)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield whole(f"not valid JSON at line {exc.lineno} ({exc.msg})")
        return
    if not isinstance(document, list):
        yield whole(f"a JSON {_kind(document)}, not a list of CSL items")
        return
    if json_depth(document) > MAX_DEPTH:
        yield whole(f"JSON nested more than {MAX_DEPTH} deep")
        return
    if not document:
        yield whole("an empty list: no CSL items")
        return
    for item, (start, end) in zip(document, item_spans(text, first, last), strict=True):
        source = Source(file=path, line=start, layout=Layout.CSL_JSON)
        yield _record(item, source, end, one_line(item))


def _kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else json_kind(value)


def _record(item: Any, source: Source, end: int, excerpt: str) -> Sighting | RejectedChunk:
    def rejected(reason: str) -> RejectedChunk:
        return RejectedChunk(file=source.file, line=source.line, lines=end - source.line + 1,
                             text=excerpt, reason=reason)

    if not isinstance(item, dict):
        return rejected(f"a JSON {_kind(item)}, not a CSL item")
    title, abstract = _text(item.get("title")), _text(item.get("abstract"))
    if title is None and abstract is None:
        return rejected("a CSL item with no title and no abstract")
    # An item with a title but no abstract (a book, a web page) is kept: found by its title,
    # never cited.
    sighting = Sighting(source=source, abstract=abstract or "", last_line=end,
                        title=clean_text(_MARKUP.sub("", title)) or None if title else None)
    sighting.cite_key = _text(item.get("citation-key")) or _text(item.get("id"))
    sighting.entry_type = _text(item.get("type"))
    sighting.authors = _authors(item.get("author"))
    sighting.doi = normalise_doi(_text(item.get("DOI")))
    sighting.url = _text(item.get("URL"))
    sighting.venue = _text(item.get("container-title"))
    keywords = _text(item.get("keyword")) or ""
    sighting.keywords = [k for k in map(clean_text, _KEYWORD_SEPARATOR.split(keywords)) if k]
    sighting.arxiv_id = _arxiv_id(item)
    _read_date(item.get("issued"), sighting)
    return sighting


def _text(value: Any) -> str | None:
    """A field's text, cleaned; a list (Crossref's titles) gives its first; None when empty."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return clean_text(value) or None if isinstance(value, str) else None


def _authors(authors: Any) -> list[str]:
    """ "Given Family" (with any particles between), or a literal name as it is."""
    names = []
    for author in authors if isinstance(authors, list) else []:
        if not isinstance(author, dict):
            continue
        parts = [_text(author.get(key)) for key in
                 ("given", "dropping-particle", "non-dropping-particle", "family")]
        name = _text(author.get("literal")) or " ".join(part for part in parts if part)
        if name:
            names.append(name)
    return names


def _arxiv_id(item: dict[str, Any]) -> str | None:
    """From the fields exports put it in: "number" (arXiv:1706.03762), an arxiv.org URL, an
    arXiv DOI (10.48550/arXiv.…), an "arxiv" field, or a note."""
    direct = normalise_arxiv_id(_text(item.get("arxiv")) or _text(item.get("number")))
    if direct:
        return direct
    for field in ("number", "URL", "DOI", "note", "archive_location"):
        found = _ARXIV_MENTION.search(_text(item.get(field)) or "")
        if found and (arxiv_id := normalise_arxiv_id(found.group(1))):
            return arxiv_id
    return None


def _read_date(issued: Any, sighting: Sighting) -> None:
    """From "date-parts" (year[, month[, day]], as numbers or digit strings), else "raw" or
    "literal"; a date that cannot be read, or cannot be real, is ignored with a warning."""
    if not isinstance(issued, dict):
        return
    shown, date = None, None
    parts = issued.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        shown = "-".join(map(str, parts[0]))
        date = _from_parts(parts[0])
    else:
        raw = _text(issued.get("raw")) or _text(issued.get("literal"))
        if raw is None:
            return
        shown = raw
        date = _from_parts([raw]) if raw.isdigit() else parse_date(raw)
    why = "not a readable date" if date is None else implausible_date(date)
    if why is None:
        sighting.date = date
    else:
        sighting.doubts.append(f"date {short(shown)!r} ignored: {why}")


def _from_parts(parts: list[Any]) -> dt.date | None:
    numbers = [int(p) for p in parts[:3] if isinstance(p, int | str) and str(p).isdigit()]
    if len(numbers) != len(parts[:3]) or not numbers:
        return None
    try:
        return dt.date(*numbers, *[1] * (3 - len(numbers)))
    except ValueError:  # month 13, day 31 of a 30-day month, year 0
        return None


def sniff(sample: Sequence[str]) -> bool:
    """An array whose first lines show two CSL keys or more (JSON Lines start with an object,
    so never look like this), and no key only other paper records carry (Semantic Scholar's
    records show "title" and "DOI", OpenAlex's "type" and "author"). Two, not "type" and
    "title": Better BibTeX sorts keys, and an item's many authors can push its "title" past
    the sample."""
    if not sample[0].startswith("["):
        return False
    shown = " ".join(sample)
    if any(f'"{key}"' in shown for key in RECORD_KEYS):
        return False
    return sum(f'"{key}"' in shown for key in _CSL_KEYS) >= 2


READER = Reader(layout=Layout.CSL_JSON, sniff=sniff, read=read, named="CSL-JSON",
                described="CSL-JSON exports (Zotero, Better BibTeX 'My Library.json')",
                suffixes=(".json",),
                example='`[{"id": …, "type": "article-journal", "title": …, "author": '
                        '[{"family": …, "given": …}], "issued": {"date-parts": [[2021]]}, '
                        '"abstract": …, "DOI": …}, …]`')
