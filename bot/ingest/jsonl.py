"""JSON Lines, one paper an object, in either of two common styles.

- arXiv metadata: `{"id", "title", "abstract", "authors", "categories", "comment", ...}`
  (the Kaggle arXiv dump and its descendants; authors as a list or one string).
- BEIR corpus: `{"_id", "title", "text"}` (SciFact, CiteSeer, ...).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from bot.ingest.names import parse_author_field
from bot.ingest.sighting import Sighting, clean_text, normalise_arxiv_id
from bot.records import Layout, RejectedChunk, Source

_CODE_URL = re.compile(r"https?://(www\.)?(github\.com|gitlab\.com|bitbucket\.org)/\S+",
                       re.IGNORECASE)
_DATE_FIELDS = ("listing_date", "published", "created", "update_date", "date")


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RejectedChunk(file=path, line=number, text=line.strip()[:200],
                                reason=f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield RejectedChunk(file=path, line=number, text=line.strip()[:200],
                                reason=f"a JSON {type(obj).__name__}, not an object")
            continue
        yield _record(obj, Source(file=path, line=number, layout=Layout.JSONL), line)


def _record(obj: dict[str, Any], source: Source, line: str) -> Sighting | RejectedChunk:
    abstract = obj.get("abstract", obj.get("text"))
    if not isinstance(abstract, str) or not abstract.strip():
        return RejectedChunk(file=source.file, line=source.line, text=line.strip()[:200],
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
    sighting.date = _first_date(obj)
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


def _first_date(obj: dict[str, Any]) -> dt.date | None:
    candidates = [obj.get(name) for name in _DATE_FIELDS]
    versions = obj.get("versions")
    if isinstance(versions, list) and versions and isinstance(versions[0], dict):
        candidates.append(versions[0].get("created"))
    for value in candidates:
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
        try:  # arXiv's versions use RFC 2822: "Mon, 2 Apr 2007 19:18:42 GMT"
            return email.utils.parsedate_to_datetime(value).date()
        except (TypeError, ValueError):
            pass
    return None
