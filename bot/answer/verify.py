"""The check of a model's reply before it is shown: its citations kept only where they
name a source it was given, renumbered in order of use, and its prose escaped like scraped
text so that no link, emphasis or HTML reaches the page from it."""

from __future__ import annotations

import re

from bot.answer.chat_client import LLMFailure
from bot.answer.templates import escape_untrusted, without_controls
from bot.records import Citation

# What the model must reply when the sources do not answer: shared by the prompt and the check.
SENTINEL = "NO ANSWER IN THE SOURCES"
# [3], [1, 2] or [1; 2]: one or more source numbers in brackets.
CITATION_GROUP = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
# The prompt's own tags, which a small model may copy back into its answer.
PROMPT_TAGS = re.compile(r'</?sources?(?:\s+n="\d+")?>')
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([.,;:!?)])")
# A marker followed by "(" or ":" would make it a link, or define one: [1](http://…).
MARKER_THEN_LINK = re.compile(r"(?<!\\)(\[\d+\])([(:])")


def verify(reply: str, given: list[Citation]) -> tuple[str, list[Citation], list[int]]:
    """The reply as Markdown with only valid citations, renumbered [1], [2]… in order of first
    use; the citations it keeps; and the numbers it removed. LLMFailure when the reply says
    the sentinel or cites no given source."""
    if " ".join(SENTINEL.lower().split()) in " ".join(reply.lower().split()):
        raise LLMFailure("the model found no answer in the papers it was given")
    if not reply.strip():
        raise LLMFailure("the model's reply was empty")
    reply = without_controls(PROMPT_TAGS.sub("", reply))
    by_number = {c.n: c for c in given}
    renumbered: dict[int, int] = {}
    removed: list[int] = []
    pieces: list[str] = []
    position = 0
    for group in CITATION_GROUP.finditer(reply):
        pieces.append(escape_untrusted(reply[position:group.start()]))
        position = group.end()
        for n in (int(x) for x in re.split(r"[,;]", group.group(1))):
            if n not in by_number:
                removed.append(n)
                continue
            new = renumbered.setdefault(n, len(renumbered) + 1)
            pieces.append(f"[{new}]")
    pieces.append(escape_untrusted(reply[position:]))
    if not renumbered:
        raise LLMFailure("the model's answer cited none of the papers it was given")
    text = SPACE_BEFORE_PUNCTUATION.sub(r"\1", "".join(pieces))
    text = "\n".join(" ".join(line.split()) for line in text.strip().splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = MARKER_THEN_LINK.sub(r"\1\\\2", text)
    citations = [by_number[old].model_copy(update={"n": new})
                 for old, new in renumbered.items()]
    return text, citations, sorted(set(removed))
