"""Rejected chunks and warnings of one file, kept to a bounded list as they stream in.

A file of three million broken lines must cost a report of a few kilobytes, not one entry a
line: the first `PER_REASON` chunks of each reason are listed with their line, at most
`MAX_LISTED` in a file; every later one is counted in one entry per reason (its `count`),
whose line is the first of those counted. Past `MAX_REASONS` distinct reasons, the rest are
counted together under `OTHER_REASONS`. Nothing is dropped: the counts add up to every chunk.
"""

from __future__ import annotations

from bot.records import RejectedChunk

PER_REASON = 5
MAX_LISTED = 100
MAX_REASONS = 100
OTHER_REASONS = "other reasons (too many kinds to list one by one)"


class ChunkTally:
    def __init__(self) -> None:
        self._listed: list[RejectedChunk] = []
        self._listed_per_reason: dict[str, int] = {}
        self._counted: dict[str, RejectedChunk] = {}

    def add(self, chunk: RejectedChunk) -> None:
        reason = chunk.reason
        listed = self._listed_per_reason.get(reason, 0)
        if listed < PER_REASON and len(self._listed) < MAX_LISTED:
            self._listed_per_reason[reason] = listed + 1
            self._listed.append(chunk)
            return
        if reason not in self._counted and len(self._counted) >= MAX_REASONS:
            reason = OTHER_REASONS
        entry = self._counted.get(reason)
        if entry is None:
            self._counted[reason] = chunk.model_copy(update={"reason": reason})
        else:
            entry.count += chunk.count

    def chunks(self) -> list[RejectedChunk]:
        """The listed chunks in file order, then one counted entry per reason."""
        return [*self._listed, *self._counted.values()]

    def __len__(self) -> int:
        return len(self._listed) + sum(c.count for c in self._counted.values())
