"""JSON Lines, one paper an object, in either of two common styles.

- arXiv metadata: `{"id", "title", "abstract", "authors", "categories", "comment", ...}`
  (the Kaggle arXiv dump and its descendants; authors as a list or one string).
- BEIR corpus: `{"_id", "title", "text"}` (SciFact, CiteSeer, ...).

Each line is parsed on its own, with limits, so that one hostile line costs only itself: a
line nested deeper than `MAX_DEPTH`, a number too large for a 64-bit float, or invalid JSON is
rejected with its line number (orjson parses iteratively: a deep line cannot exhaust the
stack, and it refuses such numbers instead of building a 5,000-digit integer). Lines longer
than `bot.ingest.files.MAX_LINE_BYTES` never reach a reader. A date that cannot be read, or cannot
be real, is ignored with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from bot.ingest.names import parse_author_field
from bot.ingest.readers.json_values import MAX_DEPTH, json_depth, json_kind, parse_date
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting, clean_text, implausible_date, normalise_arxiv_id, short
from bot.records import Layout, RejectedChunk, Source

_CODE_URL = re.compile(r"https?://(www\.)?(github\.com|gitlab\.com|bitbucket\.org)/\S+",
                       re.IGNORECASE)
_DATE_FIELDS = ("listing_date", "published", "created", "update_date", "date")


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield RejectedChunk(file=path, line=number, text=line.strip(),
                                reason=f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            yield RejectedChunk(file=path, line=number, text=line.strip(),
                                reason=f"a JSON {json_kind(obj)}, not an object")
            continue
        if json_depth(obj) > MAX_DEPTH:
            yield RejectedChunk(file=path, line=number, text=line.strip(),
                                reason=f"JSON nested more than {MAX_DEPTH} deep")
            continue
        yield _record(obj, Source(file=path, line=number, layout=Layout.JSONL), line)


def _record(obj: dict[str, Any], source: Source, line: str) -> Sighting | RejectedChunk:
    abstract = obj.get("abstract", obj.get("text"))
    if not isinstance(abstract, str) or not abstract.strip():
        return RejectedChunk(file=source.file, line=source.line, text=line.strip(),
                             reason="no 'abstract' or 'text' field with text in it")
    sighting = Sighting(source=source, abstract=clean_text(abstract))
    title = obj.get("title")
    sighting.title = clean_text(title) if isinstance(title, str) and title.strip() else None

    raw_id = obj.get("id", obj.get("_id"))
    raw_id = clean_text(str(raw_id)) or None if raw_id is not None else None
    sighting.arxiv_id = normalise_arxiv_id(obj.get("arxiv_id") or raw_id)
    if sighting.arxiv_id is None and raw_id:
        sighting.source_id = raw_id

    _read_authors(obj.get("authors"), sighting)
    categories = obj.get("categories")
    if isinstance(categories, str):
        categories = categories.split()
    if isinstance(categories, list):
        sighting.categories = [clean_text(str(c)) for c in categories if clean_text(str(c))]
    comment = obj.get("comment")
    sighting.comment = clean_text(comment) if isinstance(comment, str) and comment.strip() else None
    _read_date(obj, sighting)
    has_code = obj.get("has_code")
    sighting.has_code = bool(has_code) if isinstance(has_code, bool) else bool(
        _CODE_URL.search(f"{sighting.comment or ''} {sighting.abstract}"))
    return sighting


def _read_authors(authors: Any, sighting: Sighting) -> None:
    if isinstance(authors, str) and authors.strip():
        parsed = parse_author_field(clean_text(authors))
        sighting.authors, sighting.authors_truncated = parsed.authors, parsed.truncated
    elif isinstance(authors, list):
        sighting.authors = [clean_text(str(a)) for a in authors if str(a).strip()]


def _read_date(obj: dict[str, Any], sighting: Sighting) -> None:
    """The first field that holds a real date; when none does but some field holds something
    else, that is worth a warning (the record is kept, undated)."""
    candidates = [obj.get(name) for name in _DATE_FIELDS]
    versions = obj.get("versions")
    if isinstance(versions, list) and versions and isinstance(versions[0], dict):
        candidates.append(versions[0].get("created"))
    doubt = None
    for value in candidates:
        if value is None or isinstance(value, str) and not value.strip():
            continue
        date = parse_date(value) if isinstance(value, str) else None
        why = "not a readable date" if date is None else implausible_date(date)
        if why is None:
            sighting.date = date
            return
        doubt = doubt or f"date {short(str(value))!r} ignored: {why}"
    if doubt:
        sighting.doubts.append(doubt)


def sniff(sample: Sequence[str]) -> bool:
    """The first line opens an object (a line that is not valid JSON is rejected on reading)."""
    return sample[0].startswith("{")


READER = Reader(layout=Layout.JSONL, sniff=sniff, read=read, named="JSON Lines",
                described="JSON Lines of arXiv metadata or BEIR corpora",
                suffixes=(".jsonl", ".json"),
                example='one object a line: `{"id": "2403.05530", "title": …, "abstract": …, '
                        '"authors": …, "categories": …}` or BEIR\'s `{"_id", "title", "text"}`')
