"""What a reader's output spans: every line a record or a rejected chunk accounts for."""

from __future__ import annotations

from bot.records import RejectedChunk


def covered_lines(items) -> set[int]:
    """The 1-based lines within the spans of these sightings and rejected chunks."""
    covered: set[int] = set()
    for item in items:
        if isinstance(item, RejectedChunk):
            covered.update(range(item.line, item.line + item.lines))
        else:
            covered.update(range(item.source.line, max(item.last_line, item.source.line) + 1))
    return covered
