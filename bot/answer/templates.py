"""The Markdown templates of `prompts/`, checked at start-up.

Each template declares exactly the placeholders the code fills. A missing or unknown
placeholder is an error when the templates load, not a blank or a KeyError in an answer.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from bot.errors import PaperchatError
from prompts import PROMPTS_DIR

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "answer": frozenset({"citations"}),
    "citation": frozenset({"n", "title", "year", "quote", "related"}),
    "abstain": frozenset({"nearest"}),
    "nearest": frozenset({"title", "year", "score"}),
    "card": frozenset({"n", "title", "strength", "authors", "year", "category", "link",
                       "abstract"}),
    # A similar paper in the web app's Similar papers tab (bot/surfaces/web/similar.py).
    "similar_card": frozenset({"title", "authors", "year", "links", "match", "abstract",
                               "evidence"}),
    # The language model's prompt (bot/answer/chat.py), and the note shown when its answer
    # is not used.
    "llm_system": frozenset({"sentinel"}),
    "llm_question": frozenset({"sources", "question", "sentinel"}),
    "llm_source": frozenset({"n", "title", "year", "sentences"}),
    "fallback": frozenset({"reason", "answer"}),
}
# Characters that would turn scraped text into Markdown structure or HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
# What a renderer with GFM autolinks makes a link of, bare: an address with a scheme
# (https://…), a www. host, a mailto:/xmpp: address, an e-mail address. The address ends at
# a space or at a character that could end a code span, a table cell or an HTML tag.
_LINKABLE = re.compile(r"(?:[a-z][a-z0-9+.\-]*://|www\.|(?:mailto|xmpp):)[^\s<>`|\\]*"
                       r"|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.IGNORECASE)
# Punctuation that ends a sentence rather than an address, as GFM trims it too.
_TRAILING = ".,:;!?'\"*_~"
# Control characters (but tab and newline): a terminal takes some as commands, even links.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class TemplateError(PaperchatError):
    pass


def escape_markdown(text: str) -> str:
    """Scraped text shown as itself: no links, emphasis or HTML can come from a paper."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def without_controls(text: str) -> str:
    """Text that a language model or a server wrote, each control character a space."""
    return CONTROL_CHARACTERS.sub(" ", text)


def escape_untrusted(text: str) -> str:
    """Text that a language model or a server wrote, shown as itself: escaped like scraped
    text, and each address in it set in a code span, where no renderer makes a link of it
    (autolinks are not made inside code), so it still reads as the address it is."""
    pieces: list[str] = []
    position = 0
    for match in _LINKABLE.finditer(text):
        address, trail = _without_trailing_punctuation(match.group())
        pieces += [escape_markdown(text[position:match.start()]), f"`{address}`",
                   escape_markdown(trail)]
        position = match.end()
    pieces.append(escape_markdown(text[position:]))
    return "".join(pieces)


def _without_trailing_punctuation(address: str) -> tuple[str, str]:
    """`https://x.example/a).` is the address `https://x.example/a` and the text `).`: a
    closing parenthesis stays only when it closes one opened in the address."""
    end = len(address)
    while end > 1 and (address[end - 1] in _TRAILING or (
            address[end - 1] == ")" and address.count("(", 0, end) < address.count(")", 0, end))):
        end -= 1
    return address[:end], address[end:]


def placeholders_of(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


class Templates:
    def __init__(self, directory: Path = PROMPTS_DIR):
        self.texts: dict[str, str] = {}
        for name, expected in PLACEHOLDERS.items():
            path = Path(directory) / f"{name}.md"
            try:
                text = path.read_text(encoding="utf-8").rstrip("\n")
            except OSError as exc:
                raise TemplateError(f"template {path} cannot be read: {exc}") from None
            try:
                found = placeholders_of(text)
            except ValueError as exc:
                raise TemplateError(f"template {path} is malformed: {exc}") from None
            if found != expected:
                missing, unknown = sorted(expected - found), sorted(found - expected)
                raise TemplateError(f"template {path}: missing placeholders {missing}, "
                                    f"unknown placeholders {unknown}")
            self.texts[name] = text

    def render(self, name: str, **values: object) -> str:
        if set(values) != PLACEHOLDERS[name]:
            raise TemplateError(f"template {name!r} takes {sorted(PLACEHOLDERS[name])}, "
                                f"got {sorted(values)}")
        return self.texts[name].format(**values)
