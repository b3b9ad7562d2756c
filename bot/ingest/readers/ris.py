"""RIS, the tagged references Zotero, Mendeley, EndNote, PubMed and Scopus export, and its
cousin, Web of Science's tagged export.

- RIS: `TY  - JOUR` opens an entry and `ER  - ` closes it; each line between is a two-character
  tag, two spaces, a hyphen and its value (`TI  - Attention Is All You Need`); a line without a
  tag goes on with the value before it.
- Web of Science: `FN Clarivate Analytics Web of Science` and `VR 1.0` head the file, `PT J`
  opens a record and `ER` closes it, `EF` ends the file; a tag and its value are separated by
  one space, and a value's further lines are indented.

rispy parses each entry's tags. It gives no line numbers, drops silently an entry the file
ends inside of, and folds an entry that lacks its `ER` into the next one; so the lines are cut
into entries here, at their opening and closing tags, and rispy is given one entry at a time.
An entry becomes a sighting at its opening line. An entry not closed before the next one opens
or the file ends, one larger than `MAX_ENTRY_BYTES`, one rispy fails on, and one with neither a
title nor an abstract are rejected chunks, and the rest of the file is read; a titled entry
without an abstract is a record with an empty abstract. Text outside any entry (a database's
"Record #1 of 2" banner) is rejected as such; Web of Science's `FN`, `VR` and `EF` lines are
the file's own and say nothing to report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import rispy

from bot.ingest.readers.reader import Reader
from bot.ingest.readers.reference_fields import arxiv_id_in, person, read_date
from bot.ingest.sighting import Sighting, clean_text, normalise_doi
from bot.records import Layout, RejectedChunk, Source

# One entry's text. A Web of Science record with hundreds of cited references is some tens of
# kilobytes; an "entry" far larger is a file that lost its `ER` lines, and is not held whole.
MAX_ENTRY_BYTES = 1024 * 1024
_END_TAG = "ER"
# Lines a RIS file may open with before its first entry ("Record #1 of 2", "Provider: ...").
_BANNER_LINES = 4
_KEYWORD_SEPARATOR = re.compile(r";")


@dataclass(frozen=True)
class _Fields:
    """Where each of a sighting's fields lies in what rispy gives, first choice first."""

    title: tuple[str, ...]
    abstract: tuple[str, ...]
    authors: tuple[str, ...]
    doi: tuple[str, ...]
    venue: tuple[str, ...]
    keywords: tuple[str, ...]
    entry_type: tuple[str, ...]
    cite_key: tuple[str, ...]
    source_id: tuple[str, ...]
    urls: tuple[str, ...]
    arxiv: tuple[str, ...]  # fields that may hold or mention an arXiv id, besides the URLs


# rispy's names for RIS tags: TI/T1 title, AB/N2 abstract, AU/A1 authors, DO, JF (the full
# journal name) / T2 (journal, proceedings or book) / JO, KW, TY, ID, UR; and where an arXiv
# id is mentioned besides an arxiv.org URL: an arXiv DOI, N1 notes, M1, AN.
_RIS_FIELDS = _Fields(
    title=("title", "primary_title"), abstract=("abstract", "notes_abstract"),
    authors=("authors", "first_authors"), doi=("doi",),
    venue=("alternate_title3", "secondary_title", "journal_name"),
    keywords=("keywords",), entry_type=("type_of_reference",), cite_key=("id",),
    source_id=(), urls=("urls",), arxiv=("doi", "notes", "note", "accession_number"))
# Web of Science: AF full names before AU's initials; PY the year (its DA is the day of the
# export, not of the paper); DE the authors' keywords, ID's "Keywords Plus" only without
# them; DT "Article" before PT's one letter; UT its accession number, an id across exports.
_WOS_FIELDS = _Fields(
    title=("document_title",), abstract=("abstract",),
    authors=("author_full_name", "authors"), doi=("doi",),
    venue=("publication_name",), keywords=("author_keywords", "keywords_plus"),
    entry_type=("document_type", "publication_type"), cite_key=(),
    source_id=("accession_number",), urls=(), arxiv=())


def _read_ris_date(record: dict[str, Any], sighting: Sighting) -> None:
    """DA (the full date, `2017/06/12/`), else Y1, else PY (`2017///`)."""
    read_date([(tag, _first_text(record, (name,))) for tag, name in
               (("DA", "date"), ("Y1", "publication_year"), ("PY", "year"))], sighting)


_MONTHS = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    start=1)}
_WOS_MONTH_DAY = re.compile(r"^([A-Z]{3})\w*(?:\s+(\d{1,2}))?\b")


def _read_wos_date(record: dict[str, Any], sighting: Sighting) -> None:
    """PY the year; PD (`JUN 8`, `JUN`, `SPR`) adds a month and day when it names them."""
    year = _first_text(record, ("publication_year",))
    if year is None:
        return
    text = year
    when = _WOS_MONTH_DAY.match((_first_text(record, ("publication_date",)) or "").upper())
    if when and when.group(1) in _MONTHS:
        text = f"{year}/{_MONTHS[when.group(1)]:02d}/{when.group(2) or ''}"
    read_date([("PY", text)], sighting)


@dataclass(frozen=True)
class _Dialect:
    """How one of the two formats writes its tags, which rispy parser reads them, and where
    its fields lie."""

    name: str  # for a rejection's reason
    start: str  # the tag that opens an entry
    tag: re.Pattern[str]  # a tagged line; group 1 the tag
    parser: type[rispy.RisParser]
    own: frozenset[str]  # tags outside entries that belong to the file: say nothing
    fields: _Fields
    read_date: Callable[[dict[str, Any], Sighting], None]


_RIS = _Dialect("RIS", "TY", re.compile(r"^([A-Z][A-Z0-9])  -(?: |$)"), rispy.RisParser,
                frozenset(), _RIS_FIELDS, _read_ris_date)
_WOS = _Dialect("Web of Science", "PT", re.compile(r"^([A-Z][A-Z0-9])(?: |$)"), rispy.WokParser,
                frozenset({"FN", "VR", "EF"}), _WOS_FIELDS, _read_wos_date)
_WOS_HEADER = re.compile(r"^(FN|PT) \S")


@dataclass
class _Entry:
    """An entry's lines as they are read: from its opening tag to its `ER`."""

    first: int
    last: int
    lines: list[str] | None  # None once it grew past MAX_ENTRY_BYTES: no longer kept
    size: int = 0

    def add(self, number: int, line: str) -> None:
        self.last = number
        if self.lines is None:
            return
        self.size += len(line) + 1
        if self.size > MAX_ENTRY_BYTES:
            self.lines = None
        else:
            self.lines.append(line)


@dataclass
class _Outside:
    """A run of lines between entries that are not the file's own."""

    first: int
    last: int
    excerpt: str


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    dialect: _Dialect | None = None
    entry: _Entry | None = None
    outside: _Outside | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        dialect = dialect or (_WOS if _WOS_HEADER.match(line) else _RIS)
        tag = _tag(dialect, line)
        if entry is None and tag != dialect.start:
            if tag not in dialect.own:
                outside = outside or _Outside(number, number, line.strip())
                outside.last = number
            continue
        if outside is not None:
            yield _outside_rejected(outside, path, dialect)
            outside = None
        if tag == dialect.start:
            if entry is not None:
                yield _rejected(entry, path, f"{dialect.name} entry not closed by an "
                                             f"{_END_TAG} line before the next one opens")
            entry = _Entry(first=number, last=number, lines=[])
        entry.add(number, line)
        if tag == _END_TAG:
            yield _parsed(entry, path, dialect)
            entry = None
    if entry is not None:
        yield _rejected(entry, path, f"{dialect.name} entry not closed by an {_END_TAG} line "
                                     "before the file ends")
    if outside is not None:
        yield _outside_rejected(outside, path, dialect)


def _tag(dialect: _Dialect, line: str) -> str | None:
    match = dialect.tag.match(line)
    return match.group(1) if match else None


def _outside_rejected(outside: _Outside, path: str, dialect: _Dialect) -> RejectedChunk:
    return RejectedChunk(file=path, line=outside.first, lines=outside.last - outside.first + 1,
                         text=outside.excerpt, reason=f"text outside any {dialect.name} entry")


def _rejected(entry: _Entry, path: str, reason: str) -> RejectedChunk:
    excerpt = entry.lines[0].strip() if entry.lines else ""
    return RejectedChunk(file=path, line=entry.first, lines=entry.last - entry.first + 1,
                         text=excerpt, reason=reason)


def _parsed(entry: _Entry, path: str, dialect: _Dialect) -> Sighting | RejectedChunk:
    if entry.lines is None:
        return _rejected(entry, path, f"a {dialect.name} entry larger than "
                                      f"{MAX_ENTRY_BYTES:,} bytes: not read")
    try:
        records = rispy.loads("\n".join(entry.lines), implementation=dialect.parser)
    # rispy's own errors are these: a value it expected before a continuation line is missing
    # or of another kind.
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return _rejected(entry, path, f"malformed {dialect.name} entry "
                                      f"({clean_text(str(exc)) or type(exc).__name__})")
    if len(records) != 1:
        return _rejected(entry, path, f"malformed {dialect.name} entry")
    source = Source(file=path, line=entry.first, layout=Layout.RIS)
    return _record(records[0], source, entry, dialect) or _rejected(
        entry, path, f"a {dialect.name} entry with no title and no abstract")


def _record(record: dict[str, Any], source: Source, entry: _Entry,
            dialect: _Dialect) -> Sighting | None:
    """The sighting an entry gives; None when it has neither a title nor an abstract."""
    fields = dialect.fields
    title, abstract = _first_text(record, fields.title), _first_text(record, fields.abstract)
    if title is None and abstract is None:
        return None
    sighting = Sighting(source=source, abstract=abstract or "", last_line=entry.last,
                        title=title)
    sighting.authors = [name for name in map(person, _first_list(record, fields.authors))
                        if name]
    sighting.doi = normalise_doi(_first_text(record, fields.doi))
    sighting.venue = _first_text(record, fields.venue)
    sighting.keywords = _keywords(_first_list(record, fields.keywords))
    sighting.entry_type = (_first_text(record, fields.entry_type) or "").lower() or None
    sighting.cite_key = _first_text(record, fields.cite_key)
    sighting.source_id = _first_text(record, fields.source_id)
    urls = _first_list(record, fields.urls)
    sighting.url = urls[0] if urls else None
    # Google Scholar names an arXiv preprint's venue "arXiv preprint arXiv:2202.04985".
    sighting.arxiv_id = arxiv_id_in([*urls, *(text for name in fields.arxiv
                                              for text in _texts(record.get(name))),
                                     sighting.venue])
    dialect.read_date(record, sighting)
    return sighting


def _texts(value: Any) -> list[str]:
    """A value rispy gives (a string, or a list of them for a repeated tag), cleaned."""
    values = value if isinstance(value, list) else [value]
    return [text for text in (clean_text(v) for v in values if isinstance(v, str)) if text]


def _first_text(record: dict[str, Any], names: Sequence[str]) -> str | None:
    return next((texts[0] for name in names if (texts := _texts(record.get(name)))), None)


def _first_list(record: dict[str, Any], names: Sequence[str]) -> list[str]:
    return next((texts for name in names if (texts := _texts(record.get(name)))), [])


def _keywords(values: list[str]) -> list[str]:
    """One keyword a KW line, or several on one line separated by semicolons (Web of
    Science's DE and ID); each once."""
    words = (clean_text(part) for value in values for part in _KEYWORD_SEPARATOR.split(value))
    return list(dict.fromkeys(word for word in words if word))


def sniff(sample: Sequence[str]) -> bool:
    """The first line heads a Web of Science export (`FN ` or `PT `), or one of the first few
    opens a RIS entry (`TY  - `): a database may put a banner before it, as Zotero's own RIS
    import allows."""
    return bool(_WOS_HEADER.match(sample[0]) or any(
        _tag(_RIS, line) == _RIS.start for line in sample[:_BANNER_LINES + 1]))


READER = Reader(layout=Layout.RIS, sniff=sniff, read=read, named="RIS",
                described="RIS exports (Zotero, Mendeley, EndNote) and Web of Science tagged "
                          "exports", suffixes=(".ris", ".txt"),
                example="`TY  - JOUR` / `TI  - …` / `AU  - Last, First` / `PY  - 2021` / "
                        "`AB  - …` / `DO  - …` / `ER  - `; Web of Science: `PT J` / `TI …` / "
                        "`AU …` / `AB …` / `ER`")
