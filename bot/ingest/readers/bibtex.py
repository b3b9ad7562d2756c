"""BibTeX bibliographies, as Zotero, Google Scholar, DBLP and academic homepages export them.

The file's lines are joined and parsed by bibtexparser (v2), which resolves `@string` macros;
LaTeX is decoded to Unicode and protective braces removed. Each entry becomes a sighting at
its first line; an entry the parser cannot read, one whose cite key repeats an earlier one's,
or one with neither a title nor an abstract is a rejected chunk, and the rest of the file is
read. An entry with a title but no abstract (most of a bibliography) is kept with an empty
abstract: found by its title, never cited. Text
outside any entry (a homepage's Jekyll front matter, a stray note) is rejected as such, so
nothing is dropped silently; `%` comment lines, `@string`, `@preamble` and `@comment` blocks are the
bibliography's own and say nothing to report.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence

import bibtexparser
from bibtexparser.exceptions import BlockAbortedException
from bibtexparser.middlewares import (
    LatexDecodingMiddleware,
    MonthIntMiddleware,
    SeparateCoAuthors,
    SplitNameParts,
)
from bibtexparser.model import (
    Block,
    DuplicateBlockKeyBlock,
    Entry,
    ImplicitComment,
    ParsingFailedBlock,
)

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

# An entry's opening, `@article{` or `@misc (`: the block types BibTeX and its tools write.
ENTRY_START = re.compile(r"^@\s*[A-Za-z]+\s*[{(]|^@\s*(comment|preamble|string)\b", re.IGNORECASE)
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/([^\s?#]+?)(?:\.pdf)?$", re.IGNORECASE)
_KEYWORD_SPLIT = re.compile(r"[,;]")
# A year as bibliographies write it: `2021`, `{2021}`, sometimes `2021a` to tell two apart.
_YEAR = re.compile(r"^\s*(\d{4})")
_TRUNCATION = "others"  # BibTeX's `and others`: the author list goes on


def read(lines: Iterable[str], path: str) -> Iterator[Sighting | RejectedChunk]:
    library = bibtexparser.parse_string("\n".join(lines), append_middleware=[
        LatexDecodingMiddleware(), MonthIntMiddleware(), SeparateCoAuthors(), SplitNameParts()])
    for block in library.blocks:
        if isinstance(block, ParsingFailedBlock):
            yield _rejected(block, path, _failure(block))
        elif isinstance(block, ImplicitComment):
            if _not_a_comment(block.comment):
                yield _rejected(block, path, "text outside any BibTeX entry")
        elif isinstance(block, Entry):
            yield _entry(block, path)


def _not_a_comment(text: str) -> bool:
    """Text between entries that is more than `%` comment lines and blank ones."""
    return any(line.strip() and not line.lstrip().startswith("%") for line in text.splitlines())


def _failure(block: ParsingFailedBlock) -> str:
    """Why the parser gave up on a block, in words."""
    if isinstance(block, DuplicateBlockKeyBlock):
        return f"cite key {short(block.key)!r} already used by an earlier entry"
    if isinstance(block.error, BlockAbortedException):
        return f"malformed BibTeX entry ({clean_text(block.error.abort_reason)})"
    return f"malformed BibTeX entry ({clean_text(str(block.error)) or type(block.error).__name__})"


def _rejected(block: Block, path: str, reason: str) -> RejectedChunk:
    raw = block.raw or ""
    text = clean_text(raw)
    # A block's raw text may begin with the blank lines before it.
    leading = len(raw) - len(raw.lstrip("\n"))
    return RejectedChunk(file=path, line=(block.start_line or 0) + 1 + raw[:leading].count("\n"),
                         text=text, reason=reason, lines=max(1, raw.strip().count("\n") + 1))


def _venue(fields: dict) -> str | None:
    """The journal or proceedings, without the separator a hand-typed field may end with
    (`journal = {Phys. Rev.,}`)."""
    venue = _text(fields, "journal") or _text(fields, "booktitle")
    return venue.rstrip(" ,;:") or None if venue else None


def _entry(entry: Entry, path: str) -> Sighting | RejectedChunk:
    fields = {key.lower(): value for key, value in entry.fields_dict.items()}
    abstract, title = _text(fields, "abstract"), _text(fields, "title")
    if abstract is None and title is None:
        return _rejected(entry, path, "no title and no abstract")
    first = entry.start_line + 1
    sighting = Sighting(source=Source(file=path, line=first, layout=Layout.BIBTEX),
                        abstract=abstract or "", last_line=first + (entry.raw or "").count("\n"),
                        title=title, cite_key=entry.key or None,
                        entry_type=entry.entry_type.lower(),
                        venue=_venue(fields),
                        url=_text(fields, "url"), doi=normalise_doi(_text(fields, "doi")))
    _read_authors(fields, sighting)
    sighting.arxiv_id = _arxiv_id(fields)
    sighting.keywords = [word for part in _KEYWORD_SPLIT.split(_text(fields, "keywords") or "")
                         if (word := clean_text(part))]
    _read_date(fields, sighting)
    return sighting


def _text(fields: dict, name: str) -> str | None:
    value = fields[name].value if name in fields else None
    return clean_text(value) or None if isinstance(value, str) else None


def _read_authors(fields: dict, sighting: Sighting) -> None:
    names = fields["author"].value if "author" in fields else []
    if not isinstance(names, list):
        return
    for name in names:
        parts = [*name.first, *name.von, *name.last, *name.jr]
        if parts == [_TRUNCATION]:
            sighting.authors_truncated = True
        elif full := clean_text(" ".join(parts)):
            sighting.authors.append(full)


def _arxiv_id(fields: dict) -> str | None:
    """From `eprint` when its `archivePrefix` is arXiv, an `arxiv` field, or an arxiv.org URL."""
    if (_text(fields, "archiveprefix") or "").lower() == "arxiv":
        if found := normalise_arxiv_id(_text(fields, "eprint")):
            return found
    if found := normalise_arxiv_id(_text(fields, "arxiv")):
        return found
    url = _ARXIV_URL.search(_text(fields, "url") or "")
    return normalise_arxiv_id(url.group(1)) if url else None


def _read_date(fields: dict, sighting: Sighting) -> None:
    """The year, and the month when it is one; a year that cannot be a paper's is ignored with
    a warning (the record is kept, undated)."""
    year_text = _text(fields, "year")
    if year_text is None:
        return
    month = fields["month"].value if "month" in fields else None
    year = _YEAR.match(year_text)
    date = dt.date(int(year.group(1)), month if isinstance(month, int) and 1 <= month <= 12
                   else 1, 1) if year and int(year.group(1)) > 0 else None
    why = "not a readable year" if date is None else implausible_date(date)
    if why is None:
        sighting.date = date
    else:
        sighting.doubts.append(f"year {short(year_text)!r} ignored: {why}")


def sniff(sample: Sequence[str]) -> bool:
    """One of the first non-blank lines opens an entry (a homepage's bibliography may begin
    with Jekyll front matter)."""
    return any(ENTRY_START.match(line) for line in sample)


READER = Reader(layout=Layout.BIBTEX, sniff=sniff, read=read, named="BibTeX",
                described="BibTeX bibliographies (Zotero, Google Scholar, DBLP)",
                suffixes=(".bib",),
                example="`@article{key, title = {…}, author = {Last, First and …}, year = 2021, "
                        "abstract = {…}, doi = …, eprint = …}`")
