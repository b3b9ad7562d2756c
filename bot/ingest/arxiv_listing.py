"""An arXiv-style listing: blank-line separated paragraphs, each paper closed by its id.

    Gemini 1.5: Unlocking multimodal understanding ...     optional title line
    Machel Reid, Nikolay Savinov, ...                      optional author line

    In this report, we present ...                          the abstract

    Published at ICLR 2021                                  optional comment(s)

    arXiv:2403.05530                                        closes the record
    Created: 2024-03-08
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.ingest.names import is_author_list, parse_author_field
from bot.ingest.sighting import Sighting, clean_text, normalise_arxiv_id
from bot.records import Layout, RejectedChunk, Source

ID_LINE = re.compile(r"^arXiv:\s*(?P<id>\S+)\s*$", re.IGNORECASE)
CREATED_LINE = re.compile(r"^Created:\s*(?P<date>\d{4}-\d{2}-\d{2})\s*$", re.IGNORECASE)
# What paper comments say about themselves; an abstract that mentions a venue is longer.
_COMMENT_WORDS = re.compile(
    r"\b(pages?|figures?|tables?|appendi(x|ces)|published|accepted|to appear|submitted|"
    r"pre-?print|tech(nical)? report|workshop|conference|proceedings|camera[- ]ready|"
    r"extended version|journal|ICLR|NeurIPS|NIPS|ICML|CVPR|ICCV|ECCV|ACL|EMNLP|NAACL|AAAI|"
    r"IJCAI|AISTATS|CoRL|UAI|COLT|KDD|SIGIR|TMLR|JMLR)\b|https?://",
    re.IGNORECASE,
)
MAX_COMMENT_CHARS = 400


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


def is_comment(text: str) -> bool:
    return len(text) <= MAX_COMMENT_CHARS and bool(_COMMENT_WORDS.search(text))


def is_header(paragraph: _Paragraph) -> bool:
    """Title and/or author lines: every line after the first is an author list."""
    if len(paragraph.lines) == 1:
        return is_author_list(paragraph.lines[0])
    return all(is_author_list(line) for line in paragraph.lines[1:])


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    pending: list[_Paragraph] = []
    last_line = 0  # of the last paragraph read, skipped or not
    for paragraph in _paragraphs(lines):
        last_line = paragraph.last_line
        ids = [m for m in map(ID_LINE.match, paragraph.lines) if m]
        if not ids:
            if pending and all(CREATED_LINE.match(x) for x in paragraph.lines):
                continue  # a `Created:` line set apart from its id by a blank line
            pending.append(paragraph)
            continue
        yield _record(pending, paragraph, ids[0]["id"], path)
        pending = []
    if pending:
        yield RejectedChunk(file=path, line=pending[0].line, text=pending[0].text[:200],
                            lines=last_line - pending[0].line + 1,
                            reason="text after the last record with no 'arXiv:ID' line to close it")


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


def _record(
    paragraphs: list[_Paragraph], id_paragraph: _Paragraph, raw_id: str, path: str
) -> Sighting | RejectedChunk:
    start = paragraphs[0].line if paragraphs else id_paragraph.line
    lines = id_paragraph.last_line - start + 1
    if not paragraphs:
        return RejectedChunk(file=path, line=start, text=id_paragraph.text[:200], lines=lines,
                             reason="arXiv id with no abstract before it")
    prose = [p for p in paragraphs if not is_comment(p.text) and not is_header(p)]
    if not prose:
        return RejectedChunk(file=path, line=start, text=paragraphs[0].text[:200], lines=lines,
                             reason="no abstract: the block holds only comment lines")
    abstract = max(prose, key=lambda p: len(p.text))
    at = paragraphs.index(abstract)
    sighting = Sighting(
        source=Source(file=path, line=start, layout=Layout.ARXIV_LISTING),
        abstract=clean_text(abstract.text),
        arxiv_id=normalise_arxiv_id(raw_id),
        last_line=id_paragraph.last_line,
    )
    if sighting.arxiv_id is None:
        sighting.doubts.append(f"{raw_id!r} is not an arXiv id")
    for line in id_paragraph.lines:
        if created := CREATED_LINE.match(line):
            try:
                sighting.date = dt.date.fromisoformat(created["date"])
            except ValueError:
                sighting.doubts.append(f"unreadable date {created['date']!r}")
    _read_header([line for p in paragraphs[:at] for line in p.lines], sighting)
    comments = [clean_text(p.text) for p in paragraphs[at + 1 :]]
    sighting.comment = "; ".join(comments) or None
    return sighting


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
