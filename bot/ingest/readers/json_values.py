"""What the JSON readers (JSON Lines, CSL-JSON) share: bounds on parsed values, their kinds in
words; and the date forms paper metadata writes, the one date parser of every reader."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from typing import Any

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
