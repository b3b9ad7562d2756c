"""The extractive answer: the papers that answer a question, each quoting its best sentence.

A paper is cited only when its relevance reaches the answer threshold; when none does, the
answer abstains and lists the nearest papers as "closest, but not answering".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.answer.answerer import AnswerContext
from bot.answer.templates import Templates, escape_markdown
from bot.records import Answer, AnswererName, Citation, Hit, Paper
from bot.settings import Settings

NEAREST_SHOWN = 3


class ExtractiveAnswerer:
    """The quoted answer, written without a language model."""

    name: ClassVar[AnswererName] = "extractive"

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractiveAnswerer:
        return cls()

    def answer(self, question: str, hits: list[Hit], context: AnswerContext) -> Answer:
        return compose_answer(question, hits, threshold=context.retrieval.answer_threshold,
                              templates=context.templates)

    def answer_stream(self, question: str, hits: list[Hit],
                      context: AnswerContext) -> Iterator[str | Answer]:
        yield self.answer(question, hits, context)


def compose_answer(question: str, hits: list[Hit], *, threshold: float,
                   templates: Templates) -> Answer:
    relevant = [h for h in hits if h.relevance >= threshold and h.evidence]
    if not relevant:
        nearest = hits[:NEAREST_SHOWN]
        lines = "\n".join(
            templates.render("nearest", title=_title(h.paper), year=h.paper.year_label,
                             score=f"{h.relevance:.2f}")
            for h in nearest) or "- (the library is empty)"
        return Answer(question=question, text=templates.render("abstain", nearest=lines),
                      abstained=True, nearest=nearest)
    citations = [Citation(n=i, paper=h.paper, quote=h.evidence or "", score=h.score)
                 for i, h in enumerate(relevant, start=1)]
    lines = "\n".join(
        templates.render("citation", n=c.n, title=_title(c.paper), year=c.paper.year_label,
                         quote=escape_markdown(c.quote))
        for c in citations)
    return Answer(question=question, text=templates.render("answer", citations=lines),
                  citations=citations)


def _title(paper: Paper) -> str:
    return escape_markdown(paper.display_title)
