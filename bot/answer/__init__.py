"""The answering stage: ranked papers in, an Answer whose every citation quotes its paper.

Each answerer (bot/answer/answerer.py) is one module and one entry of ANSWERERS, under the
name its answers carry in `Answer.answerer`.
"""

from __future__ import annotations

from bot.answer.answerer import AnswerContext, Answerer
from bot.answer.chat import ChatAnswerer
from bot.answer.extractive import ExtractiveAnswerer
from bot.records import AnswererName
from bot.settings import Settings

ANSWERERS: dict[AnswererName, type[Answerer]] = {
    answerer.name: answerer for answerer in (
        ExtractiveAnswerer,
        ChatAnswerer,
    )
}


def answerer_for(settings: Settings) -> Answerer:
    """The language model's answerer when a chat server is set up (`settings.llm.url`),
    else the quoted answer."""
    name: AnswererName = ChatAnswerer.name if settings.llm.url else ExtractiveAnswerer.name
    return ANSWERERS[name].from_settings(settings)


__all__ = ["ANSWERERS", "AnswerContext", "Answerer", "answerer_for"]
