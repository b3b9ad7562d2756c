"""The extractive answer: the papers that answer a question, each quoting its best sentence.

A paper is cited only when its relevance reaches the answer threshold; when none does, the
answer abstains and lists the nearest papers as "closest, but not answering".
"""

from __future__ import annotations

from bot.records import Answer, Citation, Hit, Paper
from bot.templates import Templates, escape_markdown

NEAREST_SHOWN = 3


def compose_answer(question: str, hits: list[Hit], *, threshold: float,
                   templates: Templates) -> Answer:
    relevant = [h for h in hits if h.relevance >= threshold and h.evidence]
    if not relevant:
        nearest = hits[:NEAREST_SHOWN]
        lines = "\n".join(
            templates.render("nearest", title=_title(h.paper), year=_year(h.paper),
                             score=f"{h.relevance:.2f}")
            for h in nearest) or "- (the library is empty)"
        return Answer(question=question, text=templates.render("abstain", nearest=lines),
                      abstained=True, nearest=nearest)
    citations = [Citation(n=i, paper=h.paper, quote=h.evidence or "", score=h.score)
                 for i, h in enumerate(relevant, start=1)]
    lines = "\n".join(
        templates.render("citation", n=c.n, title=_title(c.paper), year=_year(c.paper),
                         quote=escape_markdown(c.quote))
        for c in citations)
    return Answer(question=question, text=templates.render("answer", citations=lines),
                  citations=citations)


def render_card(citation: Citation, templates: Templates) -> str:
    """A cited paper as Markdown: title, authors, year, category, arXiv link, and the
    abstract with the sentence that supports the answer highlighted."""
    paper = citation.paper
    link = f" · [arXiv:{paper.arxiv_id}]({paper.arxiv_url})" if paper.arxiv_url else ""
    return templates.render(
        "card", n=citation.n, title=_title(paper), authors=escape_markdown(paper.author_line),
        year=_year(paper), category=escape_markdown(paper.category or "uncategorised"),
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


def _year(paper: Paper) -> str:
    return str(paper.year) if paper.year else "n.d."
