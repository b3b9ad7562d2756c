"""What a user typed, made fit to search with, or refused with a message."""

from __future__ import annotations

import unicodedata

from bot.errors import QueryError


def clean_query(text: object, *, max_chars: int, what: str = "question") -> str:
    """The text a user typed, with control characters removed; refuses blank or huge input."""
    if not isinstance(text, str):
        raise QueryError(f"the {what} must be text")
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QueryError(f"the {what} is empty: type a few words")
    if len(cleaned) > max_chars:
        raise QueryError(f"the {what} is {len(cleaned):,} characters long; the limit is "
                         f"{max_chars:,}. Shorten it to the part that matters.")
    return cleaned
