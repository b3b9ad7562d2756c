"""CSL-JSON, the bibliography Zotero and Better BibTeX export ("My Library.json"): one JSON
array of items, pretty-printed over many lines, each `{"id", "type", "title", "author",
"issued", "abstract", "DOI", "URL", "container-title", "keyword", ...}`.

The document is parsed whole, with limits (`json_values.load_document`: its size and
nesting are bounded). orjson gives no positions, so each item's lines are found by
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

from bot.ingest.readers.json_record import RECORD_KEYS
from bot.ingest.readers.json_values import (
    Document,
    item_spans,
    json_kind,
    load_document,
    one_line,
    parse_date,
    text_of,
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

# The rich-text markup CSL allows in titles: <i>, <b>, <sup>, <sub>, <span class="nocase">.
_MARKUP = re.compile(r"</?(?:i|b|sup|sub|sc|span)\b[^>]*>", re.IGNORECASE)
_ARXIV_MENTION = re.compile(
    r"arxiv(?:\.org/(?:abs|pdf)/|:\s*|\.)([a-z\-.]*/?\d{4}\.?\d{3,5}(?:v\d+)?)", re.IGNORECASE)
_KEYWORD_SEPARATOR = re.compile(r"[,;]")
# Keys an item of CSL's own (not a generic JSON record) shows early.
_CSL_KEYS = ("type", "title", "author", "issued", "container-title", "editor", "DOI")


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    loaded = load_document(lines, path, "CSL-JSON document")
    if not isinstance(loaded, Document):
        yield from [loaded] if loaded is not None else []
        return
    document = loaded.value
    if not isinstance(document, list):
        yield loaded.rejected(path, f"a JSON {_kind(document)}, not a list of CSL items")
        return
    if not document:
        yield loaded.rejected(path, "an empty list: no CSL items")
        return
    spans = item_spans(loaded.text, loaded.first, loaded.last)
    for item, (start, end) in zip(document, spans, strict=True):
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
    title, abstract = text_of(item.get("title")), text_of(item.get("abstract"))
    if title is None and abstract is None:
        return rejected("a CSL item with no title and no abstract")
    # An item with a title but no abstract (a book, a web page) is kept: found by its title,
    # never cited.
    sighting = Sighting(source=source, abstract=abstract or "", last_line=end,
                        title=clean_text(_MARKUP.sub("", title)) or None if title else None)
    sighting.cite_key = text_of(item.get("citation-key")) or text_of(item.get("id"))
    sighting.entry_type = text_of(item.get("type"))
    sighting.authors = _authors(item.get("author"))
    sighting.doi = normalise_doi(text_of(item.get("DOI")))
    sighting.url = text_of(item.get("URL"))
    sighting.venue = text_of(item.get("container-title"))
    keywords = text_of(item.get("keyword")) or ""
    sighting.keywords = [k for k in map(clean_text, _KEYWORD_SEPARATOR.split(keywords)) if k]
    sighting.arxiv_id = _arxiv_id(item)
    _read_date(item.get("issued"), sighting)
    return sighting


def _authors(authors: Any) -> list[str]:
    """ "Given Family" (with any particles between), or a literal name as it is."""
    names = []
    for author in authors if isinstance(authors, list) else []:
        if not isinstance(author, dict):
            continue
        parts = [text_of(author.get(key)) for key in
                 ("given", "dropping-particle", "non-dropping-particle", "family")]
        name = text_of(author.get("literal")) or " ".join(part for part in parts if part)
        if name:
            names.append(name)
    return names


def _arxiv_id(item: dict[str, Any]) -> str | None:
    """From the fields exports put it in: "number" (arXiv:1706.03762), an arxiv.org URL, an
    arXiv DOI (10.48550/arXiv.…), an "arxiv" field, or a note."""
    direct = normalise_arxiv_id(text_of(item.get("arxiv")) or text_of(item.get("number")))
    if direct:
        return direct
    for field in ("number", "URL", "DOI", "note", "archive_location"):
        found = _ARXIV_MENTION.search(text_of(item.get(field)) or "")
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
        raw = text_of(issued.get("raw")) or text_of(issued.get("literal"))
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
