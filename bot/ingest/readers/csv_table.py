"""CSV tables of papers: Zotero's CSV export, and any table whose header names a title column
and an abstract column.

- Zotero: `"Key","Item Type","Publication Year","Author","Title","Publication Title",...,
  "DOI","Url","Abstract Note","Date",...,"Extra",...,"Manual Tags","Automatic Tags",...`;
  authors as `Last, First; Last, First`, tags separated by semicolons, an arXiv id in Url,
  DOI, Extra (`arXiv: 1706.03762`) or Number.
- Any other table: its columns found by their header names, in any case, under the common
  names `COLUMNS` lists (`Paper Title`, `Summary`, `Creators`, `Published`, `Link`, ...).

Read with the csv module, the delimiter (comma, semicolon or tab) sniffed from the header
line. A quoted field may run over several lines; a row's record is at the line the row starts
on. A row with more or fewer fields than the header, one with a field larger than
`MAX_FIELD_CHARS` or quoting csv cannot read, and one with neither a title nor an abstract
are rejected chunks with their lines, and the rest of the file is read; a titled row without
an abstract is a record with an empty abstract.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence

from bot.ingest.names import parse_author_field
from bot.ingest.readers.reader import Reader
from bot.ingest.readers.reference_fields import arxiv_id_in, person, read_date
from bot.ingest.sighting import Sighting, clean_text, normalise_arxiv_id, normalise_doi
from bot.records import Layout, RejectedChunk, Source

# The largest field read. An abstract is a few kilobytes and Zotero's notes rarely more than a
# hundred; a larger field is a quote left open that swallowed the rows after it.
MAX_FIELD_CHARS = 1024 * 1024
# Each field's column names, normalised (lower case, one space between words), first choice
# first. Several are read together where a table splits one field (Zotero's two kinds of tags;
# the places an arXiv id may be mentioned).
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "paper title", "article title", "document title"),
    "abstract": ("abstract", "abstract note", "summary", "description"),
    "authors": ("authors", "author", "creators"),
    "date": ("date", "published", "publication date", "year", "publication year"),
    "doi": ("doi",),
    "url": ("url", "link"),
    "venue": ("venue", "journal", "publication title", "booktitle", "book title", "source",
              "source title"),
    "keywords": ("keywords", "tags", "manual tags", "automatic tags", "author keywords"),
    "id": ("id", "key", "arxiv id"),
    "entry_type": ("item type", "entry type", "type"),
    "arxiv_notes": ("arxiv id", "extra", "number"),
}
# Zotero's header opens so; its author and tag lists are always separated by semicolons.
_ZOTERO_HEADER = ("key", "item type", "publication year", "author", "title")
_DELIMITERS = ",;\t"
# Zotero's header, the longest in use, is some 1,200 characters; the delimiter is told from the
# start of a header, and a first line far longer is not taken for one.
_MAX_HEADER_CHARS = 10_000
_NOT_A_WORD = re.compile(r"[\s_\-]+")


class _Columns:
    """Which column holds which field, from a table's header."""

    def __init__(self, header: Sequence[str]):
        names = [_column_name(name) for name in header]
        self.header = [clean_text(name) for name in header]
        self.width = len(header)
        self.zotero = tuple(names[:len(_ZOTERO_HEADER)]) == _ZOTERO_HEADER
        self.found: dict[str, list[int]] = {
            field: [names.index(name) for name in choices if name in names]
            for field, choices in COLUMNS.items()}

    def is_papers(self) -> bool:
        return bool(self.found["title"] and self.found["abstract"])

    def all(self, row: Sequence[str], field: str) -> list[str]:
        """The field's cleaned, non-empty values, in the order of its column names."""
        return [text for index in self.found[field] if (text := clean_text(row[index]))]

    def first(self, row: Sequence[str], field: str) -> str | None:
        return next(iter(self.all(row, field)), None)


def _column_name(name: str) -> str:
    return _NOT_A_WORD.sub(" ", name).strip().lower()


def _delimiter(header: str) -> str:
    try:
        return csv.Sniffer().sniff(header[:_MAX_HEADER_CHARS], delimiters=_DELIMITERS).delimiter
    except csv.Error:  # a header of one column: nothing to tell from
        return ","


class _Lines:
    """The file's lines as csv reads them, remembering the first line of the current row."""

    def __init__(self, lines: Iterable[str]):
        self.lines = lines
        self.row_text: str | None = None

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            if self.row_text is None:
                self.row_text = line.strip()
            yield line + "\n"


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    lines = iter(lines)
    opening = []  # the blank lines before the header, and the header
    for line in lines:
        opening.append(line)
        if line.strip():
            break
    else:
        return
    # csv's bound is process-wide: it is this reader's while a file is read, then put back.
    previous = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        yield from _table(opening, lines, path)
    finally:
        csv.field_size_limit(previous)


def _table(opening: list[str], lines: Iterator[str],
           path: str) -> Iterator[Sighting | RejectedChunk]:
    """The rows after the opening lines (blank ones, then the header): each a record or a
    rejected chunk, at the line it starts on."""
    feed = _Lines(itertools.chain(opening, lines))
    rows = csv.reader(feed, delimiter=_delimiter(opening[-1]), strict=True)
    columns: _Columns | None = None
    end = 0
    while True:
        start, feed.row_text = end + 1, None
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            end = rows.line_num
            yield _rejected(path, start, end, feed.row_text, _csv_failure(exc))
            continue
        end = rows.line_num
        if len(row) <= 1 and not "".join(row).strip():  # a blank line, spaces or not
            continue
        if columns is None:
            columns = _Columns(row)
            if not columns.is_papers():
                # The whole table is left unread, and its span says so.
                rest = sum(1 for _ in lines)
                yield _rejected(path, start, end + rest, feed.row_text, "a header without a "
                                "title column and an abstract column: the table is not read")
                return
            continue
        yield _row(row, columns, path, start, end, feed.row_text or "")


def _csv_failure(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a field longer than {MAX_FIELD_CHARS:,} characters: the row is not read"
    return f"malformed CSV row ({clean_text(str(exc))})"


def _rejected(path: str, start: int, end: int, text: str | None, reason: str) -> RejectedChunk:
    return RejectedChunk(file=path, line=start, lines=end - start + 1, text=text or "",
                         reason=reason)


def _row(row: list[str], columns: _Columns, path: str, start: int, end: int,
         text: str) -> Sighting | RejectedChunk:
    if len(row) != columns.width:
        return _rejected(path, start, end, text, f"a row of {len(row)} fields where the "
                                                 f"header names {columns.width}")
    title, abstract = columns.first(row, "title"), columns.first(row, "abstract")
    if title is None and abstract is None:
        return _rejected(path, start, end, text, "a row with no title and no abstract")
    sighting = Sighting(source=Source(file=path, line=start, layout=Layout.CSV),
                        abstract=abstract or "", last_line=end, title=title)
    _read_authors(columns.first(row, "authors"), columns.zotero, sighting)
    sighting.doi = normalise_doi(columns.first(row, "doi"))
    sighting.url = columns.first(row, "url")
    sighting.venue = columns.first(row, "venue")
    sighting.entry_type = columns.first(row, "entry_type")
    sighting.keywords = _keywords(columns.all(row, "keywords"), columns.zotero)
    key = columns.first(row, "id")
    # Google Scholar names an arXiv preprint's venue "arXiv preprint arXiv:2202.04985".
    sighting.arxiv_id = arxiv_id_in([key, sighting.url, sighting.doi,
                                     *columns.all(row, "arxiv_notes"), sighting.venue])
    sighting.cite_key = key if key and normalise_arxiv_id(key) is None else None
    read_date(((columns.header[index], row[index]) for index in columns.found["date"]),
              sighting)
    return sighting


def _read_authors(text: str | None, zotero: bool, sighting: Sighting) -> None:
    """`Last, First; Last, First` (Zotero's always) -> "First Last" each; a list without
    semicolons is read as a byline: `A. Smith, B. Jones and C. Lee`, `et al.` noted."""
    if not text:
        return
    if zotero or ";" in text:
        sighting.authors = [name for part in text.split(";") if (name := person(part))]
        return
    parsed = parse_author_field(text)
    sighting.authors, sighting.authors_truncated = parsed.authors, parsed.truncated


def _keywords(values: list[str], zotero: bool) -> list[str]:
    """Semicolon separated (Zotero's tags, which may hold commas), else comma separated; each
    once."""
    words = []
    for value in values:
        separator = ";" if zotero or ";" in value else ","
        words.extend(word for part in value.split(separator) if (word := clean_text(part)))
    return list(dict.fromkeys(words))


def sniff(sample: Sequence[str]) -> bool:
    """The first line is a header naming a title column and an abstract column (Zotero's
    header does: `Title`, `Abstract Note`)."""
    first = sample[0]
    if len(first) > _MAX_HEADER_CHARS or "title" not in first.lower():
        return False
    header = next(csv.reader([first], delimiter=_delimiter(first)), [])
    return _Columns(header).is_papers()


READER = Reader(layout=Layout.CSV, sniff=sniff, read=read, named="CSV",
                described="CSV tables with title and abstract columns (Zotero's CSV export)",
                suffixes=(".csv", ".tsv"),
                example="a header naming a title and an abstract column in any case, e.g. "
                        "Zotero's `Key,Item Type,Publication Year,Author,Title,…,Abstract Note,…`"
                        " or `title;authors;year;abstract;doi`, comma, semicolon or tab "
                        "separated")
