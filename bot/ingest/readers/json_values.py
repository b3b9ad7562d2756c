"""What the JSON readers (JSON Lines, CSL-JSON) share: bounds on parsed values, their kinds in
words, and the date forms paper metadata writes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

# arXiv metadata nests three deep (a record, its versions, a version); BEIR two.
MAX_DEPTH = 32
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?!\d)")
# RFC 2822 as arXiv's versions write it, "Mon, 2 Apr 2007 19:18:42 GMT"; a four-digit year
# only (email.utils would read year 0 as 2000).
_RFC_DATE = re.compile(r"^\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})(?!\d)")


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
    try:
        if iso := _ISO_DATE.match(value):
            return dt.date(*map(int, iso.groups()))
        if rfc := _RFC_DATE.match(value):
            return dt.datetime.strptime(" ".join(rfc.groups()), "%d %b %Y").date()
    except ValueError:  # 2024-02-30, year 0000, "Foo" for a month
        pass
    return None
