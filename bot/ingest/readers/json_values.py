"""What the JSON readers (JSON Lines, CSL-JSON, JSON documents) share: bounds on parsed values,
their kinds in words; the date forms paper metadata writes, the one date parser of every reader;
and where a document's items begin (orjson gives no positions, so they are found by scanning the
text's brackets outside strings)."""

from __future__ import annotations

import datetime as dt
import json
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from itertools import pairwise
from typing import Any

import orjson

from bot.ingest.sighting import clean_text
from bot.records import RejectedChunk

# arXiv metadata nests three deep (a record, its versions, a version); BEIR two.
MAX_DEPTH = 32
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?!\d)")
# RFC 2822 as arXiv's versions and mailings write it, "Mon, 2 Apr 2007 19:18:42 GMT"; a
# four-digit year only (email.utils would read year 0 as 2000).
_RFC_DATE = re.compile(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}")
# The day-month-year forms arXiv's pages show: "8 Mar 2024", "8 March, 2024", "Fri, 8 Mar 2024".
_DAY_MONTH_YEAR = re.compile(
    r"^\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})(?!\d)")
_MONTHS = {name: number for number, name in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH_NAMES = {dt.date(2000, number, 1).strftime("%B").lower() for number in range(1, 13)}
# A string token, a bracket, or a bare scalar (number, true, false, null).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|[^\s,:\[\]{}"]+')


# A library export or an API's answer is megabytes; anything far larger is not one, and is
# held whole to parse.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """A JSON document read whole: its value and text, and where its non-blank lines run."""

    value: Any
    text: str
    first: int  # its first and last non-blank lines, 1-based
    last: int
    opening: str  # its first non-blank line, stripped

    def rejected(self, path: str, reason: str) -> RejectedChunk:
        """The whole document as one rejected chunk."""
        return whole_document(path, self.first, self.last, self.opening, reason)


def whole_document(path: str, first: int, last: int, opening: str,
                   reason: str) -> RejectedChunk:
    return RejectedChunk(file=path, line=first, lines=last - first + 1, text=opening,
                         reason=reason)


def load_document(lines: Iterable[str], path: str, named: str
                  ) -> Document | RejectedChunk | None:
    """The file's lines parsed as one JSON document (`named` says what kind, for a message),
    within `MAX_DOCUMENT_BYTES` and `MAX_DEPTH`; the whole of it as one rejected chunk when it
    cannot be; None for a blank file. orjson parses iteratively and refuses numbers too large
    for a float."""
    lines = list(lines)
    nonblank = [n for n, line in enumerate(lines, start=1) if line.strip()]
    if not nonblank:
        return None
    first, last = nonblank[0], nonblank[-1]
    opening = lines[first - 1].strip()
    if sum(len(line) + 1 for line in lines) > MAX_DOCUMENT_BYTES:
        return whole_document(path, first, last, opening, f"a {named} larger than "
                              f"{MAX_DOCUMENT_BYTES // 2**20} MB: not read")
    text = "\n".join(lines)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return whole_document(path, first, last, opening,
                              f"not valid JSON at line {exc.lineno} ({exc.msg})")
    if json_depth(value) > MAX_DEPTH:
        return whole_document(path, first, last, opening, f"JSON nested more than {MAX_DEPTH} "
                              "deep")
    return Document(value, text, first, last, opening)


def text_of(value: Any) -> str | None:
    """A field's text, cleaned; a list (Crossref's titles) gives its first; None when empty."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return clean_text(value) or None if isinstance(value, str) else None


def json_kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def json_depth(obj: Any) -> int:
    """How deep containers nest in a parsed line (walked with a stack, not recursion)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in value)
    return deepest


def parse_date(value: str) -> dt.date | None:
    """The day a date names, in the forms paper metadata writes: `2024-03-08`,
    `Fri, 8 Mar 2024 12:00:00 GMT`, `8 Mar 2024`, `8 March, 2024`; what follows the date (a
    time, a file size) is not read. None for anything else, or a day no calendar has."""
    try:
        if iso := _ISO_DATE.match(value):
            return dt.date(*map(int, iso.groups()))
        if _RFC_DATE.match(value):
            return parsedate_to_datetime(value.strip()).date()
        if words := _DAY_MONTH_YEAR.match(value):
            day, month, year = words.groups()
            return dt.date(int(year), _month(month), int(day))
    except ValueError:  # 2024-02-30, year 0000, "Foo" for a month
        pass
    return None


def _month(name: str) -> int:
    """1-12 for a month's name or its three-letter (or "Sept") abbreviation."""
    name = name.lower()
    if name not in _MONTH_NAMES and name not in ("sept", *_MONTHS):
        raise ValueError(name)
    return _MONTHS[name[:3]]


def one_line(item: Any) -> str:
    """An item as a rejection shows it: on one line, for a pretty-printed item's first line is
    only its `{`."""
    return orjson.dumps(item).decode()[:200]


def item_spans(text: str, first: int, last: int, key: str | None = None) -> list[tuple[int, int]]:
    """The lines (first, last, 1-based) each element of a valid document's list spans: the
    top-level array's, or that of the top-level object's `key`. Each runs to the line before
    the next one's (or ends on its own line when the next begins there too); the first runs
    from the document's `first` line and the last to its `last`, so that the brackets, commas
    and keys around and between the items are accounted for."""
    starts = _item_lines(text, key)
    if not starts:
        return []
    ends = [*(max(start, following - 1) for start, following in pairwise(starts)), last]
    starts[0] = first
    return list(zip(starts, ends, strict=True))


def _item_lines(text: str, key: str | None) -> list[int]:
    """The 1-based line where each element of the list begins."""
    line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
    found, depth = [], 0
    # Directly inside the top-level object, tokens alternate key and value: the list wanted is
    # the value that follows `key`, and its elements are the tokens one level further in.
    in_list, shown, last_key = key is None, 0, None
    for token in _TOKEN.finditer(text):
        kind = token.group()
        if kind in "]}":
            depth -= 1
            continue
        if depth == 1 and key is not None:
            if shown % 2 == 0:
                last_key = json.loads(kind) if kind.startswith('"') else None
            else:
                in_list = last_key == key and kind == "["
            shown += 1
        elif depth == (1 if key is None else 2) and in_list:
            found.append(bisect_right(line_starts, token.start()))
        if kind in "[{":
            depth += 1
    return found
