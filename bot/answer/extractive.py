"""The extractive answer: the papers that answer a question, each quoting its best sentence.

The papers cited are those whose evidence answers the question (bot.answer.evidence); when
none does, the answer abstains and lists the nearest papers as "closest, but not answering":
the closest in meaning first, each with its match on a scale of 0 to 100 (`match_of`).
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


def match_of(relevance: float) -> int:
    """A relevance (a cosine) on the scale a person reads: 0 to 100, where 100 is the same
    text. Negative cosines (opposed in meaning, rare for text) read as 0."""
    return round(100 * min(max(relevance, 0.0), 1.0))


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
        # The closest in meaning, not the best ranked: ranking also weighs terms and hubness,
        # which would list a less close paper above a closer one.
        nearest = sorted(hits, key=lambda h: h.relevance, reverse=True)[:NEAREST_SHOWN]
        lines = "\n".join(
            templates.render("nearest", title=_title(h.paper), year=h.paper.year_label,
                             score=match_of(h.relevance))
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
