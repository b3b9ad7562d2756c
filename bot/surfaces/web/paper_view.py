"""A paper opened on the Papers tab, as Markdown: everything the library knows of it, the
links to it that the app builds (doi.org, arxiv.org), and where it was read.

Everything in it that a source wrote is text: LaTeX markup read as the words it marks, then
escaped, and any address in the abstract or the source's own link set in a code span, where
it is never a live link. The only links are those built here from a normalised DOI or arXiv id.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from bot.answer.templates import escape_markdown, escape_untrusted
from bot.records import Paper
from bot.surfaces.text import as_written

DOI_RESOLVER = "https://doi.org/"
NO_ABSTRACT = "*No abstract: the paper is found by its title, and never cited.*"
# A paper seen in many files lists this many of them, then how many more; and so for its
# authors (a large collaboration's run to hundreds: the BibTeX has them all).
MAX_SOURCES_SHOWN = 12
MAX_AUTHORS_SHOWN = 40


def paper_markdown(paper: Paper) -> str:
    lines = [f"### {_shown(paper.display_title)}", "", _shown(all_authors(paper))]
    facts = [_shown(paper.venue) if paper.venue else "", paper.year_label,
             escape_markdown(", ".join(paper.categories)), "with code" if paper.has_code else ""]
    lines += ["", " · ".join(fact for fact in facts if fact)]
    if links := paper_links(paper):
        lines += ["", " · ".join(links)]
    if paper.url and paper.url not in (paper.arxiv_url, doi_url(paper.doi)):
        lines += ["", f"Link given by the source: {escape_untrusted(paper.url)}"]
    lines += ["", escape_untrusted(as_written(paper.abstract)) if paper.abstract else NO_ABSTRACT]
    if paper.keywords:
        lines += ["", f"**Keywords:** {_shown(', '.join(paper.keywords))}"]
    lines += ["", f"**Read from:** {sources_line(paper)}"]
    return "\n".join(lines)


def all_authors(paper: Paper) -> str:
    """The authors, up to `MAX_AUTHORS_SHOWN` (a card shows six)."""
    if not paper.authors:
        return "Unknown authors"
    more = len(paper.authors) - MAX_AUTHORS_SHOWN
    return (", ".join(paper.authors[:MAX_AUTHORS_SHOWN])
            + (f" and {more} more" if more > 0 else "")
            + (" et al." if paper.authors_truncated else ""))


def paper_links(paper: Paper) -> list[str]:
    """Markdown links to the paper at doi.org and arxiv.org, for the ids it has."""
    links = []
    if paper.doi:
        links.append(f"[doi:{escape_markdown(paper.doi)}]({doi_url(paper.doi)})")
    if paper.arxiv_url:
        links.append(f"[arXiv:{paper.arxiv_id}]({paper.arxiv_url})")
    return links


def doi_url(doi: str | None) -> str | None:
    """The DOI at its resolver, every character that could end a Markdown link or break a
    URL percent-encoded (a DOI may hold parentheses, `#`, `<`, spaces)."""
    return DOI_RESOLVER + quote(doi, safe="/") if doi else None


def sources_line(paper: Paper) -> str:
    """Where the paper was read, as file:line (the file's name: no server path is shown)."""
    shown = [f"{Path(s.file).name}:{s.line}" for s in paper.sources]
    listed = ", ".join(escape_markdown(s) for s in shown[:MAX_SOURCES_SHOWN])
    more = len(shown) - MAX_SOURCES_SHOWN
    return listed + (f" and {more} more" if more > 0 else "") if shown else "—"


def _shown(text: str) -> str:
    return escape_markdown(as_written(text))
