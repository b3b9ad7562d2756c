"""Which paper of the library a reference names: its id, its arXiv id, its DOI, its cite key,
its title (exact or close), or its pasted abstract."""

from __future__ import annotations

import difflib

import numpy as np

from bot.ingest.merge import normalise_title
from bot.ingest.sighting import normalise_arxiv_id, normalise_doi
from bot.library.contents import Library
from bot.records import Paper

SAME_PAPER_COSINE = 0.98  # pasted text this close to a paper's own vector is that paper
CLOSE_TITLE_RATIO = 0.9
_NEAREST_LOOKED_AT = 5


def row_of_reference(library: Library, ref: str) -> int | None:
    """Exact references: paper id, arXiv id, DOI (bare, `doi:` or a doi.org address), cite
    key, or title (case and punctuation ignored; a title's part before its colon, where no
    other paper shares it)."""
    if ref in library.row_of:
        return library.row_of[ref]
    if ref in library.row_of_cite_key:
        return library.row_of_cite_key[ref]
    arxiv_id = normalise_arxiv_id(ref)
    if arxiv_id and arxiv_id in library.row_of_arxiv_id:
        return library.row_of_arxiv_id[arxiv_id]
    doi = normalise_doi(ref)
    if doi and doi in library.row_of_doi:
        return library.row_of_doi[doi]
    title = normalise_title(ref)
    if title in library.row_of_title:
        return library.row_of_title[title]
    return library.row_of_short_title.get(title)


def row_of_text(library: Library, text: str, vector: np.ndarray) -> int | None:
    """A close title or a pasted abstract of a paper in the library, found by its vector."""
    scores, rows = library.doc_index.search(vector, _NEAREST_LOOKED_AT)
    wanted = normalise_title(text)
    for score, row in zip(scores[0], rows[0], strict=True):
        if row < 0:
            continue
        paper = library.papers[int(row)]
        if score >= SAME_PAPER_COSINE or any(
                normalise_title(a) == wanted for a in paper.all_abstracts()):
            return int(row)
        if paper.title and difflib.SequenceMatcher(
                None, wanted, normalise_title(paper.title)).ratio() >= CLOSE_TITLE_RATIO:
            return int(row)
    return None


def row_of_record(library: Library, record: Paper) -> int | None:
    """The library's paper that a bibliography's record names: by arXiv id, DOI, cite key,
    then title (case and punctuation ignored)."""
    for found in (library.row_of_arxiv_id.get(record.arxiv_id or ""),
                  library.row_of_doi.get(record.doi or ""),
                  library.row_of_cite_key.get(record.cite_key or ""),
                  library.row_of_title.get(normalise_title(record.title or "")
                                           if record.title else "")):
        if found is not None:
            return found
    return None


def record_name(record: Paper) -> str:
    """How a message names a bibliography's record."""
    return (record.title or record.cite_key or (f"doi:{record.doi}" if record.doi else None)
            or (f"arXiv:{record.arxiv_id}" if record.arxiv_id else None) or record.id)
