"""The extractive answer: the papers that answer a question, each quoting its best sentence.

The papers cited are those whose evidence answers the question (bot.answer.evidence); when
none does, the answer abstains and lists the nearest papers as "closest, but not answering".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.answer.answerer import AnswerContext
from bot.answer.evidence import citable
from bot.answer.templates import Templates, escape_markdown
from bot.records import Answer, AnswererName, Citation, Hit, Paper
from bot.settings import RetrievalSettings, Settings

NEAREST_SHOWN = 3


class ExtractiveAnswerer:
    """The quoted answer, written without a language model."""

    name: ClassVar[AnswererName] = "extractive"

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtractiveAnswerer:
        return cls()

    def answer(self, question: str, hits: list[Hit], context: AnswerContext) -> Answer:
        return compose_answer(question, hits, settings=context.retrieval,
                              templates=context.templates, as_list=context.as_list)

    def answer_stream(self, question: str, hits: list[Hit],
                      context: AnswerContext) -> Iterator[str | Answer]:
        yield self.answer(question, hits, context)


def compose_answer(question: str, hits: list[Hit], *, settings: RetrievalSettings,
                   templates: Templates, as_list: bool | None = None) -> Answer:
    cited = citable(question, hits, settings, as_list=as_list)
    if not cited:
        nearest = hits[:NEAREST_SHOWN]
        lines = "\n".join(
            templates.render("nearest", title=_title(h.paper), year=h.paper.year_label,
                             score=f"{h.relevance:.2f}")
            for h in nearest) or "- (the library is empty)"
        return Answer(question=question, text=templates.render("abstain", nearest=lines),
                      abstained=True, nearest=nearest)
    citations = [Citation(n=i, paper=c.hit.paper, quote=c.hit.evidence or "",
                          score=c.hit.score, strength=c.strength, evidence=round(c.evidence, 4))
                 for i, c in enumerate(cited, start=1)]
    lines = "\n".join(
        templates.render("citation", n=c.n, title=_title(c.paper), year=c.paper.year_label,
                         quote=escape_markdown(c.quote),
                         related=" (related)" if c.strength == "related" else "")
        for c in citations)
    return Answer(question=question, text=templates.render("answer", citations=lines),
                  citations=citations)


def _title(paper: Paper) -> str:
    return escape_markdown(paper.display_title)
