"""The paper-site listing: three lines a paper.

    LGJun 4, 2018Code                          category code, date, optional `Code` marker
    Relational inductive biases, ...networksPeter W. Battaglia, ... et al. · org, org
    Artificial intelligence (AI) has undergone a renaissance ...
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence

from bot.ingest.names import parse_author_field, split_title_authors
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting, clean_text, implausible_date
from bot.records import Layout, RejectedChunk, Source

HEADER = re.compile(
    r"^(?P<code>[A-Z]{2})(?P<date>[A-Z][a-z]{2} \d{1,2}, \d{4})(?P<has_code>Code)?\s*$"
)
# The two-letter codes are arXiv subject classes; most live under cs.
_ARCHIVE_OF_CODE = {"ML": "stat", "NC": "q-bio", "TH": "stat", "AP": "stat", "ME": "stat"}


def category_of(code: str) -> str:
    return f"{_ARCHIVE_OF_CODE.get(code, 'cs')}.{code}"


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    numbered = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
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
        body = []
        last = start
        for number, following in numbered[i + 1 : i + 3]:
            if HEADER.match(following):
                break
            body.append(following)
            last = number
        if len(body) < 2:
            chunk = " | ".join([line, *body])
            yield RejectedChunk(file=path, line=start, text=chunk[:200], lines=last - start + 1,
                                reason="record cut short: a listing record needs a "
                                       "title+authors line and an abstract line")
            i += 1 + len(body)
            continue
        record = _record(header, body[0], body[1], Source(file=path, line=start,
                                                           layout=Layout.LISTING))
        record.last_line = last
        yield record
        i += 3


def _record(header: re.Match[str], byline: str, abstract: str, source: Source) -> Sighting:
    sighting = Sighting(
        source=source,
        abstract=clean_text(abstract),
        categories=[category_of(header["code"])],
        has_code=bool(header["has_code"]),
    )
    try:
        date = dt.datetime.strptime(header["date"], "%b %d, %Y").date()
    except ValueError:
        sighting.doubts.append(f"unreadable date {header['date']!r}")
    else:
        if why := implausible_date(date):
            sighting.doubts.append(f"date {header['date']!r} ignored: {why}")
        else:
            sighting.date = date
    split = split_title_authors(byline)
    if split is None:
        sighting.title = clean_text(byline)
        sighting.doubts.append("could not tell the title from the authors; kept the line as title")
        return sighting
    title, author_text = split
    authors = parse_author_field(author_text)
    sighting.title = clean_text(title)
    sighting.authors = authors.authors
    sighting.authors_truncated = authors.truncated
    sighting.organisations = authors.organisations
    return sighting


def sniff(sample: Sequence[str]) -> bool:
    """A category+date line among the first three: a listing opens with a record."""
    return any(HEADER.match(line) for line in sample[:3])


READER = Reader(layout=Layout.LISTING, sniff=sniff, read=read, named="a paper listing",
                described="paper listings scraped from paper sites", suffixes=(".txt",),
                example="three lines a paper: `LGJun 4, 2018Code` (category, date, code "
                        "marker), the title glued to its authors (`…graph networksPeter W. "
                        "Battaglia, … et al. · org`), the abstract")
