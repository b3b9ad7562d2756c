"""arXiv's web pages as a browser copies them: a /list page (new, recent, pastweek, a month)
and a page of search results.

A /list entry (https://arxiv.org/list/cs.LG/new):

    [1] arXiv:2403.05530 [pdf, html, other]              (cross-list from cs.LG), (replaced)
    Title: Gemini 1.5: Unlocking multimodal understanding across millions of tokens of context
    Machel Reid, Nikolay Savinov, ...                    or "Authors: ...", as pages once did
    Comments: 12 pages                                   Journal-ref:, optional
    Subjects: Computation and Language (cs.CL); Artificial Intelligence (cs.AI)
    In this report, we introduce ...                     the abstract: /new pages only

A search result (https://arxiv.org/search/?query=...):

    arXiv:2403.05530  [pdf, other]
    cs.CL cs.AI
    Gemini 1.5: Unlocking multimodal understanding across millions of tokens of context
    Authors: Machel Reid, Nikolay Savinov, ...
    Abstract: In this report, we … ▽ More              the short form, and the full one
    In this report, we introduce ... △ Less              when the page shows it
    Submitted 8 March, 2024; v1 submitted 8 March, 2024; originally announced March 2024.
    Comments: 12 pages

An entry runs from its id line to the next one. The page's own text (its headings such as
"New submissions (showing 50 of 50 entries )", paging, navigation) before the first entry,
between two, or after the last is a rejected chunk, not a paper. An entry with a title and no
abstract (a /recent page) is a record without one; the date is a search result's (the first
version's); a /list page shows none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from bot.ingest.names import is_author_list
from bot.ingest.readers.arxiv_fields import (
    ID_START,
    apply_fields,
    field_key,
    is_category_line,
    read_date,
    read_fields,
    read_id,
)
from bot.ingest.readers.reader import Reader
from bot.ingest.sighting import Sighting, clean_text, normalise_doi
from bot.records import Layout, RejectedChunk, Source

_LIST_ENTRY = re.compile(r"^\[\d+\]\s+(?P<id_line>arXiv:.*)$", re.IGNORECASE)
_LINKS = r"\[\s*(?:pdf|ps|html|other|src)\b[^\]]*\]"
_SEARCH_ENTRY = re.compile(rf"^arXiv:\s*\S+\s+{_LINKS}", re.IGNORECASE)
# Page text a browser copies along with the entries: section headings, paging, the footer.
_PAGE_TEXT = re.compile(
    r"^(?:(?:New|Cross|Replacement) submissions\b|.*\(showing (?:first |last )?[\d,]+ of "
    r"[\d,]+ entries\s*\)|Total of [\d,]+ entries|Showing (?:up to|new listings|[\d,]+)\b|"
    r"(?:fewer|more|all)(?: \| (?:fewer|more|all))*$|Next$|Previous$|About$|Help$|Contact$|"
    r"Subscribe$|Copyright$|Privacy Policy$|Web Accessibility Assistance$|"
    r"arXiv Operational Status\b)", re.IGNORECASE)
_SUBMITTED = re.compile(r"^Submitted\s+(?P<date>[^;]+)", re.IGNORECASE)
_FIRST_VERSION = re.compile(r"\bv1 submitted\s+(?P<date>[^;]+)", re.IGNORECASE)
_DOI_TAG = re.compile(r"^(?:doi\s*)?(?P<doi>10\.\d{4,9}/\S+)$|^doi$", re.IGNORECASE)
_MORE, _LESS = "▽ More", "△ Less"
BEFORE = "page text before the first entry (headings, navigation), not a paper"
AFTER = "page text after an entry (headings, paging, navigation), not a paper"
NEITHER = "no title and no abstract"
CUT_SHORT = "abstract shown cut short (the page's '▽ More' was not opened)"

Numbered = list[tuple[int, str]]  # (1-based line, the line as written); blank lines kept


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    numbered = [(n, line.rstrip("\r\n")) for n, line in enumerate(lines, start=1)]
    starts = [i for i, (_, line) in enumerate(numbered) if _entry_kind(line.strip())]
    head = numbered[:starts[0]] if starts else numbered
    if _text(head):
        yield _chunk(_text(head), path, BEFORE)
    for start, end in zip(starts, [*starts[1:], len(numbered)], strict=False):
        yield from _entry(numbered[start:end], path)


def _entry_kind(line: str) -> str | None:
    if _LIST_ENTRY.match(line):
        return "list"
    return "search" if _SEARCH_ENTRY.match(line) else None


def _entry(lines: Numbered, path: str) -> Iterator[Sighting | RejectedChunk]:
    """An entry's record, then the page text after it up to the next entry."""
    id_line = lines[0][1].strip()
    if _entry_kind(id_line) == "list":
        id_line = _LIST_ENTRY.match(id_line)["id_line"]
        sighting, used = _list_entry(lines[1:])
    else:
        sighting, used = _search_entry(lines[1:])
    kept = lines[:used + 1]
    sighting.source = Source(file=path, line=lines[0][0], layout=Layout.ARXIV_PAGE)
    sighting.last_line = _text(kept)[-1][0]
    if not sighting.title and not sighting.abstract:
        yield _chunk(_text(kept), path, NEITHER)
    else:
        read_id(ID_START.match(id_line)["id"], sighting)
        yield sighting
    if rest := _text(lines[used + 1:]):
        yield _chunk(rest, path, AFTER)


def _blank_sighting() -> Sighting:
    return Sighting(source=Source(file="-", line=1, layout=Layout.ARXIV_PAGE), abstract="")


def _list_entry(lines: Numbered) -> tuple[Sighting, int]:
    """A /list entry's fields up to `Subjects:`, then its abstract: the lines after it up to a
    blank line or the page's own text. Returns the record and how many lines it used."""
    field_lines: Numbered = []
    used, keys = 0, []
    for i, (number, raw) in enumerate(lines):
        line = raw.strip()
        if keys[-1:] == ["subjects"] or _PAGE_TEXT.match(line):
            break
        used = i + 1
        key = field_key(line)
        if key is None and keys[-1:] == ["title"] and "authors" not in keys \
                and is_author_list(line):
            line, key = f"Authors: {line}", "authors"  # no label on today's pages
        if key is not None:
            keys.append(key)
        if line:  # unindented: a browser copy drops the indentation of wrapped values
            field_lines.append((number, line))
    fields = read_fields(field_lines)
    sighting = _blank_sighting()
    apply_fields(fields, sighting)
    abstract = []
    for _, raw in lines[used:]:
        if _PAGE_TEXT.match(raw.strip()) or (abstract and not raw.strip()):
            break
        used += 1
        abstract.append(raw)
    sighting.abstract = clean_text(" ".join(abstract))
    return sighting, used


def _search_entry(lines: Numbered) -> tuple[Sighting, int]:
    """A search result: category codes (and a DOI tag), the title, then `Key:` fields and the
    `Submitted` line; any line after those that opens no field is the page's."""
    sighting = _blank_sighting()
    at = 0
    while at < len(lines) and _is_tag(lines[at][1].strip(), sighting):
        at += 1
    title = []
    while at < len(lines) and field_key(lines[at][1]) is None \
            and not _SUBMITTED.match(lines[at][1].strip()):
        title.append(lines[at][1])
        at += 1
    sighting.title = clean_text(" ".join(title)) or None
    used, last_key = at, None
    field_lines: Numbered = []
    for i in range(at, len(lines)):
        number, raw = lines[i]
        line = raw.strip()
        if submitted := _SUBMITTED.match(line):
            first = _FIRST_VERSION.search(line)
            read_date((first or submitted)["date"], sighting)
            last_key = "submitted"
        elif key := field_key(line):
            field_lines.append((number, raw))
            last_key = key
        elif last_key == "abstract" and line:  # the full abstract after the short one
            field_lines.append((number, raw))
        elif line:
            break
        used = i + 1
    fields = read_fields(field_lines)
    apply_fields(fields, sighting)
    _read_abstract(next((f.value for f in fields if f.key == "abstract"), ""), sighting)
    return sighting, used


def _is_tag(line: str, sighting: Sighting) -> bool:
    """A line of a result's tags, read onto the sighting: its category codes, or its DOI."""
    if not line:
        return True
    if is_category_line(line):
        sighting.categories += line.split()
        return True
    if doi := _DOI_TAG.match(line):
        sighting.doi = normalise_doi(doi["doi"]) or sighting.doi
        return True
    return False


def _read_abstract(text: str, sighting: Sighting) -> None:
    """The full abstract when the page shows it after the short one, else the short one."""
    short, more, full = text.partition(_MORE)
    full = clean_text(full.replace(_LESS, ""))
    sighting.abstract = full or clean_text(short.replace(_LESS, ""))
    if more and not full:
        sighting.doubts.append(CUT_SHORT)


def _text(lines: Numbered) -> Numbered:
    return [(number, line) for number, line in lines if line.strip()]


def _chunk(lines: Numbered, path: str, reason: str) -> RejectedChunk:
    first, last = lines[0][0], lines[-1][0]
    return RejectedChunk(file=path, line=first, lines=last - first + 1, reason=reason,
                         text=clean_text(lines[0][1]))


def sniff(sample: Sequence[str]) -> bool:
    """An entry's id line: `[1] arXiv:ID ...` on a /list page, `arXiv:ID [pdf, ...]` in search
    results (a page's navigation comes before it)."""
    return any(_entry_kind(line) for line in sample)


READER = Reader(layout=Layout.ARXIV_PAGE, sniff=sniff, read=read, named="an arXiv page",
                described="arXiv list and search pages copied from a browser",
                suffixes=(".txt",),
                example="`[1] arXiv:2403.05530 [pdf, html, other]` / `Title: …` / `Authors: …` / "
                        "`Subjects: … (cs.CL)` / the abstract; or a search result: "
                        "`arXiv:2403.05530 [pdf, other]` / `cs.CL` / the title / `Authors: …` / "
                        "`Abstract: …` / `Submitted 8 March, 2024; …`")
