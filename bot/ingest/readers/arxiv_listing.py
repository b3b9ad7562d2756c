"""An arXiv-style listing: blank-line separated paragraphs, each paper closed by its id.

    Gemini 1.5: Unlocking multimodal understanding ...     optional title line
    Machel Reid, Nikolay Savinov, ...                      optional author line

    In this report, we present ...                          the abstract

    Published at ICLR 2021                                  optional comment(s)

    arXiv:2403.05530                                        closes the record
    Created: 2024-03-08                                     or 8 Mar 2024, Fri, 8 Mar 2024 ...

A paragraph is a title only when it looks like one: one short line followed by author lines
(in its paragraph or the next). Every other paragraph that is neither authors nor a comment
is an abstract, and a block between two ids holds one: when a record lost its `arXiv:` line,
the block holds several, and each but the last (the one the id closes) is rejected as an
abstract with no id after it, with its title and comments; never glued onto its neighbour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.ingest.names import is_author_list, parse_author_field
from bot.ingest.readers.arxiv_fields import read_date
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting, clean_text, normalise_arxiv_id
from bot.records import Layout, RejectedChunk, Source

ID_LINE = re.compile(r"^arXiv:\s*(?P<id>\S+)\s*$", re.IGNORECASE)
CREATED_LINE = re.compile(r"^Created:\s*(?P<date>.*?)\s*$", re.IGNORECASE)
# What paper comments say about themselves; an abstract that mentions a venue is longer.
_COMMENT_WORDS = re.compile(
    r"\b(pages?|figures?|tables?|appendi(x|ces)|published|accepted|to appear|submitted|"
    r"pre-?print|tech(nical)? report|workshop|conference|proceedings|camera[- ]ready|"
    r"extended version|journal|ICLR|NeurIPS|NIPS|ICML|CVPR|ICCV|ECCV|ACL|EMNLP|NAACL|AAAI|"
    r"IJCAI|AISTATS|CoRL|UAI|COLT|KDD|SIGIR|TMLR|JMLR)\b|https?://",
    re.IGNORECASE,
)
MAX_COMMENT_CHARS = 400
MAX_TITLE_CHARS = 300  # above arXiv's longest titles
ORPHAN_ABSTRACT = "abstract with no 'arXiv:ID' line after it"
ORPHAN_LINE = "a short line, neither a title (no author line after it) nor an abstract with an " \
              "'arXiv:ID' line after it"
ORPHAN_HEADER = "title or author lines with no abstract after them"


@dataclass
class _Paragraph:
    line: int
    lines: list[str]

    @property
    def last_line(self) -> int:
        return self.line + len(self.lines) - 1  # a paragraph's lines are consecutive

    @property
    def text(self) -> str:
        return " ".join(self.lines)


Kind = Literal["header", "comment", "created", "abstract"]


def is_comment(text: str) -> bool:
    return len(text) <= MAX_COMMENT_CHARS and bool(_COMMENT_WORDS.search(text))


def _is_authors(paragraph: _Paragraph) -> bool:
    return all(is_author_list(line) for line in paragraph.lines)


def is_header(paragraph: _Paragraph, following: _Paragraph | None = None) -> bool:
    """Author lines, or a title (one short line) followed by author lines in the paragraph
    or, for a title on its own, in the `following` one."""
    first, rest = paragraph.lines[0], paragraph.lines[1:]
    if not rest and is_author_list(first):
        return True
    if len(first) > MAX_TITLE_CHARS:
        return False
    if rest:
        return all(is_author_list(line) for line in rest)
    return following is not None and _is_authors(following)


def _kinds(paragraphs: list[_Paragraph]) -> list[Kind]:
    kinds: list[Kind] = []
    for i, paragraph in enumerate(paragraphs):
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else None
        if all(CREATED_LINE.match(line) for line in paragraph.lines):
            kinds.append("created")  # a `Created:` line set apart from its id
        elif len(paragraph.lines) > 1 and is_header(paragraph):
            kinds.append("header")
        elif is_comment(paragraph.text):  # before a one-line header: "Pre-print" reads as a name
            kinds.append("comment")
        elif is_header(paragraph, following):
            kinds.append("header")
        else:
            kinds.append("abstract")
    return kinds


def _segments(kinds: list[Kind]) -> list[tuple[int, int]]:
    """[start, end) of each abstract with its title before it and comments after it; what
    precedes the first abstract joins its segment. Empty when no paragraph is an abstract."""
    starts = []
    for i, kind in enumerate(kinds):
        if kind == "abstract":
            start = i
            while start > 0 and kinds[start - 1] == "header":
                start -= 1
            starts.append(start)
    if not starts:
        return []
    starts[0] = 0
    return list(zip(starts, [*starts[1:], len(kinds)], strict=True))


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    pending: list[_Paragraph] = []
    for paragraph in _paragraphs(lines):
        at = next((i for i, line in enumerate(paragraph.lines) if ID_LINE.match(line)), None)
        if at is None:
            pending.append(paragraph)
            continue
        if at:  # text right above the id line, with no blank line between
            pending.append(_Paragraph(paragraph.line, paragraph.lines[:at]))
            paragraph = _Paragraph(paragraph.line + at, paragraph.lines[at:])
        yield from _block(pending, paragraph, ID_LINE.match(paragraph.lines[0])["id"], path)
        pending = []
    if pending:
        kinds = _kinds(pending)
        segments = _segments(kinds)
        if not segments:
            yield _chunk(pending, path, "text after the last record with no 'arXiv:ID' line to "
                                        "close it")
        for start, end in segments:
            yield _orphan(pending[start:end], kinds[start:end], path)


def _paragraphs(lines: Iterable[str]) -> Iterator[_Paragraph]:
    current: _Paragraph | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            if current:
                yield current
            current = None
        elif current is None:
            current = _Paragraph(number, [line])
        else:
            current.lines.append(line)
    if current:
        yield current


def _chunk(paragraphs: list[_Paragraph], path: str, reason: str,
           text: str | None = None) -> RejectedChunk:
    first, last = paragraphs[0].line, paragraphs[-1].last_line
    return RejectedChunk(file=path, line=first, lines=last - first + 1, reason=reason,
                         text=paragraphs[0].text if text is None else text)


def _orphan(paragraphs: list[_Paragraph], kinds: list[Kind], path: str) -> RejectedChunk:
    abstract = paragraphs[kinds.index("abstract")]
    short_line = len(abstract.lines) == 1 and len(abstract.text) <= MAX_TITLE_CHARS
    return _chunk(paragraphs, path, ORPHAN_LINE if short_line else ORPHAN_ABSTRACT,
                  abstract.text)


def _block(paragraphs: list[_Paragraph], id_paragraph: _Paragraph, raw_id: str, path: str
           ) -> Iterator[Sighting | RejectedChunk]:
    """The paragraphs an id closes: its record, and the abstracts of records that lost
    their own id line, each rejected on its own."""
    if not paragraphs:
        yield _chunk([id_paragraph], path, "arXiv id with no abstract before it")
        return
    kinds = _kinds(paragraphs)
    segments = _segments(kinds)
    if not segments:
        yield _chunk([*paragraphs, id_paragraph], path,
                     "no abstract: the block holds only comment lines")
        return
    for start, end in segments[:-1]:
        yield _orphan(paragraphs[start:end], kinds[start:end], path)
    start, _ = segments[-1]
    yield from _record(paragraphs[start:], kinds[start:], id_paragraph, raw_id, path)


def _record(paragraphs: list[_Paragraph], kinds: list[Kind], id_paragraph: _Paragraph,
            raw_id: str, path: str) -> Iterator[Sighting | RejectedChunk]:
    at = kinds.index("abstract")  # a segment holds one
    header_start = at
    while header_start > 0 and kinds[header_start - 1] == "header":
        header_start -= 1
    sighting = Sighting(
        source=Source(file=path, line=paragraphs[0].line, layout=Layout.ARXIV_LISTING),
        abstract=clean_text(paragraphs[at].text),
        arxiv_id=normalise_arxiv_id(raw_id),
        last_line=id_paragraph.last_line,
    )
    if sighting.arxiv_id is None:
        sighting.doubts.append(f"{raw_id!r} is not an arXiv id")
    _read_created(id_paragraph, sighting)
    _read_header([line for p in paragraphs[header_start:at] for line in p.lines], sighting)
    after = kinds[at + 1:]
    cut = at + 1 + after.index("header") if "header" in after else len(paragraphs)
    # Comments before the title (a block's stray lines) and after the abstract are its own.
    comments = [clean_text(p.text) for i, (p, kind) in enumerate(zip(paragraphs, kinds,
                                                                      strict=True))
                if kind == "comment" and (i < header_start or at < i < cut)]
    sighting.comment = "; ".join(comments) or None
    yield sighting
    if cut < len(paragraphs):  # a title with no abstract: the paper after it lost both
        yield _chunk(paragraphs[cut:], path, ORPHAN_HEADER)


def _read_created(id_paragraph: _Paragraph, sighting: Sighting) -> None:
    """`Created: 2024-03-08`, or in arXiv's other forms (`8 Mar 2024`); a date that cannot be
    read is warned of, never dropped silently."""
    for line in id_paragraph.lines:
        if created := CREATED_LINE.match(line):
            read_date(created["date"], sighting)


def _read_header(lines: list[str], sighting: Sighting) -> None:
    """Title and author lines before the abstract (only the first block of a file has them)."""
    if not lines:
        return
    if len(lines) == 1 and is_author_list(lines[0]):
        title, author_lines = None, lines
    else:
        title, author_lines = lines[0], lines[1:]
    sighting.title = clean_text(title) if title else None
    if author_lines:
        authors = parse_author_field(" ".join(author_lines))
        sighting.authors = authors.authors
        sighting.authors_truncated = authors.truncated
        sighting.organisations = authors.organisations
        if len(author_lines) > 1:
            sighting.doubts.append("several lines between title and abstract read as authors")


def sniff(sample: Sequence[str]) -> bool:
    """Any `arXiv:ID` line: a listing's first record may run long before its id."""
    return any(ID_LINE.match(line) for line in sample)


READER = Reader(layout=Layout.ARXIV_LISTING, sniff=sniff, read=read, named="an arXiv listing",
                described="arXiv listings", suffixes=(".txt",),
                example="blank-line separated blocks: optional title and author lines, the "
                        "abstract, optional comments (`Published at ICLR 2021`), `arXiv:ID`, "
                        "`Created: 2024-03-08`")
