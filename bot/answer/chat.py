"""Answers written by a language model on an OpenAI-compatible chat server, verified first.

The extractive answer is made first; only when it cites papers is the server asked, with
those papers as numbered sources. The reply streams in (bot/answer/chat_client.py), then is
checked before it is shown (bot/answer/verify.py): citations of numbers that were not given
are removed, and the extractive answer is shown instead, with a note saying why, when the
reply cites nothing valid, says the sentinel, or the server fails (timeout, refused
connection, broken stream, malformed reply).

Source text is data: it sits inside <sources> tags, with any angle brackets of its own
replaced so that a paper cannot close the tag, and the system prompt says instructions
inside a source are not to be followed. The model's prose, and any message of the server,
is escaped like scraped text and its web and e-mail addresses set in code spans, so no
link, emphasis or HTML reaches the page from it, not even a renderer's autolink.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import ClassVar

from bot.answer.answerer import AnswerContext
from bot.answer.chat_client import LLMFailure, estimated_tokens, first_tokens, stream_reply
from bot.answer.extractive import ExtractiveAnswerer
from bot.answer.templates import Templates, escape_untrusted
from bot.answer.verify import SENTINEL, verify
from bot.records import Answer, AnswererName, Citation, Hit
from bot.settings import LLMSettings, Settings

SENTENCES_PER_SOURCE = 3
log = logging.getLogger(__name__)


class ChatAnswerer:
    """The model's answer from the papers that the extractive answer cites; that answer
    itself when it abstains, or, with a note saying why, when the model's cannot be shown."""

    name: ClassVar[AnswererName] = "llm"

    def __init__(self, llm: LLMSettings):
        self.llm = llm
        self.quoted = ExtractiveAnswerer()

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatAnswerer:
        return cls(settings.llm)

    def answer_stream(self, question: str, hits: list[Hit],
                      context: AnswerContext) -> Iterator[str | Answer]:
        extractive = self.quoted.answer(question, hits, context)
        if extractive.abstained:  # nothing relevant: the server is not asked
            yield extractive
            return
        passages = [Passage(c, context.top_sentences(c.paper.id, SENTENCES_PER_SOURCE))
                    for c in extractive.citations]
        yield from write_answer(extractive, passages, self.llm, context.templates)


@dataclass(frozen=True)
class Passage:
    """A cited paper as the model sees it: its number and its sentences closest to the
    question."""

    citation: Citation
    sentences: list[str]


def build_messages(question: str, passages: list[Passage],
                   templates: Templates) -> list[dict[str, str]]:
    rendered = "\n\n".join(
        templates.render(
            "llm_source", n=p.citation.n, title=_as_data(p.citation.paper.display_title),
            year=p.citation.paper.year_label,
            sentences="\n".join(_as_data(sentence) for sentence in p.sentences))
        for p in passages)
    return [
        {"role": "system", "content": templates.render("llm_system", sentinel=SENTINEL)},
        {"role": "user", "content": templates.render(
            "llm_question", sources=rendered, question=_as_data(question), sentinel=SENTINEL)},
    ]


def write_answer(extractive: Answer, passages: list[Passage], settings: LLMSettings,
                 templates: Templates) -> Iterator[str | Answer]:
    """Yields the reply so far while the model writes, then the verified Answer, or the
    extractive one with a note saying why the model's was not used."""
    messages = build_messages(extractive.question, passages, templates)
    reply = ""
    cut = False
    try:
        with closing(stream_reply(settings, messages)) as pieces:
            for count, piece in enumerate(pieces, start=1):
                reply += piece
                cut = estimated_tokens(count, reply) > settings.max_tokens
                if cut:  # the server ignored max_tokens: the reply ends where it should have
                    reply = first_tokens(reply, settings.max_tokens)
                    break
                yield reply
        text, citations, removed = verify(reply, extractive.citations)
    except LLMFailure as failure:
        log.info("language model answer not used: %s", failure)
        reason = escape_untrusted(str(failure))  # it may quote the server's own words
        yield extractive.model_copy(update={
            "text": templates.render("fallback", reason=reason, answer=extractive.text),
            "note": f"The language model's answer is not shown: {reason}."})
        return
    notes = []
    if removed:
        notes.append("Removed citations of sources that were not given: "
                     + ", ".join(f"[{n}]" for n in removed) + ".")
    if cut:
        notes.append(f"The answer was cut at {settings.max_tokens} tokens (max_tokens).")
    yield Answer(question=extractive.question, text=text, citations=citations,
                 answerer=ChatAnswerer.name, note=" ".join(notes) or None)


def _as_data(text: str) -> str:
    """Text from a paper or a user, unable to open or close the prompt's tags."""
    return " ".join(text.replace("<", "‹").replace(">", "›").split())
