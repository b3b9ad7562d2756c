"""What every surface (CLI, web app, MCP, REST) does with what a person or a program sends:
filters, a conversation's earlier turns and paper references checked into PaperBot's types,
each mistake a `QueryError` with a message for whoever sent it. No surface re-implements
these."""

from __future__ import annotations

from pydantic import ValidationError

from bot.errors import QueryError
from bot.paperbot import PaperBot
from bot.records import Filters, Paper, Turn


def filters_of(*, year_from: int | None = None, year_to: int | None = None,
               author: str | None = None, category: str | None = None,
               has_code: bool | None = None) -> Filters | None:
    """The filters asked for; None when none is set. An impossible range is a QueryError."""
    try:
        filters = Filters(year_from=year_from, year_to=year_to, author=author,
                          category=category, has_code=has_code)
    except ValidationError as exc:
        raise QueryError("; ".join(e["msg"].removeprefix("Value error, ")
                                   for e in exc.errors())) from None
    return None if filters.is_empty() else filters


def turns_of(history: object) -> list[Turn]:
    """A conversation's earlier turns as a page or a program sends them, oldest first:
    each {"question": ..., "cited": [paper ids]}."""
    if history is None:
        return []
    if not isinstance(history, list):
        raise QueryError("history must be a list of {\"question\", \"cited\"} turns")
    try:
        return [Turn.model_validate(turn) for turn in history]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise QueryError(f"history: {where}: {first['msg']}") from None


class PaperNotFound(QueryError):
    """A reference that names no paper of the library (a surface may answer 404)."""


def paper_of(bot: PaperBot, ref: str) -> Paper:
    """The paper a reference names (id, arXiv id, DOI, cite key or title)."""
    paper = bot.get(ref)
    if paper is None:
        raise PaperNotFound(f"no paper {ref!r} in the library (give its id, arXiv id, DOI, "
                            "cite key or title)")
    return paper
