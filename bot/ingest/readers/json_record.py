"""One paper record as JSON writes it, whichever vocabulary names its fields: the one mapping
from a parsed object to a sighting, shared by the JSON Lines and JSON document readers.

- arXiv metadata, the Kaggle snapshot's (`id`, `authors`, `authors_parsed`, `comments`,
  `journal-ref`, `versions`, `update_date`) and the API's (`summary`, `published`).
- Semantic Scholar: `paperId`, `externalIds` {DOI, ArXiv}, `authors` [{name}], `year`,
  `publicationDate`, `venue`, `journal`, `fieldsOfStudy`; a citation or reference wrapped in
  `citingPaper` / `citedPaper` is unwrapped.
- OpenAlex works: `display_name`, `doi` as a doi.org URL, `abstract_inverted_index`
  {word: [positions]} put back into text (at most `MAX_INDEX_POSITIONS` words),
  `authorships` [{author: {display_name}}], `publication_date`, `primary_location.source`.
- BEIR corpora: `_id`, `title`, `text`.

arXiv metadata writes LaTeX: accent macros (`Bal\\'azs`) are decoded to Unicode, by pylatexenc,
in names, titles and abstracts alike, and nothing else is, so `$...$` math stays as written.
An item with a title but no abstract is kept with an empty abstract; one with neither is
rejected. A date that cannot be read, or cannot be real, is ignored with a warning.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from pylatexenc.latex2text import LatexNodes2Text

from bot.ingest.names import parse_author_field
from bot.ingest.readers.json_values import parse_date, text_of
from bot.ingest.sighting import (
    Sighting,
    clean_text,
    implausible_date,
    normalise_arxiv_id,
    normalise_doi,
    short,
)
from bot.records import RejectedChunk, Source

# An abstract runs to a few hundred words; an index of far more is not one.
MAX_INDEX_POSITIONS = 50_000
# Keys only paper records of these vocabularies carry (a CSL item never does).
RECORD_KEYS = ("paperId", "externalIds", "authorships", "abstract_inverted_index",
               "authors_parsed", "publication_year", "_id")

_CODE_URL = re.compile(r"https?://(www\.)?(github\.com|gitlab\.com|bitbucket\.org)/\S+",
                       re.IGNORECASE)
_ARXIV_URL = re.compile(r"^https?://(?:export\.)?arxiv\.org/(?:abs|pdf)/", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_OPENALEX_URL = re.compile(r"^https?://openalex\.org/", re.IGNORECASE)
_WRAPPERS = ("citingPaper", "citedPaper")
_TITLE_FIELDS = ("title", "display_name")
_ABSTRACT_FIELDS = ("abstract", "summary", "paperAbstract", "text")
_ID_FIELDS = ("paperId", "id", "_id", "doc_id")
_COMMENT_FIELDS = ("comments", "comment", "arxiv_comment")
_VENUE_FIELDS = ("journal-ref", "journal_ref", "venue")
# A date's fields, most telling first: an arXiv paper's first version before its last update
# (0704.0001 was submitted in 2007 and updated in 2008).
_DATE_FIELDS = ("listing_date", "published", "first_version", "created", "publicationDate",
                "publication_date", "update_date", "date")
_YEAR_FIELDS = ("year", "publication_year")

# Math, kept as written: $...$, $$...$$, \(...\), \[...\] (a `\$` is a dollar sign, not math).
_MATH_DELIMITER = re.compile(r"(?<!\\)\$\$|(?<!\\)\$|\\\(|\\\)|\\\[|\\\]")
_MATH_CLOSER = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
# An accent macro and its letter: \'a, \'{a}, {\'a}, \"{\i}, \v{S}, \c c; or a letter of its own
# (\ss, \o, \aa, \L). Letter-named accents need a brace or a space (`\va` is another macro).
_ACCENTED = (r"\\['\"`^~=.]\s*(?:\{\\?[A-Za-z]\}|\\?[A-Za-z])"
             r"|\\[uvHckbdrt](?:\s*\{\\?[A-Za-z]\}|\s+[A-Za-z](?![A-Za-z]))"
             r"|\\(?:ss|o|O|ae|AE|oe|OE|aa|AA|l|L|i|j)(?![A-Za-z])")
_ACCENT = re.compile(rf"\{{(?:{_ACCENTED})\}}|{_ACCENTED}")
_LATEX = LatexNodes2Text()
# arXiv's `authors` string: parenthesised affiliations, "A. S. Mishchenko (1 and 2) and ...
# ((1) CREST, ...)"; nested no deeper than this.
_PARENTHESISED = re.compile(r"\([^()]*\)")
_MAX_PAREN_DEPTH = 5
# authors_parsed writes "C. -P." for the "C.-P." of the authors string.
_SPACED_HYPHEN = re.compile(r"(?<=\.)\s+-(?=\w)")
_SPACES = re.compile(r"\s+")
_KEYWORD_SEPARATOR = re.compile(r"[,;]")


def read_record(obj: dict[str, Any], source: Source, excerpt: str, *, last_line: int = 0
                ) -> Sighting | RejectedChunk:
    """The sighting a record gives, or why it gives none."""
    obj = _unwrapped(obj)
    title = decode_accents(text_of(_first(obj, _TITLE_FIELDS)) or "") or None
    sighting = Sighting(source=source, abstract="", last_line=last_line, title=title)
    sighting.abstract = _abstract(obj, sighting)
    if title is None and not sighting.abstract:
        lines = last_line - source.line + 1 if last_line else 1
        return RejectedChunk(file=source.file, line=source.line, lines=lines, text=excerpt,
                             reason="no title and no abstract")
    _read_ids(obj, sighting)
    sighting.authors = _authors(obj)
    if not sighting.authors and isinstance(obj.get("authors"), str):
        parsed = parse_author_field(_without_affiliations(_plain_authors(obj["authors"])))
        sighting.authors, sighting.authors_truncated = parsed.authors, parsed.truncated
    sighting.categories = _words(obj.get("categories"), _SPACES)
    sighting.keywords = [*_words(obj.get("keywords"), _KEYWORD_SEPARATOR),
                         *_words(obj.get("fieldsOfStudy"), _KEYWORD_SEPARATOR)]
    sighting.comment = text_of(_first(obj, _COMMENT_FIELDS))
    sighting.venue = _venue(obj)
    sighting.url = (text_of(obj.get("url"))
                    or text_of(_at(obj, "primary_location", "landing_page_url")))
    sighting.entry_type = text_of(obj.get("type")) or text_of(obj.get("publicationTypes"))
    _read_date(obj, sighting)
    has_code = obj.get("has_code")
    sighting.has_code = has_code if isinstance(has_code, bool) else bool(
        _CODE_URL.search(f"{sighting.comment or ''} {sighting.abstract}"))
    return sighting


def decode_accents(text: str) -> str:
    """LaTeX accent macros outside math decoded to Unicode (`Bal\\'azs` -> `Balázs`)."""
    if "\\" not in text:
        return text
    # One pass over the math delimiters (a pattern for whole math spans would rescan the rest
    # of the text from every opening left unclosed); math never closed is kept to the end.
    parts, at, closer = [], 0, None
    for delimiter in _MATH_DELIMITER.finditer(text):
        mark = delimiter.group()
        if closer is None and mark in _MATH_CLOSER:
            parts.append(_ACCENT.sub(_decoded, text[at:delimiter.start()]))
            at, closer = delimiter.start(), _MATH_CLOSER[mark]
        elif mark == closer:
            parts.append(text[at:delimiter.end()])
            at, closer = delimiter.end(), None
    parts.append(text[at:] if closer else _ACCENT.sub(_decoded, text[at:]))
    return "".join(parts)


def _decoded(accent: re.Match[str]) -> str:
    return _accent_text(accent.group())


@lru_cache(maxsize=1024)
def _accent_text(macro: str) -> str:
    """One accent macro in Unicode (a text holds few distinct ones, many times over)."""
    return _LATEX.latex_to_text(macro)


def _unwrapped(obj: dict[str, Any]) -> dict[str, Any]:
    """The paper of a Semantic Scholar citation or reference, else the record itself."""
    inner = next((obj[key] for key in _WRAPPERS if isinstance(obj.get(key), dict)), None)
    return inner if inner is not None else obj


def _first(obj: dict[str, Any], fields: tuple[str, ...]) -> Any:
    """The first of the fields that holds text."""
    return next((obj[name] for name in fields if text_of(obj.get(name))), None)


def _at(obj: Any, *path: str) -> Any:
    """A nested field (`primary_location.source.display_name`), or None where any step lacks."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _abstract(obj: dict[str, Any], sighting: Sighting) -> str:
    if text := text_of(_first(obj, _ABSTRACT_FIELDS)):
        return decode_accents(text)
    index = obj.get("abstract_inverted_index")
    return _from_inverted_index(index, sighting) if isinstance(index, dict) else ""


def _from_inverted_index(index: dict[str, Any], sighting: Sighting) -> str:
    """OpenAlex's {word: [positions]} back into the text: each word at its positions."""
    words = [(word, positions) for word, positions in index.items()
             if isinstance(positions, list)]
    if sum(len(positions) for _, positions in words) > MAX_INDEX_POSITIONS:
        sighting.doubts.append(f"abstract index of more than {MAX_INDEX_POSITIONS:,} words ignored")
        return ""
    at: dict[int, str] = {}
    for word, positions in words:
        for position in positions:
            if isinstance(position, int) and not isinstance(position, bool):
                at.setdefault(position, word)
    return clean_text(" ".join(at[position] for position in sorted(at)))


def _read_ids(obj: dict[str, Any], sighting: Sighting) -> None:
    external, ids = obj.get("externalIds"), obj.get("ids")
    raw_id = text_of(_first(obj, _ID_FIELDS))
    doi = text_of(obj.get("doi") or obj.get("DOI") or _at(external, "DOI") or _at(ids, "doi"))
    # The snapshot lists a paper's DOIs space-separated; the first is its own.
    sighting.doi = normalise_doi(doi.split()[0] if doi else None)
    sighting.arxiv_id = _arxiv_id(obj.get("arxiv_id"), _at(external, "ArXiv"), _at(ids, "arxiv"),
                                  raw_id, doi)
    if sighting.arxiv_id is None and raw_id:
        sighting.source_id = _OPENALEX_URL.sub("", raw_id)


def _arxiv_id(*candidates: Any) -> str | None:
    """The first candidate that is an arXiv id, bare, in an arxiv.org URL or an arXiv DOI."""
    for candidate in map(text_of, candidates):
        if candidate is None:
            continue
        candidate = _ARXIV_URL.sub("", candidate)
        arxiv_doi = _ARXIV_DOI.match(candidate)
        if found := normalise_arxiv_id(arxiv_doi.group(1) if arxiv_doi else candidate):
            return found
    return None


def _authors(obj: dict[str, Any]) -> list[str]:
    """From `authors_parsed` ([keyname, forenames, suffix, ...]), OpenAlex's `authorships`, or
    an `authors` list of names or {name} objects; [] when the record gives a string."""
    parsed, authorships, authors = (obj.get("authors_parsed"), obj.get("authorships"),
                                    obj.get("authors"))
    if isinstance(parsed, list) and parsed:
        names = [_parsed_name(parts) for parts in parsed if isinstance(parts, list)]
    elif isinstance(authorships, list) and authorships:
        names = [text_of(_at(a, "author", "display_name")) for a in authorships]
    elif isinstance(authors, list):
        names = [text_of(a.get("name") or a.get("display_name")) if isinstance(a, dict)
                 else text_of(a) for a in authors]
    else:
        return []
    return [decode_accents(name) for name in names if name]


def _parsed_name(parts: list[Any]) -> str | None:
    keyname, forenames, suffix = [*map(text_of, parts[:3]), None, None, None][:3]
    name = " ".join(part for part in (forenames, keyname, suffix) if part)
    return _SPACED_HYPHEN.sub("-", name) or None


def _plain_authors(authors: str) -> str:
    return decode_accents(clean_text(authors))


def _without_affiliations(authors: str) -> str:
    """arXiv's author string with its parenthesised affiliations taken out."""
    for _ in range(_MAX_PAREN_DEPTH):
        authors, removed = _PARENTHESISED.subn(" ", authors)
        if not removed:
            break
    return clean_text(authors)


def _words(value: Any, separator: re.Pattern[str]) -> list[str]:
    """Categories or keywords: one string ("math.CO cs.CG", "graphs; rigidity"), a list of
    them, or a list of {display_name} objects (OpenAlex)."""
    if isinstance(value, str):
        value = separator.split(value)
    if not isinstance(value, list):
        return []
    words = [text_of(v.get("display_name")) if isinstance(v, dict) else text_of(v) for v in value]
    return [word for word in words if word]


def _venue(obj: dict[str, Any]) -> str | None:
    return (text_of(_first(obj, _VENUE_FIELDS)) or text_of(_at(obj, "journal", "name"))
            or text_of(_at(obj, "primary_location", "source", "display_name"))
            or text_of(_at(obj, "host_venue", "display_name")))


def _read_date(obj: dict[str, Any], sighting: Sighting) -> None:
    """The first field that holds a real date, else a year as 1 January of it; when none does
    but some field holds something else, that is worth a warning (the record is kept)."""
    fields = {**obj, "first_version": _at(_first_version(obj), "created")}
    doubt = None
    for value in (fields.get(name) for name in _DATE_FIELDS):
        if value is None or isinstance(value, str) and not value.strip():
            continue
        date = parse_date(value) if isinstance(value, str) else None
        why = "not a readable date" if date is None else implausible_date(date)
        if why is None:
            sighting.date = date
            return
        doubt = doubt or f"date {short(str(value))!r} ignored: {why}"
    for year in (obj.get(name) for name in _YEAR_FIELDS):
        if isinstance(year, int) and not isinstance(year, bool) and 1 <= year <= 9999:
            date = dt.date(year, 1, 1)
            if implausible_date(date) is None:
                sighting.date = date
                return
            doubt = doubt or f"year {year} ignored: {implausible_date(date)}"
    if doubt:
        sighting.doubts.append(doubt)


def _first_version(obj: dict[str, Any]) -> Any:
    versions = obj.get("versions")
    return versions[0] if isinstance(versions, list) and versions else None
