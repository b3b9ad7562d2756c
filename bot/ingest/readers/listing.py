"""The paper-site listing: three lines a paper, or four where the title has a line of its own.

    LGJun 4, 2018Code                          category code, date, optional `Code` marker
    Relational inductive biases, ...networksPeter W. Battaglia, ... et al. · org, org
    Artificial intelligence (AI) has undergone a renaissance ...

The header may have a space after the code (`LG Jun 4, 2018`) and a full month (`June`). A
record whose second body line is an author list (abstracts are prose, never one) is read as
title, authors, abstract; a title and authors line with nothing after them before the next
header are a record with no abstract. A header with a byline alone is cut short.

Where the title is glued to its authors, the seam is found by `names.seam_candidates`, weighed
with what the file itself says about the words and names there, in two passes: the first splits
each byline with the words of the file's abstracts and organisations (`AlphaCode` in its own
abstract makes `...with AlphaCode|Yujia Li` beat `...with Alpha|CodeYujia Li`); the bylines that
split cleanly (by a clear margin) give their authors and titles as evidence for the second,
which re-reads only the doubtful ones (`Yujia` seen as another record's author is a given
name). A seam still doubtful after both keeps its best reading with a warning naming both, so
a wrong split is never silent. The file is held whole for this, as its lines were already
(to gather stray ones into chunks); the evidence is a set of its words and names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.ingest.names import (
    Reading,
    SeamEvidence,
    is_author_list,
    parse_author_field,
    seam_candidates,
    weighed,
    words_of,
)
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting, clean_text, implausible_date, short
from bot.records import Layout, RejectedChunk, Source

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
# A month abbreviated (`Jun`, `Sept`) or in full (`June`); the dot some sites add is allowed.
_MONTH = "|".join(f"{name[:3]}(?:{name[3:]}|t)?" if name == "September"
                  else f"{name[:3]}(?:{name[3:]})?" for name in _MONTHS)
HEADER = re.compile(rf"^(?P<code>[A-Z]{{2}}) ?(?P<date>(?P<month>{_MONTH})\.? "
                    rf"(?P<day>\d{{1,2}}), (?P<year>\d{{4}}))(?P<has_code> ?Code)?\s*$")
# The two-letter codes are arXiv subject classes; most live under cs.
_ARCHIVE_OF_CODE = {"ML": "stat", "NC": "q-bio", "TH": "stat", "AP": "stat", "ME": "stat"}
# Readings of a seam closer in cost than this are both plausible: the best is kept, with a
# warning. A cost is a count of unexplained joins, so a margin of one is one join explained.
CLEAR_MARGIN = 1.0


@dataclass
class _Block:
    """A header and its record's lines: a `byline` (title glued to authors) or a `title` and
    `authors` line, then the abstract. `candidates`: the byline's splits, found once;
    `readings`: those splits costed, once decided."""

    header: re.Match[str]
    source: Source
    last_line: int
    abstract: str
    byline: str | None = None
    title: str | None = None
    authors: str | None = None
    candidates: list[Reading] | None = None
    readings: list[Reading] | None = None


def category_of(code: str) -> str:
    return f"{_ARCHIVE_OF_CODE.get(code, 'cs')}.{code}"


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    numbered = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    items = list(_blocks(numbered, path))
    evidence = _first_pass([item for item in items if isinstance(item, _Block)])
    for item in items:
        yield item if isinstance(item, RejectedChunk) else _record(item, evidence)


def _blocks(numbered: list[tuple[int, str]], path: str) -> Iterator[_Block | RejectedChunk]:
    i = 0
    while i < len(numbered):
        start, line = numbered[i]
        header = HEADER.match(line)
        if not header:
            # Gather the run of stray lines up to the next header into one rejected chunk.
            j = i
            while j < len(numbered) and not HEADER.match(numbered[j][1]):
                j += 1
            yield RejectedChunk(file=path, line=start, text=line[:200],
                                lines=numbered[j - 1][0] - start + 1,
                                reason=f"{j - i} line(s) outside any record (expected a "
                                       "category+date line such as 'LGJun 4, 2018')")
            i = j
            continue
        following = []
        for number, text in numbered[i + 1 : i + 4]:
            if HEADER.match(text):
                break
            following.append((number, text))
        source = Source(file=path, line=start, layout=Layout.LISTING)
        block, used = _block(header, following, source)
        if block is None:
            chunk = " | ".join([line, *(text for _, text in following[:used])])
            last = following[used - 1][0] if used else start
            yield RejectedChunk(file=path, line=start, text=chunk[:200], lines=last - start + 1,
                                reason="record cut short: a listing record needs a "
                                       "title+authors line and an abstract line")
        else:
            yield block
        i += 1 + used


def _block(header: re.Match[str], following: list[tuple[int, str]], source: Source
           ) -> tuple[_Block | None, int]:
    """The record a header opens, from the (up to three) lines before the next header, and
    how many of them it takes. Title, authors and abstract when the second is an author list
    (an abstract is prose, never one), or title and authors alone when those are all there
    is; else a byline and an abstract. None for a byline alone: the record is cut short."""
    texts = [text for _, text in following]
    if len(texts) >= 2 and is_author_list(texts[1]):
        used = min(len(texts), 3)
        abstract = texts[2] if used == 3 else ""
        return _Block(header, source, following[used - 1][0], abstract, title=texts[0],
                      authors=texts[1]), used
    if len(texts) >= 2:
        return _Block(header, source, following[1][0], texts[1], byline=texts[0]), 2
    return None, len(texts)


def _first_pass(blocks: list[_Block]) -> SeamEvidence:
    """Split each byline with the file's words alone; those that split clearly are decided
    (their `readings` set), and lend their titles and authors to the evidence the doubtful
    ones are re-read with."""
    words: set[str] = set()
    for block in blocks:
        words |= words_of(block.abstract)
        words |= words_of((block.byline or block.authors or "").partition(" · ")[2])  # orgs
    names: set[str] = set()
    title_words: set[str] = set()
    first = SeamEvidence.gathered(words, ())
    for block in blocks:
        if block.byline is None:
            names.update(parse_author_field(block.authors or "").authors)
            title_words |= words_of(block.title or "")
            continue
        block.candidates = seam_candidates(block.byline)
        readings = weighed(block.candidates, first)
        if _clear(readings):
            block.readings = readings
            if readings:
                names.update(parse_author_field(readings[0].authors).authors)
                title_words |= words_of(readings[0].title)
    return SeamEvidence.gathered(words | title_words, names)


def _clear(readings: list[Reading]) -> bool:
    return len(readings) < 2 or readings[1].cost - readings[0].cost >= CLEAR_MARGIN


def _record(block: _Block, evidence: SeamEvidence) -> Sighting:
    header = block.header
    sighting = Sighting(
        source=block.source,
        last_line=block.last_line,
        abstract=clean_text(block.abstract),
        categories=[category_of(header["code"])],
        has_code=bool(header["has_code"]),
    )
    _read_date(header, sighting)
    if block.byline is not None:
        readings = block.readings
        if readings is None:  # doubtful at the first pass: re-read with the file's evidence
            readings = weighed(block.candidates or [], evidence)
        _read_byline(block.byline, readings, sighting)
    else:
        sighting.title = clean_text(block.title or "")
        _read_authors(block.authors or "", sighting)
    return sighting


def _read_date(header: re.Match[str], sighting: Sighting) -> None:
    month = next(n for n, name in enumerate(_MONTHS, start=1)
                 if name.startswith(header["month"][:3]))
    try:
        date = dt.date(int(header["year"]), month, int(header["day"]))
    except ValueError:
        sighting.doubts.append(f"unreadable date {header['date']!r}")
        return
    if why := implausible_date(date):
        sighting.doubts.append(f"date {header['date']!r} ignored: {why}")
    else:
        sighting.date = date


def _read_byline(byline: str, readings: list[Reading], sighting: Sighting) -> None:
    if not readings:
        sighting.title = clean_text(byline)
        sighting.doubts.append("could not tell the title from the authors; kept the line as title")
        return
    best = readings[0]
    if not _clear(readings):
        sighting.doubts.append(f"title and authors may be split wrongly: read as {_seam(best)}, "
                               f"but it could be {_seam(readings[1])}")
    sighting.title = clean_text(best.title)
    _read_authors(best.authors, sighting)


def _seam(reading: Reading) -> str:
    """A reading shown at its seam: `"…Generation with Alpha" by "CodeYujia Li"`."""
    tail = reading.title if len(reading.title) <= 40 else "…" + reading.title[-39:]
    return f"{tail!r} by {short(reading.first_author)!r}"


def _read_authors(text: str, sighting: Sighting) -> None:
    authors = parse_author_field(clean_text(text))
    sighting.authors = authors.authors
    sighting.authors_truncated = authors.truncated
    sighting.organisations = authors.organisations


def sniff(sample: Sequence[str]) -> bool:
    """A category+date line among the first three: a listing opens with a record."""
    return any(HEADER.match(line) for line in sample[:3])


READER = Reader(layout=Layout.LISTING, sniff=sniff, read=read, named="a paper listing",
                described="paper listings scraped from paper sites", suffixes=(".txt",),
                example="three lines a paper: `LGJun 4, 2018Code` (category, date, code "
                        "marker), the title glued to its authors (`…graph networksPeter W. "
                        "Battaglia, … et al. · org`), the abstract; or four, the title and "
                        "the authors on lines of their own")
