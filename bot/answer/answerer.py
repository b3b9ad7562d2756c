"""What every answerer meets: the question and its ranked papers in, the answer out.

An answerer streams: it may yield drafts of the text (shown as unverified) while it writes,
and yields the final Answer last, always.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Protocol

from bot.answer.templates import Templates
from bot.records import Answer, AnswererName, Hit
from bot.settings import RetrievalSettings, Settings


@dataclass(frozen=True)
class AnswerContext:
    """What an answerer may use besides the question and its hits."""

    templates: Templates
    retrieval: RetrievalSettings  # its evidence thresholds decide which hits answer
    # A cited paper's n abstract sentences closest to the question, by paper id and n.
    top_sentences: Callable[[str, int], list[str]]
    # Whether the answer lists papers ("which papers …", or a follow-up about an earlier
    # answer's papers); None: the question's words tell (bot.answer.evidence).
    as_list: bool | None = None


class Answerer(Protocol):
    name: ClassVar[AnswererName]  # what Answer.answerer says of the answers it writes

    @classmethod
    def from_settings(cls, settings: Settings) -> Answerer: ...

    def answer_stream(self, question: str, hits: list[Hit],
                      context: AnswerContext) -> Iterator[str | Answer]:
        """Drafts of the text while it is written, if any; then the final Answer."""
        ...
