"""What the registry knows of one layout's reader: enough to sniff it, name it, offer it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.ingest.sighting import Sighting
from bot.records import Layout, RejectedChunk

Read = Callable[[Iterable[str], str], Iterator["Sighting | RejectedChunk"]]


@dataclass(frozen=True)
class Reader:
    layout: Layout
    # Whether a file's first non-blank lines (stripped) are in this layout; asked in the
    # registry's order, so a sniff may be loose where an earlier one is strict.
    sniff: Callable[[Sequence[str]], bool]
    # The lines and the file's name as given -> its records and its rejected chunks, which
    # between them span every non-blank line.
    read: Read
    named: str  # how a refusal names the layout: "a paper listing"
    described: str  # for the upload page, in a reader's words: "paper listings scraped ..."
    suffixes: tuple[str, ...]  # the file names it is usually found under
    # What a record looks like, for the README's table of formats (Markdown, one line).
    example: str = ""
