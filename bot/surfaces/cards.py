"""A cited paper as a Markdown card: what the web app shows beside an answer.

A card shows the paper's text as written: its LaTeX markup as the words it marks
(bot/surfaces/text.py; math between `$` signs stays as written, and the page does not set it
as formulas), then escaped, so that no markup, HTML or link comes from a paper; an address
in the text is set as code, which no renderer makes a link of. The one link is the one the
card builds, to arxiv.org.
"""

from __future__ import annotations

from bot.answer.templates import Templates, escape_markdown, escape_untrusted
from bot.records import Citation, Paper
from bot.surfaces.text import as_written

# How a card says how strongly its paper answers the question.
STRENGTH_WORDS = {"direct": "answers directly", "related": "related"}


def render_card(citation: Citation, templates: Templates) -> str:
    """A cited paper as Markdown: title, authors, year, category, arXiv link, and the
    abstract with the sentence that supports the answer highlighted."""
    paper = citation.paper
    link = f" · [arXiv:{paper.arxiv_id}]({paper.arxiv_url})" if paper.arxiv_url else ""
    return templates.render(
        "card", n=citation.n, title=_title(paper), strength=STRENGTH_WORDS[citation.strength],
        authors=escape_markdown(as_written(paper.author_line)),
        year=paper.year_label, category=escape_markdown(paper.category or "uncategorised"),
        link=link, abstract=highlighted_abstract(paper.abstract, citation.quote))


def highlighted_abstract(abstract: str, quote: str) -> str:
    """The abstract as Markdown, as written, the quote (a verbatim slice of it) marked. The
    quote is found in the abstract as stored; each part is then shown as written."""
    start = abstract.find(quote) if quote else -1
    if start < 0:
        return shown_text(abstract)
    end = start + len(quote)
    return (shown_text(abstract[:start]) + "<mark>" + shown_text(quote) + "</mark>"
            + shown_text(abstract[end:]))


def shown_text(text: str) -> str:
    """A paper's text as a card shows it: as written, escaped, its addresses as code. Space
    around it is kept (one space), as it joins the parts of an abstract."""
    core = text.strip()
    before = " " if text[:1].isspace() and core else ""
    after = " " if text[-1:].isspace() and core else ""
    return before + escape_untrusted(as_written(core)) + after


def _title(paper: Paper) -> str:
    return shown_text(paper.display_title)
