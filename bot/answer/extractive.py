"""The extractive answer: the papers that answer a question, each quoting its best sentence.

A paper is cited only when its relevance reaches the answer threshold; when none does, the
answer abstains and lists the nearest papers as "closest, but not answering".
"""

from __future__ import annotations

from bot.answer.templates import Templates, escape_markdown
from bot.records import Answer, Citation, Hit, Paper

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


def _title(paper: Paper) -> str:
    return escape_markdown(paper.display_title)


def _year(paper: Paper) -> str:
    return str(paper.year) if paper.year else "n.d."
