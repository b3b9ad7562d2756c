"""JSON documents of papers: one array of paper records, or an object holding one, as APIs
answer (`{"data": [...]}` from Semantic Scholar, `{"meta": ..., "results": [...]}` from
OpenAlex; also `papers`, `items`, `records`, `hits`, `recommendedPapers`), or a single paper
object; pretty-printed or on one line. `json_record` maps each record's fields.

The document is parsed whole, with limits (`json_values.load_document`: its size and
nesting are bounded). Each item's lines are found by scanning the text's brackets
(`json_values.item_spans`): the first item's span runs from the document's first line and the
last's to its last, so the keys around the list are accounted for. Invalid JSON, or an object
that holds no list of papers (an API's error answer, an empty page), is one rejected chunk over
the whole document, its reason saying what it looked like.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from bot.ingest.readers.json_record import read_record
from bot.ingest.readers.json_values import (
    Document,
    item_spans,
    json_kind,
    load_document,
    one_line,
)
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting, short
from bot.records import Layout, RejectedChunk, Source

# The keys APIs put their list of papers under, most common first.
LIST_KEYS = ("data", "results", "papers", "items", "records", "hits", "recommendedPapers")
# Keys that make an object a paper of its own, not a wrapper around a list of them.
_PAPER_KEYS = ("title", "display_name", "abstract", "abstract_inverted_index", "text")
# The first line of a pretty-printed object: "{" alone, or a key opening its value
# (`{"data": [`), which no line of JSON Lines ends with.
_OPENING = re.compile(r'^\{\s*(?:"(?:[^"\\]|\\.)*"\s*:\s*[\[{]\s*)?$')
_SHOWN_KEYS = 5


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    loaded = load_document(lines, path, "JSON document")
    if not isinstance(loaded, Document):
        yield from [loaded] if loaded is not None else []
        return
    document, first, last = loaded.value, loaded.first, loaded.last
    found = _papers(document)
    if isinstance(found, str):
        yield loaded.rejected(path, found)
        return
    items, key = found
    if key is None and isinstance(document, dict):  # a single paper: the whole document
        spans = [(first, last)]
    else:
        spans = item_spans(loaded.text, first, last, key)
    for item, (start, end) in zip(items, spans, strict=True):
        source = Source(file=path, line=start, layout=Layout.JSON)
        yield _record(item, source, end, one_line(item))


def _papers(document: Any) -> tuple[list[Any], str | None] | str:
    """The document's list of paper records and the key it is under (None: the document is
    the list, or the one paper); or, where it holds none, what it looks like instead."""
    if isinstance(document, list):
        return (document, None) if document else "an empty JSON list: no papers"
    if not isinstance(document, dict):
        return f"a JSON {json_kind(document)}, not a list of papers"
    key = list_key(document)
    if key is not None:
        if not document[key]:
            return f"a JSON object whose {short(key)!r} is an empty list: no papers"
        return document[key], key
    if any(name in document for name in _PAPER_KEYS):
        return [document], None
    keys = ", ".join(repr(short(key)) for key in list(document)[:_SHOWN_KEYS])
    more = ", ..." if len(document) > _SHOWN_KEYS else ""
    return (f"a JSON object with keys {keys}{more}: no list of papers" if document
            else "an empty JSON object: no list of papers")


def list_key(obj: dict[str, Any]) -> str | None:
    """The key an API's answer holds its list of papers under, if it is one."""
    return next((key for key in LIST_KEYS if isinstance(obj.get(key), list)), None)


def _record(item: Any, source: Source, end: int, excerpt: str) -> Sighting | RejectedChunk:
    if not isinstance(item, dict):
        return RejectedChunk(file=source.file, line=source.line, lines=end - source.line + 1,
                             text=excerpt, reason=f"a JSON {json_kind(item)}, not a paper")
    return read_record(item, source, excerpt, last_line=end)


# An array of objects (or empty, or of arrays, strings, nulls) as its first line opens it:
# not a bracketed number such as a pasted arXiv page's `[1] arXiv:2303.08968`.
_ARRAY_OPENING = re.compile(r"^\[\s*(?:$|[\[{\]\"]|null\b)")


def sniff(sample: Sequence[str]) -> bool:
    """An array (CSL-JSON's, sniffed before, excepted), a pretty-printed object, or an object
    on one line that is no paper itself: one holding a list of papers, or a file's only line
    (an API's error or empty answer, which this reader can name). Not JSON Lines, whose lines
    are whole papers."""
    first = sample[0]
    if first.startswith("["):
        return bool(_ARRAY_OPENING.match(first))
    if not first.startswith("{"):
        return False
    if _OPENING.match(first):
        return True
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:  # objects run together, or a broken line of JSON Lines
        return False
    if not isinstance(value, dict) or any(name in value for name in _PAPER_KEYS):
        return False
    return list_key(value) is not None or len(sample) == 1


READER = Reader(layout=Layout.JSON, sniff=sniff, read=read, named="a JSON document of papers",
                described="JSON documents: arrays of papers, Semantic Scholar and OpenAlex "
                          "API answers",
                suffixes=(".json",),
                example='`[{"paperId": …, "title": …, "abstract": …, "authors": [{"name": …}]}, '
                        '…]`, `{"data": […]}` or `{"meta": …, "results": [{"display_name": …, '
                        '"abstract_inverted_index": …}]}`')
