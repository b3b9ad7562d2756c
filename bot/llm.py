"""Answers written by a language model on an OpenAI-compatible chat server, verified first.

The extractive answer is made first; only when it cites papers is the server asked, with
those papers as numbered sources. The reply streams in, then is checked before it is shown:
citations of numbers that were not given are removed, and the extractive answer is shown
instead, with a note saying why, when the reply cites nothing valid, says the sentinel, or
the server fails (timeout, refused connection, broken stream, malformed reply).

Source text is data: it sits inside <sources> tags, with any angle brackets of its own
replaced so that a paper cannot close the tag, and the system prompt says instructions
inside a source are not to be followed. The model's prose is escaped like scraped text, so
no link, emphasis or HTML reaches the page from it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from bot.records import Answer, Citation
from bot.settings import LLMSettings
from bot.templates import Templates, escape_markdown

# What the model must reply when the sources do not answer: shared by the prompt and the check.
SENTINEL = "NO ANSWER IN THE SOURCES"
SENTENCES_PER_SOURCE = 3
# [3], [1, 2] or [1; 2]: one or more source numbers in brackets.
CITATION_GROUP = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
# The prompt's own tags, which a small model may copy back into its answer.
PROMPT_TAGS = re.compile(r'</?sources?(?:\s+n="\d+")?>')
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([.,;:!?)])")
ERROR_DETAIL_CHARS = 200
log = logging.getLogger(__name__)


class LLMFailure(Exception):
    """The model's answer cannot be shown; the message says why, for the reader."""


@dataclass(frozen=True)
class Source:
    """A cited paper as the model sees it: its number and its sentences closest to the
    question."""

    citation: Citation
    sentences: list[str]


def build_messages(question: str, sources: list[Source],
                   templates: Templates) -> list[dict[str, str]]:
    rendered = "\n\n".join(
        templates.render(
            "llm_source", n=s.citation.n, title=_as_data(s.citation.paper.display_title),
            year=s.citation.paper.year or "n.d.",
            sentences="\n".join(_as_data(sentence) for sentence in s.sentences))
        for s in sources)
    return [
        {"role": "system", "content": templates.render("llm_system", sentinel=SENTINEL)},
        {"role": "user", "content": templates.render(
            "llm_question", sources=rendered, question=_as_data(question), sentinel=SENTINEL)},
    ]


def write_answer(extractive: Answer, sources: list[Source], settings: LLMSettings,
                 templates: Templates) -> Iterator[str | Answer]:
    """Yields the reply so far while the model writes, then the verified Answer, or the
    extractive one with a note saying why the model's was not used."""
    messages = build_messages(extractive.question, sources, templates)
    reply = ""
    try:
        for piece in stream_reply(settings, messages):
            reply += piece
            yield reply
        text, citations, removed = verify(reply, extractive.citations)
    except LLMFailure as failure:
        log.info("language model answer not used: %s", failure)
        yield extractive.model_copy(update={
            "text": templates.render("fallback", reason=str(failure), answer=extractive.text),
            "note": f"The language model's answer is not shown: {failure}."})
        return
    note = None
    if removed:
        note = ("Removed citations of sources that were not given: "
                + ", ".join(f"[{n}]" for n in removed) + ".")
    yield Answer(question=extractive.question, text=text, citations=citations, answerer="llm",
                 note=note)


def stream_reply(settings: LLMSettings, messages: list[dict[str, str]]) -> Iterator[str]:
    """The pieces of the model's reply as the server streams them (POST /chat/completions
    with stream=true). Every way the server can fail becomes an LLMFailure."""
    body = {"model": settings.model, "messages": messages, "temperature": settings.temperature,
            "max_tokens": settings.max_tokens, "stream": True}
    headers = {"Accept": "text/event-stream"}
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    url = f"{settings.url}/chat/completions"
    try:
        with httpx.Client(timeout=settings.timeout) as client, \
                client.stream("POST", url, json=body, headers=headers) as response:
            if response.status_code != 200:
                response.read()
                raise LLMFailure(f"the server answered HTTP {response.status_code}"
                                 + _error_detail(response.text))
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                yield from _events(response.iter_lines())
            else:  # a server that does not stream answers with one completion
                response.read()
                yield _whole_reply(response.text)
    except httpx.TimeoutException:
        raise LLMFailure(f"the server at {settings.url} did not answer within "
                         f"{settings.timeout:g} s") from None
    except httpx.ConnectError:
        raise LLMFailure(f"the server at {settings.url} cannot be reached") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise LLMFailure(f"{settings.url} cannot be called ({exc})") from None
    except httpx.HTTPError:
        raise LLMFailure("the connection to the server broke off before the answer was "
                         "complete") from None


def _events(lines: Iterator[str]) -> Iterator[str]:
    """The content pieces of a server-sent event stream of chat completion chunks."""
    finished = False
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, event names
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            finished = True
            break
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            raise LLMFailure("the server's reply was not a chat completion stream") from None
        _raise_if_error(chunk)
        try:
            choice = chunk["choices"][0] if chunk["choices"] else {}
            content = choice.get("delta", {}).get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise LLMFailure("the server's reply was not a chat completion stream") from None
        if isinstance(content, str) and content:
            yield content
        if choice.get("finish_reason"):
            finished = True
    if not finished:
        raise LLMFailure("the connection to the server broke off before the answer was complete")


def _whole_reply(text: str) -> str:
    try:
        completion = json.loads(text)
        _raise_if_error(completion)
        content = completion["choices"][0]["message"]["content"]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError):
        raise LLMFailure("the server's reply was not a chat completion") from None
    if not isinstance(content, str):
        raise LLMFailure("the server's reply was not a chat completion")
    return content


def _raise_if_error(payload: object) -> None:
    if isinstance(payload, dict) and payload.get("error"):
        error = payload["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise LLMFailure("the server reported an error" + _error_detail(str(message)))


def _error_detail(text: str) -> str:
    try:
        payload = json.loads(text)
        error = payload.get("error", payload) if isinstance(payload, dict) else payload
        text = str(error.get("message", error) if isinstance(error, dict) else error)
    except json.JSONDecodeError:
        pass
    text = " ".join(text.split())[:ERROR_DETAIL_CHARS]
    return f" ({text})" if text else ""


def verify(reply: str, given: list[Citation]) -> tuple[str, list[Citation], list[int]]:
    """The reply as Markdown with only valid citations, renumbered [1], [2]… in order of first
    use; the citations it keeps; and the numbers it removed. LLMFailure when the reply says
    the sentinel or cites no given source."""
    if " ".join(SENTINEL.lower().split()) in " ".join(reply.lower().split()):
        raise LLMFailure("the model found no answer in the papers it was given")
    if not reply.strip():
        raise LLMFailure("the model's reply was empty")
    reply = PROMPT_TAGS.sub("", reply)
    by_number = {c.n: c for c in given}
    renumbered: dict[int, int] = {}
    removed: list[int] = []
    pieces: list[str] = []
    position = 0
    for group in CITATION_GROUP.finditer(reply):
        pieces.append(escape_markdown(reply[position:group.start()]))
        position = group.end()
        for n in (int(x) for x in re.split(r"[,;]", group.group(1))):
            if n not in by_number:
                removed.append(n)
                continue
            new = renumbered.setdefault(n, len(renumbered) + 1)
            pieces.append(f"[{new}]")
    pieces.append(escape_markdown(reply[position:]))
    if not renumbered:
        raise LLMFailure("the model's answer cited none of the papers it was given")
    text = SPACE_BEFORE_PUNCTUATION.sub(r"\1", "".join(pieces))
    text = "\n".join(" ".join(line.split()) for line in text.strip().splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text)
    citations = [by_number[old].model_copy(update={"n": new})
                 for old, new in renumbered.items()]
    return text, citations, sorted(set(removed))


def _as_data(text: str) -> str:
    """Text from a paper or a user, unable to open or close the prompt's tags."""
    return " ".join(text.replace("<", "‹").replace(">", "›").split())
