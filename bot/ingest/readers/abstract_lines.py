"""Bare abstracts, one `Abstract:...` line a paper, with no title or authors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting, clean_text
from bot.records import Layout, RejectedChunk, Source

LINE = re.compile(r"^\s*Abstract\s*:\s*(?P<abstract>.*)$", re.IGNORECASE)


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = LINE.match(line)
        if not match:
            yield RejectedChunk(file=path, line=number, text=line.strip()[:200],
                                reason="not an 'Abstract:' line")
        elif not match["abstract"].strip():
            yield RejectedChunk(file=path, line=number, text=line.strip()[:200],
                                reason="empty abstract")
        else:
            yield Sighting(source=Source(file=path, line=number, layout=Layout.ABSTRACT_LINES),
                           abstract=clean_text(match["abstract"]))


def sniff(sample: Sequence[str]) -> bool:
    """Most lines are `Abstract:` lines (a stray line or two is rejected on reading)."""
    return sum(bool(LINE.match(line)) for line in sample) > len(sample) / 2


READER = Reader(layout=Layout.ABSTRACT_LINES, sniff=sniff, read=read,
                named="'Abstract:' lines", described="'Abstract:' lines", suffixes=(".txt",),
                example="one `Abstract: …` line a paper")
