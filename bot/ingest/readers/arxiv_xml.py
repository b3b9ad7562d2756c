"""arXiv's own XML: its API's search results (an Atom feed of `<entry>`s) and OAI-PMH harvests
(`ListRecords` and `GetRecord` responses of `<record>`s) in the arXiv, arXivRaw and oai_dc
metadata formats.

The document is parsed by defusedxml's ElementTree parser, which refuses a DTD outright: no
entity is ever expanded and no external one fetched, so an entity bomb is one rejected chunk
and the rest of the document is not read. It is fed a line at a time, and each record is read
(and its elements dropped) as soon as the next one begins, so a large harvest is never held
whole; past `MAX_BYTES`, or elements nested deeper than `MAX_DEPTH`, it is not read on.
ElementTree keeps no positions, so expat is asked for the line of each record's start tag as
the tag is parsed. A record's span runs to the line before the next record's (the last one's
to the end of the document); the response's header before the first record is a chunk of its
own, so that each record's file:line is its start tag's.

A response holds more than papers, and each of these is a rejected chunk that says what it
is: a deleted record (`<header status="deleted">`), a `resumptionToken` (more records are in
another response), an OAI-PMH `<error>` (`noRecordsMatch`: the request matched nothing), an
error entry from the arXiv API. XML that is not well-formed (a download cut short) keeps the
records read before the error; from there on it is one rejected chunk, naming the line.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError, TreeBuilder
from xml.parsers import expat

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser

from bot.ingest.names import parse_author_field
from bot.ingest.readers.arxiv_fields import decode_tex
from bot.ingest.readers.json_values import parse_date
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import (
    Sighting,
    clean_text,
    implausible_date,
    normalise_arxiv_id,
    normalise_doi,
    short,
)
from bot.records import Layout, RejectedChunk, Source

# A harvest of a whole arXiv category is tens of megabytes a year; far more is not one.
MAX_BYTES = 256 * 1024 * 1024
# arXiv's metadata nests eight deep (OAI-PMH, ListRecords, record, metadata, arXiv, authors,
# author, keyname); deeper is not a response of arXiv's.
MAX_DEPTH = 32
# Where a record, or a note a harvest needs (an OAI error), begins: the local names of the
# elements down to it.
_UNIT_PATHS = {("feed", "entry"), ("OAI-PMH", "ListRecords", "record"),
               ("OAI-PMH", "GetRecord", "record"), ("OAI-PMH", "error")}
_TOKEN_PATH = ("OAI-PMH", "ListRecords", "resumptionToken")
_ROOTS = ("feed", "OAI-PMH")
_ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
# Lines kept for excerpts: enough to reach back to the start of any record being read.
_RECENT_LINES = 4096
_ABS_URL = re.compile(r"^https?://(?:export\.)?arxiv\.org/abs/", re.IGNORECASE)
_OAI_IDENTIFIER = re.compile(r"^oai:arxiv\.org:", re.IGNORECASE)
_API_ERROR = "arxiv.org/api/errors"
# arXiv gives a paper's DOIs (its erratum's too) in one field, spaced or comma-separated.
_DOI_SEPARATOR = re.compile(r"[\s,;]+")
_COMMENT_PREFIX = re.compile(r"^Comment:\s*", re.IGNORECASE)
_VERSION = re.compile(r"^v(\d+)$")
# The same test of a comment or abstract for a code link as the JSON Lines reader's.
_CODE_URL = re.compile(r"https?://(www\.)?(github\.com|gitlab\.com|bitbucket\.org)/\S+",
                       re.IGNORECASE)


class _Refused(Exception):
    """The document is not read on from here, for the reason given."""


@dataclass
class _Unit:
    element: Element
    line: int  # its start tag's


class _Collector:
    """The parser's target: builds the tree, and notes where each unit (a record, an entry, an
    OAI error or resumption token) begins and when it is complete."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.expat: expat.XMLParserType | None = None  # asked for each start tag's line
        self.root: Element | None = None
        self.path: list[str] = []
        self.opened: _Unit | None = None
        self.closed: list[_Unit] = []  # complete, in document order, not yet taken
        self._token_line = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = self.builder.start(tag, attrs)
        self.path.append(_local(tag))
        if len(self.path) > MAX_DEPTH:
            raise _Refused(f"XML nested more than {MAX_DEPTH} deep")
        if len(self.path) == 1:
            self.root = element
            if self.path[0] not in _ROOTS:
                raise _Refused(f"XML whose root is <{short(self.path[0])}>, neither an arXiv "
                               "API feed nor an OAI-PMH response")
        path = tuple(self.path)
        line = self.expat.CurrentLineNumber if self.expat else 0
        if path in _UNIT_PATHS:
            self.opened = _Unit(element, line)
        elif path == _TOKEN_PATH:
            self._token_line = line
        return element

    def end(self, tag: str) -> Element:
        element = self.builder.end(tag)
        path = tuple(self.path)
        self.path.pop()
        if self.opened is not None and element is self.opened.element:
            self.closed.append(self.opened)
            self.opened = None
        elif path == _TOKEN_PATH and (element.text or "").strip():
            # An empty token closes the last page of a harvest: nothing to report.
            self.closed.append(_Unit(element, self._token_line))
        return element

    def data(self, text: str) -> None:
        self.builder.data(text)

    def close(self) -> Element:
        return self.builder.close()


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    document = _Document(path)
    for number, line in enumerate(lines, start=1):
        yield from document.feed(number, line)
    yield from document.finish()


class _Document:
    """One document read line by line: what has been fed, parsed and given out so far."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.collector = _Collector()
        # A DTD is where entity bombs and external entities live; arXiv's responses have none.
        self.parser = DefusedXMLParser(target=self.collector, forbid_dtd=True)
        self.collector.expat = self.parser.parser
        self.first = self.last = 0  # non-blank lines
        self.size = 0
        self.recent: OrderedDict[int, str] = OrderedDict()
        self.pending: _Unit | None = None  # complete, waiting for the next unit to end it
        self.given = 0  # units given out
        self.failure: tuple[int, str] | None = None  # where reading stopped, and why

    def feed(self, number: int, line: str) -> Iterator[Sighting | RejectedChunk]:
        if line.strip():
            self.first, self.last = self.first or number, number
            self.recent[number] = line.strip()
            if len(self.recent) > _RECENT_LINES:
                self.recent.popitem(last=False)
        if self.failure:
            return  # the rest is only counted, for the failure's span
        self.size += len(line) + 1
        if self.size > MAX_BYTES:
            yield from self._fail(number, f"an XML document larger than {MAX_BYTES // 2**20} "
                                          f"MB: not read from line {number:,} on")
            return
        try:
            self.parser.feed(line + "\n")
        except (ParseError, DefusedXmlException, _Refused, UnicodeError) as exc:
            yield from self._fail(*_failure(exc, self._line_now(number)))
            return
        yield from self._take()

    def finish(self) -> Iterator[Sighting | RejectedChunk]:
        if not self.first:
            return  # blank: nothing to read, nothing to account for
        if not self.failure:
            try:
                self.parser.close()
            except (ParseError, DefusedXmlException, _Refused, UnicodeError) as exc:
                yield from self._fail(*_failure(exc, self.last))
        if self.failure:
            line, reason = self.failure
            cut = min(line, self.last) if self.given else self.first
            yield self._chunk(cut, self.last, reason)
            return
        yield from self._take()
        if self.pending is not None:
            yield from self._give(self.pending, self.last)
        elif not self.given:
            yield self._chunk(self.first, self.last, _no_units(self.collector.root))

    def _take(self) -> Iterator[Sighting | RejectedChunk]:
        """Give out each complete unit whose end is known: the next unit has begun."""
        closed, self.collector.closed = self.collector.closed, []
        units = [self.pending, *closed] if self.pending else closed
        self.pending = None
        for unit, following in zip(units, units[1:], strict=False):
            yield from self._give(unit, following.line - 1)
        if units:
            opened = self.collector.opened
            if opened is not None:
                yield from self._give(units[-1], opened.line - 1)
            else:
                self.pending = units[-1]

    def _fail(self, line: int, reason: str) -> Iterator[Sighting | RejectedChunk]:
        """Stop reading: the records complete before the unit being read are given out, and
        the rest of the document becomes one chunk (at `finish`, once its last line is known)."""
        opened = self.collector.opened
        cut = opened.line if opened is not None else line
        self.collector.opened = None
        yield from self._take()
        if self.pending is not None:
            yield from self._give(self.pending, cut - 1)
            self.pending = None
        self.failure = (max(cut, self.first), reason)

    def _give(self, unit: _Unit, end: int) -> Iterator[Sighting | RejectedChunk]:
        if not self.given and unit.line > self.first:
            yield self._chunk(self.first, unit.line - 1, _header(self.collector.root))
        self.given += 1
        end = max(end, unit.line)
        source = Source(file=self.path, line=unit.line, layout=Layout.ARXIV_XML)
        yield _read_unit(unit.element, source, end, self.recent.get(unit.line, ""))
        unit.element.clear()  # read: its elements are not needed again

    def _chunk(self, line: int, end: int, reason: str) -> RejectedChunk:
        return RejectedChunk(file=self.path, line=line, lines=max(1, end - line + 1),
                             text=self.recent.get(line, ""), reason=reason)

    def _line_now(self, number: int) -> int:
        """The line the parser stopped at (a handler's exception leaves expat's position at
        the tag that raised it)."""
        return min(max(self.parser.parser.CurrentLineNumber, self.first or 1), number)


def _failure(exc: Exception, line: int) -> tuple[int, str]:
    """Where a document stops being readable, and why, in words."""
    if isinstance(exc, ParseError):
        line, column = exc.position
        if exc.code == expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS]:
            return line, "the XML ends before its root element is closed: cut short?"
        return line, (f"not well-formed XML at line {line:,}, column {column + 1} "
                      f"({expat.ErrorString(exc.code)}): not read from there on")
    if isinstance(exc, DTDForbidden):
        return line, (f"a DTD (document type declaration) at line {line:,}: refused unread, as "
                      "XML entity bombs and external entities come in one, and arXiv's "
                      "responses have none")
    if isinstance(exc, DefusedXmlException):
        return line, "an XML entity declaration or reference: refused unread, never expanded"
    if isinstance(exc, UnicodeError):
        return line, "text that cannot be XML (an unpaired surrogate): not read from here on"
    return line, str(exc)


def _header(root: Element | None) -> str:
    """What the lines before the first record hold: the response's own header."""
    if root is None or _local(root.tag) != "feed":
        return "the OAI-PMH response's header (its date and request): no paper in it"
    total, start, per_page = (_number(_text(root, name)) for name in
                              ("totalResults", "startIndex", "itemsPerPage"))
    said = "the feed's header (its query and result counts): no paper in it"
    if total is not None and start is not None and per_page and total > start + per_page:
        said += (f"; the query matched {total:,} papers, and this page holds those from "
                 f"{start + 1:,} to {start + per_page:,}: the rest are not in this file")
    return said


def _no_units(root: Element | None) -> str:
    if root is None:
        return "no XML element in it"
    if _local(root.tag) == "feed":
        if _number(_text(root, "totalResults")) == 0:
            return "an arXiv API feed with no entries: the query matched nothing"
        return "an Atom feed with no entries"
    request = _child(root, "request")
    verb = request.get("verb") if request is not None else None
    if verb in (None, "ListRecords", "GetRecord"):
        return "an OAI-PMH response with no records in it"
    return (f"an OAI-PMH {short(verb)} response: no records (only ListRecords and GetRecord "
            "responses hold them)")


@dataclass
class _Paper:
    """What one entry or record says of its paper, in a sighting's terms, as it is written."""

    title: str | None = None
    abstract: str | None = None
    arxiv_id: str | None = None
    authors: list[str] = field(default_factory=list)
    authors_truncated: bool = False  # the list ends in "et al."
    organisations: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    date: str | None = None  # the first version's, as written
    comment: str | None = None
    venue: str | None = None
    doi: str | None = None
    url: str | None = None


def _read_unit(element: Element, source: Source, end: int,
               excerpt: str) -> Sighting | RejectedChunk:
    kind = _local(element.tag)
    found = (_entry(element) if kind == "entry" else _record(element) if kind == "record"
             else _oai_error(element) if kind == "error" else _token(element))
    if isinstance(found, _Paper) and not found.title and not found.abstract:
        found = "no title and no abstract"
    if isinstance(found, str):
        return RejectedChunk(file=source.file, line=source.line, lines=end - source.line + 1,
                             text=_label(element) or excerpt, reason=found)
    return _sighting(found, source, end)


def _sighting(paper: _Paper, source: Source, end: int) -> Sighting:
    sighting = Sighting(source=source, abstract=paper.abstract or "", last_line=end,
                        title=paper.title, authors=paper.authors,
                        authors_truncated=paper.authors_truncated,
                        organisations=list(dict.fromkeys(paper.organisations)),
                        categories=list(dict.fromkeys(paper.categories)),
                        keywords=paper.keywords, arxiv_id=paper.arxiv_id,
                        doi=normalise_doi(paper.doi), venue=paper.venue, comment=paper.comment)
    sighting.url = paper.url or (f"https://arxiv.org/abs/{paper.arxiv_id}"
                                 if paper.arxiv_id else None)
    sighting.has_code = bool(_CODE_URL.search(f"{paper.comment or ''} {sighting.abstract}"))
    if paper.date:
        date = parse_date(paper.date)
        why = "not a readable date" if date is None else implausible_date(date)
        if why is None:
            sighting.date = date
        else:
            sighting.doubts.append(f"date {short(paper.date)!r} ignored: {why}")
    return sighting


def _entry(entry: Element) -> _Paper | str:
    """An entry of the arXiv API's Atom feed."""
    raw_id = _text(entry, "id")
    if raw_id and _API_ERROR in raw_id:
        return f"the arXiv API answered with an error: {_text(entry, 'summary') or raw_id}"
    paper = _Paper(title=_tex(_text(entry, "title")), abstract=_text(entry, "summary"),
                   arxiv_id=_arxiv_id(raw_id), date=_text(entry, "published"),
                   comment=_text(entry, "comment"), venue=_text(entry, "journal_ref"),
                   doi=_first_doi(_text(entry, "doi")))
    for author in _children(entry, "author"):
        if name := _tex(_text(author, "name")):
            paper.authors.append(name)
        paper.organisations.extend(_texts(author, "affiliation"))
    primary = _child(entry, "primary_category")
    terms = [primary] if primary is not None else []
    paper.categories = [term for element in [*terms, *_children(entry, "category")]
                        if (term := clean_text(element.get("term", "")))]
    alternate = [link.get("href") for link in _children(entry, "link")
                 if link.get("rel") == "alternate" and link.get("href")]
    paper.url = alternate[0] if alternate else None
    return paper


def _record(record: Element) -> _Paper | str:
    """An OAI-PMH record: its header, and its metadata in one of the formats read."""
    header = _child(record, "header")
    identifier = _text(header, "identifier") if header is not None else None
    if header is not None and header.get("status") == "deleted":
        return (f"deleted at the source: {short(identifier or 'a record')} has only a header "
                "saying status=\"deleted\"")
    metadata = _child(record, "metadata")
    content = next(iter(metadata), None) if metadata is not None else None
    if content is None:
        return "an OAI-PMH record with no metadata"
    reader = _FORMATS.get(_local(content.tag))
    if reader is None:
        return (f"metadata in the {short(_local(content.tag))!r} format: only arXiv, arXivRaw "
                "and oai_dc are read")
    paper = reader(content)
    paper.arxiv_id = paper.arxiv_id or _arxiv_id(identifier)
    return paper


def _arxiv_format(content: Element) -> _Paper:
    """`metadataPrefix=arXiv`: authors in parts, `created` the first version's date."""
    paper = _Paper(title=_tex(_text(content, "title")), abstract=_text(content, "abstract"),
                   arxiv_id=_arxiv_id(_text(content, "id")), date=_text(content, "created"),
                   categories=(_text(content, "categories") or "").split(),
                   comment=_text(content, "comments"), venue=_text(content, "journal-ref"),
                   doi=_first_doi(_text(content, "doi")))
    for authors in _children(content, "authors"):
        for author in _children(authors, "author"):
            parts = [_text(author, part) for part in ("forenames", "keyname", "suffix")]
            if name := _tex(" ".join(part for part in parts if part)):
                paper.authors.append(name)
            paper.organisations.extend(_texts(author, "affiliation"))
    return paper


def _arxiv_raw(content: Element) -> _Paper:
    """`metadataPrefix=arXivRaw`: authors as one string, a date for each version."""
    paper = _Paper(title=_tex(_text(content, "title")), abstract=_text(content, "abstract"),
                   arxiv_id=_arxiv_id(_text(content, "id")), date=_first_version(content),
                   categories=(_text(content, "categories") or "").split(),
                   comment=_text(content, "comments"), venue=_text(content, "journal-ref"),
                   doi=_first_doi(_text(content, "doi")))
    if authors := _tex(_text(content, "authors")):
        parsed = parse_author_field(authors)
        paper.authors, paper.authors_truncated = parsed.authors, parsed.truncated
    return paper


def _first_version(content: Element) -> str | None:
    """The date of the lowest-numbered version (they are not always listed in order)."""
    dated = []
    for version in _children(content, "version"):
        number = _VERSION.match(version.get("version", ""))
        if number and (date := _text(version, "date")):
            dated.append((int(number.group(1)), date))
    return min(dated)[1] if dated else None


def _dublin_core(content: Element) -> _Paper:
    """`metadataPrefix=oai_dc`: creators "Last, First", the comment as a second description,
    a date for each version, the abs page and the DOI among the identifiers."""
    descriptions = _texts(content, "description")
    comments = [_COMMENT_PREFIX.sub("", d) for d in descriptions if _COMMENT_PREFIX.match(d)]
    abstracts = [d for d in descriptions if not _COMMENT_PREFIX.match(d)]
    dates = sorted(_texts(content, "date"))
    paper = _Paper(title=_tex(_text(content, "title")),
                   abstract=abstracts[0] if abstracts else None,
                   comment=comments[0] if comments else None, date=dates[0] if dates else None,
                   keywords=_texts(content, "subject"))
    for creator in _texts(content, "creator"):
        family, _, given = creator.partition(",")
        if name := _tex(f"{given} {family}"):
            paper.authors.append(name)
    for identifier in _texts(content, "identifier"):
        if _ABS_URL.match(identifier):
            paper.arxiv_id = paper.arxiv_id or _arxiv_id(identifier)
            paper.url = paper.url or identifier
        elif doi := normalise_doi(identifier):
            paper.doi = paper.doi or doi
    return paper


_FORMATS: dict[str, Callable[[Element], _Paper]] = {
    "arXiv": _arxiv_format, "arXivRaw": _arxiv_raw, "dc": _dublin_core}


def _oai_error(element: Element) -> str:
    code = element.get("code") or "an unnamed error"
    message = clean_text("".join(element.itertext()))
    said = f"{short(code)}: {short(message, 200)}" if message else short(code)
    if code == "noRecordsMatch":
        return f"the OAI-PMH server found no records matching the request ({said})"
    return f"the OAI-PMH server answered with an error instead of records ({said})"


def _token(element: Element) -> str:
    token = clean_text(element.text or "")
    size = _number(element.get("completeListSize"))
    total = f"; {size:,} records in the whole list" if size is not None else ""
    return (f"more records follow in another response (resumptionToken {short(token)!r}"
            f"{total}): this file holds one page of the harvest")


def _label(element: Element) -> str | None:
    """What names a unit in a report: an entry's id, a record's identifier, an error's text."""
    header = _child(element, "header")
    return (_text(element, "id") or (_text(header, "identifier") if header is not None
                                     else None) or clean_text("".join(element.itertext())))


def _arxiv_id(raw: str | None) -> str | None:
    """From `http://arxiv.org/abs/2403.05530v2`, `oai:arXiv.org:2403.05530` or a bare id."""
    if not raw:
        return None
    return normalise_arxiv_id(_OAI_IDENTIFIER.sub("", _ABS_URL.sub("", raw)))


def _first_doi(raw: str | None) -> str | None:
    """The paper's own DOI where arXiv lists more (an erratum's after it)."""
    return next((doi for doi in _DOI_SEPARATOR.split(raw or "") if doi), None)


def _tex(raw: str | None) -> str | None:
    """A title or name as arXiv keeps it, TeX accents and all (`Bal\\'azs`), in Unicode; math
    is left as written."""
    return clean_text(decode_tex(raw)) or None if raw else None


def _local(tag: str) -> str:
    """`{http://www.w3.org/2005/Atom}entry` -> `entry`: arXiv's formats are told apart by
    their elements' names, and a namespace left off (as some harvesters save them) is no
    reason to refuse a record."""
    return tag.rpartition("}")[2]


def _children(element: Element, name: str) -> Iterator[Element]:
    return (child for child in element if _local(child.tag) == name)


def _child(element: Element, name: str) -> Element | None:
    return next(_children(element, name), None)


def _text(element: Element, name: str) -> str | None:
    """The cleaned text of the first child of that name; None when there is none or it is
    empty."""
    child = _child(element, name)
    return clean_text("".join(child.itertext())) or None if child is not None else None


def _texts(element: Element, name: str) -> list[str]:
    return [text for child in _children(element, name)
            if (text := clean_text("".join(child.itertext())))]


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def sniff(sample: Sequence[str]) -> bool:
    """The first lines open an OAI-PMH response, or an Atom feed (its namespace or arxiv.org
    named after `<feed`)."""
    if not sample[0].startswith("<"):
        return False
    opening = " ".join(sample[:10])
    if "<OAI-PMH" in opening:
        return True
    feed = opening.find("<feed")
    return feed >= 0 and (_ATOM_NAMESPACE in opening[feed:] or "arxiv.org" in opening[feed:])


READER = Reader(layout=Layout.ARXIV_XML, sniff=sniff, read=read, named="arXiv XML",
                described="arXiv API search results (Atom) and OAI-PMH harvests (arXiv, "
                          "arXivRaw, oai_dc)",
                suffixes=(".xml", ".atom"),
                example="`<feed xmlns=\"http://www.w3.org/2005/Atom\">` / `<entry>` / "
                        "`<id>http://arxiv.org/abs/2403.05530v2</id>` / `<title>`, `<summary>`, "
                        "`<author><name>`, `<published>`, `<arxiv:doi>`; or an OAI-PMH "
                        "`<ListRecords>` of `<record>`s in the arXiv, arXivRaw or oai_dc format")
