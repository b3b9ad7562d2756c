"""Papers out of paperchat: BibTeX (written by bibtexparser) and CSV, for reference managers
and spreadsheets."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Sequence

import bibtexparser
from bibtexparser import model

from bot.records import Paper

# Each column and how a paper fills it: the header row and the rows come from this one table.
_CSV_CELLS: dict[str, Callable[[Paper], object]] = {
    "id": lambda p: p.id,
    "title": lambda p: p.title or "",
    "authors": lambda p: "; ".join(p.authors),
    "year": lambda p: p.year or "",
    "category": lambda p: p.category or "",
    "arxiv_id": lambda p: p.arxiv_id or "",
    "doi": lambda p: p.doi or "",
    "venue": lambda p: p.venue or "",
    "url": lambda p: p.url or p.arxiv_url or "",
    "has_code": lambda p: "yes" if p.has_code else "",
    "abstract": lambda p: p.abstract,
}
CSV_COLUMNS = list(_CSV_CELLS)
_LATEX_SPECIAL = re.compile(r"([&%$#_])")
# What a cite key may hold and still be written as it is: no braces, commas, spaces, quotes.
_SAFE_KEY = re.compile(r"[A-Za-z0-9_:.+/\-]{1,100}")
# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(…),
# +cmd|…): OWASP's advice is to make such a cell text by prefixing a single quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# Where a BibTeX entry of each type names the venue it appeared in.
_VENUE_FIELD = {"article": "journal", "inproceedings": "booktitle", "incollection": "booktitle",
                "conference": "booktitle", "inbook": "booktitle"}


def to_bibtex(papers: Sequence[Paper]) -> str:
    """One entry a paper: of the type its source gave (else @misc), under the cite key its
    bibliography gave (else author-year-word), with its DOI, venue and URL when known."""
    library = bibtexparser.Library()
    keys: set[str] = set()
    for paper in papers:
        entry_type = paper.entry_type if paper.entry_type in _ENTRY_TYPES else "misc"
        library.add(model.Entry(entry_type, _unique_key(paper, keys),
                                _bibtex_fields(paper, entry_type)))
    return bibtexparser.write_string(library)


_ENTRY_TYPES = frozenset({"article", "book", "booklet", "conference", "inbook", "incollection",
                          "inproceedings", "manual", "mastersthesis", "misc", "phdthesis",
                          "proceedings", "techreport", "unpublished"})


def _bibtex_fields(paper: Paper, entry_type: str) -> list[model.Field]:
    fields = [model.Field("title", "{" + _latex(paper.display_title) + "}")]
    if paper.authors:
        fields.append(model.Field("author", " and ".join(_latex(a) for a in paper.authors)
                                  + (" and others" if paper.authors_truncated else "")))
    if paper.year:
        fields.append(model.Field("year", str(paper.year)))
    if paper.venue:
        fields.append(model.Field(_VENUE_FIELD.get(entry_type, "howpublished"),
                                  "{" + _latex(paper.venue) + "}"))
    if paper.doi:
        fields.append(model.Field("doi", paper.doi))
    if paper.arxiv_id:
        fields += [model.Field("eprint", paper.arxiv_id),
                   model.Field("archiveprefix", "arXiv")]
        if paper.category:
            fields.append(model.Field("primaryclass", paper.category))
    if url := paper.url or paper.arxiv_url:
        fields.append(model.Field("url", url))
    if paper.keywords:
        fields.append(model.Field("keywords", _latex(", ".join(paper.keywords))))
    fields.append(model.Field("abstract", _latex(paper.abstract)))
    return fields


def to_csv(papers: Sequence[Paper]) -> str:
    """Every cell is text to a spreadsheet: none can start a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for paper in papers:
        writer.writerow([_as_text_cell(str(cell(paper))) for cell in _CSV_CELLS.values()])
    return out.getvalue()


def _as_text_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _latex(text: str) -> str:
    """Braces dropped (they would have to balance) and LaTeX's special characters escaped."""
    return _LATEX_SPECIAL.sub(r"\\\1", text.replace("{", "").replace("}", ""))


def _unique_key(paper: Paper, taken: set[str]) -> str:
    """The paper's own cite key when its bibliography gave one that is still free (and
    safe in BibTeX), else author-year-word, lettered apart."""
    if paper.cite_key and _SAFE_KEY.fullmatch(paper.cite_key) and paper.cite_key not in taken:
        taken.add(paper.cite_key)
        return paper.cite_key
    surname = paper.authors[0].split()[-1] if paper.authors else "anon"
    words = [w for w in re.findall(r"[A-Za-z]+", paper.title or "") if len(w) > 3]
    base = _ascii(f"{surname}{paper.year or ''}{words[0] if words else ''}").lower() or "paper"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}{chr(ord('a') + n - 2)}" if n <= 27 else f"{base}{n}"
    taken.add(key)
    return key


def _ascii(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", unicodedata.normalize("NFKD", text)
                  .encode("ascii", "ignore").decode())
