"""A cited paper as a Markdown card: what the web app shows beside an answer."""

from __future__ import annotations

from bot.answer.templates import Templates, escape_markdown
from bot.records import Citation, Paper

# How a card says how strongly its paper answers the question.
STRENGTH_WORDS = {"direct": "answers directly", "related": "related"}


def render_card(citation: Citation, templates: Templates) -> str:
    """A cited paper as Markdown: title, authors, year, category, arXiv link, and the
    abstract with the sentence that supports the answer highlighted."""
    paper = citation.paper
    link = f" · [arXiv:{paper.arxiv_id}]({paper.arxiv_url})" if paper.arxiv_url else ""
    return templates.render(
        "card", n=citation.n, title=_title(paper), strength=STRENGTH_WORDS[citation.strength],
        authors=escape_markdown(paper.author_line),
        year=paper.year_label, category=escape_markdown(paper.category or "uncategorised"),
        link=link, abstract=highlighted_abstract(paper.abstract, citation.quote))


def highlighted_abstract(abstract: str, quote: str) -> str:
    """The abstract as Markdown, the quote (a verbatim slice of it) marked."""
    start = abstract.find(quote) if quote else -1
    if start < 0:
        return escape_markdown(abstract)
    end = start + len(quote)
    return (escape_markdown(abstract[:start]) + "<mark>" + escape_markdown(quote) + "</mark>"
            + escape_markdown(abstract[end:]))


def _title(paper: Paper) -> str:
    return escape_markdown(paper.display_title)
