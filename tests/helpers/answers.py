"""Checks of what became of a language model's reply in an answer."""

from __future__ import annotations

import re

from bot import Answer


def assert_no_live_markup(text: str) -> None:
    """No link or HTML tag that the page would render: at most their escaped text."""
    assert not re.search(r"(?<!\\)\]\(", text) and not re.search(r"(?<!\\)<[a-z/]", text)


def assert_fell_back(answer: Answer, reason: str) -> None:
    assert answer.answerer == "extractive"
    assert not answer.abstained and answer.citations
    assert answer.note and re.search(reason, answer.note), answer.note
    assert answer.text.startswith("*The language model's answer is not shown: ")
    assert re.search(reason, answer.text.splitlines()[0])
    assert "These papers in the library address it" in answer.text
