"""When each paper first entered the library: the date of the build that first held it.

Every build records a date for each of its papers, carried over from the library it
replaces (the same paper id, else the same title), so a paper keeps its first date across
rebuilds and adds; a paper new to the library gets the build's date (local time: "added
today" is the user's today). A library written before the dates were kept has none; its
papers count as added on the day it was built.

The file is JSON, `{"dates": {"2025-03-01": [paper ids…], …}}`: most papers of a library
share a few dates, so it stays small.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import orjson

from bot.ingest.merge import normalise_title
from bot.records import Paper


def today() -> dt.date:
    """The date a build records for the papers new to the library."""
    return dt.date.today()


def every_paper_on(count: int, day: dt.date) -> np.ndarray:
    """`count` papers all added on one day, as a library holds the dates: day ordinals."""
    return np.full(count, day.toordinal(), dtype=np.int32)


def carried_over(papers: Sequence[Paper], previous_papers: Sequence[Paper] | None,
                 previous_added: np.ndarray | None, day: dt.date) -> np.ndarray:
    """Each paper's first date: its date in the previous library (matched by id, else by
    title), else `day`."""
    added = every_paper_on(len(papers), day)
    if not previous_papers or previous_added is None:
        return added
    by_id: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for paper, ordinal in zip(previous_papers, previous_added.tolist(), strict=True):
        by_id[paper.id] = min(ordinal, by_id.get(paper.id, ordinal))
        if paper.title:
            title = normalise_title(paper.title)
            by_title[title] = min(ordinal, by_title.get(title, ordinal))
    for row, paper in enumerate(papers):
        kept = by_id.get(paper.id)
        if kept is None and paper.title:
            kept = by_title.get(normalise_title(paper.title))
        if kept is not None:
            added[row] = min(kept, int(added[row]))
    return added


def to_json(papers: Sequence[Paper], added: np.ndarray) -> bytes:
    dates: dict[str, list[str]] = {}
    for paper, ordinal in zip(papers, added.tolist(), strict=True):
        dates.setdefault(dt.date.fromordinal(ordinal).isoformat(), []).append(paper.id)
    return orjson.dumps({"dates": dict(sorted(dates.items()))})


def from_json(data: bytes) -> dict[str, dt.date]:
    """Paper id -> date, from `to_json`'s bytes; ValueError when they are not of its shape."""
    parsed = orjson.loads(data)
    dates = parsed.get("dates") if isinstance(parsed, dict) else None
    if not isinstance(dates, dict):
        raise ValueError("no dates mapping")
    out: dict[str, dt.date] = {}
    for day, ids in dates.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"the papers of {day!r} are not a list of ids")
        date = dt.date.fromisoformat(day)
        out.update(dict.fromkeys(ids, date))
    return out


def aligned(papers: Sequence[Paper], dates: dict[str, dt.date], default: dt.date
            ) -> np.ndarray:
    """The dates read from a library's file, one per paper row (`default` for a paper the
    file does not name)."""
    fallback = default.toordinal()
    return np.array([dates[p.id].toordinal() if p.id in dates else fallback for p in papers],
                    dtype=np.int32)
