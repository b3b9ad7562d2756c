"""Papers out of paperchat: BibTeX (written by bibtexparser), CSL-JSON (what Zotero imports)
and CSV, for reference managers and spreadsheets. `EXPORTS` names them for every surface."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    if paper.abstract:
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


# CSL's names for the BibTeX entry types; a type CSL already knows is kept as it is.
_CSL_TYPE = {"article": "article-journal", "inproceedings": "paper-conference",
             "conference": "paper-conference", "incollection": "chapter", "inbook": "chapter",
             "book": "book", "phdthesis": "thesis", "mastersthesis": "thesis",
             "techreport": "report", "misc": "article", "unpublished": "manuscript"}
_CSL_TYPES = frozenset({"article", "article-journal", "article-magazine", "article-newspaper",
                        "book", "chapter", "dataset", "manuscript", "paper-conference",
                        "report", "thesis", "webpage", "software", "post", "speech"})


def to_csl_json(papers: Sequence[Paper]) -> str:
    """A CSL-JSON array, as Zotero and pandoc read it: one item a paper, its id the paper's
    cite key when it has a free one."""
    taken: set[str] = set()
    return json.dumps([_csl_item(p, _unique_key(p, taken)) for p in papers],
                      ensure_ascii=False, indent=2) + "\n"


def _csl_item(paper: Paper, key: str) -> dict:
    item: dict = {"id": key, "type": _csl_type(paper.entry_type), "title": paper.display_title}
    if paper.authors:
        item["author"] = [_csl_name(a) for a in paper.authors]
    if paper.date:
        # A date at 1 January is most often a year alone (BibTeX's `year`): said as a year.
        parts = ([paper.date.year] if (paper.date.month, paper.date.day) == (1, 1)
                 else [paper.date.year, paper.date.month, paper.date.day])
        item["issued"] = {"date-parts": [parts]}
    optional = {"container-title": paper.venue, "DOI": paper.doi,
                "URL": paper.url or paper.arxiv_url,
                "number": f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else None,
                "keyword": ", ".join(paper.keywords) or None, "abstract": paper.abstract}
    item.update({name: value for name, value in optional.items() if value})
    return item


def _csl_type(entry_type: str | None) -> str:
    """BibTeX's name first: its `article` is a journal article, where CSL's is a preprint."""
    if entry_type in _CSL_TYPE:
        return _CSL_TYPE[entry_type]
    return entry_type if entry_type in _CSL_TYPES else "article"


def _csl_name(name: str) -> dict[str, str]:
    """"Ada King Lovelace" -> family "Lovelace", given "Ada King"; one word stays literal."""
    given, _, family = name.rpartition(" ")
    return {"family": family, "given": given} if given else {"literal": name}


@dataclass(frozen=True)
class Export:
    name: str  # what it is called on the page: "BibTeX"
    suffix: str  # the file's suffix
    write: Callable[[Sequence[Paper]], str]


# Every export, by the name the command line takes (`papers --format`): the web app offers a
# download of each, in this order.
EXPORTS: dict[str, Export] = {
    "bibtex": Export("BibTeX", ".bib", to_bibtex),
    "csl-json": Export("CSL-JSON", ".json", to_csl_json),
    "csv": Export("CSV", ".csv", to_csv),
}
