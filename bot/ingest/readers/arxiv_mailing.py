"""arXiv's daily mailing: the e-mail ("cs daily Subj-class mailing") sent to subscribers,
saved as text or as the .eml a mail program keeps.

    \\\\
    arXiv:2303.08968                                     (*cross-listing*) after a cross-list
    Date: Wed, 15 Mar 2023 22:37:33 GMT   (1742kb,D)     or: replaced with revised version ...

    Title: A parsimonious neural network approach to solve portfolio optimization
      problems without using dynamic programming         a value goes on, indented
    Authors: Pieter M. van Staden and Peter A. Forsyth and Yuying Li
    Categories: q-fin.CP
    Comments: 16 pages, 5 figures                       Journal-ref:, DOI:, MSC-class: ...
    \\\\
      We present a parsimonious neural network approach, ...
    \\\\ ( https://arxiv.org/abs/2303.08968 ,  1742kb)

A record opens at a `\\\\` line followed by its `arXiv:` line and closes at its
`\\\\ ( https://arxiv.org/abs/... )` line. Rule lines of dashes and percent signs separate the
records and mark the sections (new submissions, cross-lists, replacements); each belongs to
the record or text before it. Replacements carry no abstract: each is read as a record
without one, undated (the date it gives is the revision's, not the paper's). The mailing's
heading (the e-mail's headers, the subscription notes) and its closing notes are rejected
chunks, not papers, and so is any other text between records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from bot.ingest.readers.arxiv_fields import ID_START, apply_fields, read_date, read_fields, read_id
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting, clean_text
from bot.records import Layout, RejectedChunk, Source

_BACKSLASHES = "\\\\"
_CLOSING = re.compile(r"^\\\\\s*\(\s*https?://\S*arxiv\.org/abs/", re.IGNORECASE)
_RULE = re.compile(r"^[-%]{20,}$")  # ------, %-%-%-, %%--%%--, %%%---%%%---
_END_RULE = re.compile(r"^(?:%%%---){4,}")  # the records end; closing notes follow
_REPLACED = re.compile(r"^replaced with revised version\b", re.IGNORECASE)
_SUBJ_CLASS = re.compile(r"\bSubj-class mailing\b", re.IGNORECASE)
HEADING = "the mailing's heading (e-mail headers, subscription notes), not a paper"
CLOSING_NOTES = "the mailing's closing notes, not a paper"
BETWEEN = "text between two mailing records, not a paper"
NEITHER = "no title and no abstract"
NOT_CLOSED = "record not closed by its '\\\\ ( https://arxiv.org/abs/... )' line"

Numbered = list[tuple[int, str]]  # (1-based line, the line as written)


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    numbered = [(n, line.rstrip("\r\n")) for n, line in enumerate(lines, start=1)
                if line.strip()]
    starts = [i for i in range(len(numbered)) if _opens_record(numbered, i)]
    if not starts:
        if numbered:
            yield _chunk(numbered, path, HEADING)
        return
    if starts[0]:
        yield _chunk(numbered[:starts[0]], path, HEADING)
    for start, end in zip(starts, [*starts[1:], len(numbered)], strict=True):
        yield from _segment(numbered[start:end], path)


def _opens_record(numbered: Numbered, i: int) -> bool:
    return (numbered[i][1].strip() == _BACKSLASHES and i + 1 < len(numbered)
            and ID_START.match(numbered[i + 1][1]) is not None)


def _segment(segment: Numbered, path: str) -> Iterator[Sighting | RejectedChunk]:
    """A record, the rule lines after it, and any text after those: other text up to the next
    record, or the closing notes after the end rule."""
    closing = next((i for i, (_, line) in enumerate(segment) if _CLOSING.match(line.strip())),
                   None)
    ends = closing + 1 if closing is not None else _body_end(segment)
    notes = False
    while ends < len(segment) and not notes and _RULE.match(segment[ends][1].strip()):
        notes = bool(_END_RULE.match(segment[ends][1].strip()))
        ends += 1
    yield _record(segment[:ends], closing is not None, path)
    if ends < len(segment):
        yield _chunk(segment[ends:], path, CLOSING_NOTES if notes else BETWEEN)


def _body_end(segment: Numbered) -> int:
    """Where a record that lost its closing line ends: at the first rule line."""
    return next((i for i, (_, line) in enumerate(segment) if i > 1
                 and _RULE.match(line.strip())), len(segment))


def _record(lines: Numbered, closed: bool, path: str) -> Sighting | RejectedChunk:
    id_line = ID_START.match(lines[1][1])
    header, abstract = _split_body(lines[2:])
    fields = read_fields(header)
    sighting = Sighting(source=Source(file=path, line=lines[0][0], layout=Layout.ARXIV_MAILING),
                        abstract=clean_text(" ".join(line for _, line in abstract)),
                        last_line=lines[-1][0])
    apply_fields(fields, sighting)
    if not sighting.title and not sighting.abstract:
        return _chunk(lines, path, NEITHER)
    read_id(id_line["id"], sighting)
    replaced = any(_REPLACED.match(line.strip()) for _, line in header)
    date = next((field.value for field in fields if field.key == "date"), None)
    if date is not None and not replaced:
        read_date(date, sighting)
    if not closed:
        sighting.doubts.append(NOT_CLOSED)
    return sighting


def _split_body(lines: Numbered) -> tuple[Numbered, Numbered]:
    """The header lines (Date:, Title:, ...) and the abstract's, which a `\\\\` line sets
    apart; the closing line and the rule lines after it are neither."""
    body = [(n, line) for n, line in lines
            if not _CLOSING.match(line.strip()) and not _RULE.match(line.strip())]
    at = next((i for i, (_, line) in enumerate(body) if line.strip() == _BACKSLASHES), None)
    if at is None:
        return body, []
    return body[:at], body[at + 1:]


def _chunk(lines: Numbered, path: str, reason: str) -> RejectedChunk:
    first, last = lines[0][0], lines[-1][0]
    return RejectedChunk(file=path, line=first, lines=last - first + 1, reason=reason,
                         text=clean_text(lines[0][1]))


def sniff(sample: Sequence[str]) -> bool:
    """A `\\\\` line with an `arXiv:` line right after it, or the mailing's subject line (an
    .eml's headers may fill the sample before the first record)."""
    return any(line == _BACKSLASHES and ID_START.match(following)
               for line, following in zip(sample, sample[1:], strict=False)) \
        or any(_SUBJ_CLASS.search(line) for line in sample)


READER = Reader(layout=Layout.ARXIV_MAILING, sniff=sniff, read=read, named="an arXiv mailing",
                described="arXiv's daily e-mail mailings", suffixes=(".txt", ".eml"),
                example="`\\\\` / `arXiv:2403.05530` / `Date: Fri, 8 Mar 2024 12:00:00 GMT` / "
                        "`Title: …` / `Authors: …` / `Categories: cs.CL` / `\\\\` / the abstract "
                        "/ `\\\\ ( https://arxiv.org/abs/2403.05530 ,  123kb)`")
