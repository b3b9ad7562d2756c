"""JSON Lines, one paper an object: arXiv metadata (the Kaggle snapshot,
`arxiv-metadata-oai-snapshot.json`, and its descendants), BEIR corpora (SciFact, CiteSeer, ...),
or Semantic Scholar and OpenAlex records one a line; `json_record` maps their fields.

Each line is parsed on its own, with limits, so that one hostile line costs only itself: a
line nested deeper than `MAX_DEPTH`, a number too large for a 64-bit float, or invalid JSON is
rejected with its line number (orjson parses iteratively: a deep line cannot exhaust the
stack, and it refuses such numbers instead of building a 5,000-digit integer). A line of
objects run together (`{...}{...}`, `{...} {...}`) gives each of them, at most
`MAX_VALUES_PER_LINE`: the standard library's decoder finds where each ends, and orjson parses
each with the same limits. Lines longer than `bot.ingest.files.MAX_LINE_BYTES` never reach a
reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from bot.ingest.readers.json_record import read_record
from bot.ingest.readers.json_values import MAX_DEPTH, json_depth, json_kind
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting
from bot.records import Layout, RejectedChunk, Source

# Objects run together on one line: a concatenation gone wrong, never thousands of papers.
MAX_VALUES_PER_LINE = 10_000
# Only where each value ends is wanted of it: numbers are left as text.
_BOUNDS = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        source = Source(file=path, line=number, layout=Layout.JSONL)
        values = _values(line)
        if isinstance(values, str):
            yield _rejected(source, line, values)
            continue
        for value in values:
            yield _record(value, source, line)


def _record(value: Any, source: Source, line: str) -> Sighting | RejectedChunk:
    if not isinstance(value, dict):
        return _rejected(source, line, f"a JSON {json_kind(value)}, not an object")
    if json_depth(value) > MAX_DEPTH:
        return _rejected(source, line, f"JSON nested more than {MAX_DEPTH} deep")
    return read_record(value, source, line.strip())


def _rejected(source: Source, line: str, reason: str) -> RejectedChunk:
    return RejectedChunk(file=source.file, line=source.line, text=line.strip(), reason=reason)


def _values(line: str) -> list[Any] | str:
    """The line's value, or the values run together on it; or why it holds none."""
    try:
        return [orjson.loads(line)]
    except orjson.JSONDecodeError as exc:
        why = f"not valid JSON ({exc.msg})"
    try:
        pieces = _run_together(line)
    except (ValueError, RecursionError):  # invalid somewhere, or nested past Python's stack
        return why
    if len(pieces) > MAX_VALUES_PER_LINE:
        return f"more than {MAX_VALUES_PER_LINE:,} JSON values on one line"
    if len(pieces) < 2:
        return why
    try:
        return [orjson.loads(piece) for piece in pieces]
    except orjson.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg})"


def _run_together(line: str) -> list[str]:
    """The text of each value on a line of values run together, with or without spaces
    between; ValueError where something else comes between or after them."""
    pieces, at, end = [], 0, len(line.rstrip())
    while at < end and len(pieces) <= MAX_VALUES_PER_LINE:
        while line[at].isspace():
            at += 1
        _, stop = _BOUNDS.raw_decode(line, at)
        pieces.append(line[at:stop])
        at = stop
    return pieces


def sniff(sample: Sequence[str]) -> bool:
    """The first line opens an object (a line that is not valid JSON is rejected on reading)."""
    return sample[0].startswith("{")


READER = Reader(layout=Layout.JSONL, sniff=sniff, read=read, named="JSON Lines",
                described="JSON Lines of arXiv metadata (the Kaggle snapshot) or BEIR corpora",
                suffixes=(".jsonl", ".json"),
                example='one object a line: `{"id": "2403.05530", "title": …, "abstract": …, '
                        '"authors": …, "categories": …}` or BEIR\'s `{"_id", "title", "text"}`')
