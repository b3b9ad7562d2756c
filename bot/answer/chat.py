"""Answers written by a language model on an OpenAI-compatible chat server, verified first.

The extractive answer is made first; only when it cites papers is the server asked, with
those papers as numbered sources. The reply streams in, then is checked before it is shown:
citations of numbers that were not given are removed, and the extractive answer is shown
instead, with a note saying why, when the reply cites nothing valid, says the sentinel, or
the server fails (timeout, refused connection, broken stream, malformed reply).

Source text is data: it sits inside <sources> tags, with any angle brackets of its own
replaced so that a paper cannot close the tag, and the system prompt says instructions
inside a source are not to be followed. The model's prose, and any message of the server,
is escaped like scraped text and its web and e-mail addresses set in code spans, so no
link, emphasis or HTML reaches the page from it, not even a renderer's autolink.

Every call ends: `LLMSettings.timeout` bounds the whole of it, connecting and streaming,
whatever the server sends; the reply is read to MAX_REPLY_BYTES at most, in lines of at
most MAX_LINE_BYTES, and cut at `max_tokens` counted here, not only by the server.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

import httpx
import orjson

from bot.answer.templates import Templates, escape_untrusted
from bot.records import Answer, Citation
from bot.settings import LLMSettings

# What the model must reply when the sources do not answer: shared by the prompt and the check.
SENTINEL = "NO ANSWER IN THE SOURCES"
SENTENCES_PER_SOURCE = 3
# [3], [1, 2] or [1; 2]: one or more source numbers in brackets.
CITATION_GROUP = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
# The prompt's own tags, which a small model may copy back into its answer.
PROMPT_TAGS = re.compile(r'</?sources?(?:\s+n="\d+")?>')
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([.,;:!?)])")
ERROR_DETAIL_CHARS = 200
# What is read of a reply, whatever the server sends. A streamed token is a chunk of a few
# hundred bytes: 4 MB holds ten thousand of them, far past any max_tokens a chat needs.
MAX_REPLY_BYTES = 4_000_000
# One event of the stream is one line; a line this long is not a chat completion chunk.
MAX_LINE_BYTES = 64_000
ERROR_BODY_BYTES = 64_000  # an error page is read this far, for its message
# max_tokens is enforced here too, on a count of what arrives: a streamed piece is a token,
# and a token is taken to be at most 6 characters (English averages about 4), so a reply
# that is not streamed, or pieces that are too long, are cut at max_tokens * 6 characters.
CHARS_PER_TOKEN = 6
QUEUED_READS = 16  # reads handed over but not yet taken: a bound on memory in between
# A marker followed by "(" or ":" would make it a link, or define one: [1](http://…).
MARKER_THEN_LINK = re.compile(r"(?<!\\)(\[\d+\])([(:])")
# Control characters (but tab and newline): a terminal takes some as commands, even links.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
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
    cut = False
    try:
        with closing(stream_reply(settings, messages)) as pieces:
            for count, piece in enumerate(pieces, start=1):
                reply += piece
                cut = _estimated_tokens(count, reply) > settings.max_tokens
                if cut:  # the server ignored max_tokens: the reply ends where it should have
                    reply = _first_tokens(reply, settings.max_tokens)
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
    yield Answer(question=extractive.question, text=text, citations=citations, answerer="llm",
                 note=" ".join(notes) or None)


def _estimated_tokens(pieces: int, reply: str) -> int:
    """A streamed piece is a token; a piece longer than CHARS_PER_TOKEN characters (or a
    reply that was not streamed) counts a token per CHARS_PER_TOKEN characters."""
    return max(pieces, -(-len(reply) // CHARS_PER_TOKEN))


def _first_tokens(reply: str, max_tokens: int) -> str:
    """The reply cut to `max_tokens` by that count, at the last space before the cut."""
    kept = reply[:max_tokens * CHARS_PER_TOKEN]
    return kept.rsplit(None, 1)[0] if " " in kept.strip() else kept


def stream_reply(settings: LLMSettings, messages: list[dict[str, str]]) -> Iterator[str]:
    """The pieces of the model's reply as the server streams them (POST /chat/completions
    with stream=true). Every way the server can fail becomes an LLMFailure, and the whole
    call, connecting included, ends by `settings.timeout` whatever the server sends."""
    body = {"model": settings.model, "messages": messages, "temperature": settings.temperature,
            "max_tokens": settings.max_tokens, "stream": True}
    # identity: a compressed reply could be small on the wire and huge once expanded.
    headers = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    call = _Call(f"{settings.url}/chat/completions", body, headers, settings.timeout)
    received = False
    try:
        status, content_type = call.head()
        if status != 200:
            raise LLMFailure(f"the server answered HTTP {status}"
                             + _error_detail(call.body(ERROR_BODY_BYTES)))
        if content_type.startswith("text/event-stream"):
            for piece in _events(call.lines()):
                received = True
                yield piece
        else:  # a server that does not stream answers with one completion
            yield _whole_reply(call.body(MAX_REPLY_BYTES))
    except _PastDeadline:
        what = "finish its answer" if received else "answer"
        raise LLMFailure(f"the server at {settings.url} did not {what} within "
                         f"{settings.timeout:g} s") from None
    except httpx.TimeoutException:
        raise LLMFailure(f"the server at {settings.url} did not answer within "
                         f"{settings.timeout:g} s") from None
    except httpx.ConnectError:
        raise LLMFailure(f"the server at {settings.url} cannot be reached") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise LLMFailure(f"{settings.url} cannot be called ({exc})") from None
    except (httpx.HTTPError, OSError):
        raise LLMFailure("the connection to the server broke off before the answer was "
                         "complete") from None
    finally:
        call.stop()


class _PastDeadline(Exception):
    pass


class _Call:
    """One POST, made in a thread of its own so that the caller can give up at the deadline
    whatever the server does: httpx's timeouts bound each read, not the whole call, and a
    server sending a byte a second never trips them. The thread hands over what it reads
    through a small queue; once stopped it ends at its next read, or when that read times
    out (`timeout` again), so it outlives the call by at most one timeout."""

    def __init__(self, url: str, body: dict, headers: dict[str, str], timeout: float):
        self.deadline = time.monotonic() + timeout
        self.queue: queue.Queue[tuple] = queue.Queue(maxsize=QUEUED_READS)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(url, body, headers, timeout),
                                       name="paperchat-llm-call", daemon=True)
        self.thread.start()

    def _run(self, url: str, body: dict, headers: dict[str, str], timeout: float) -> None:
        try:
            with httpx.Client(timeout=timeout) as client, \
                    client.stream("POST", url, json=body, headers=headers) as response:
                encoding = response.headers.get("content-encoding", "identity").lower()
                if encoding not in ("", "identity"):
                    raise httpx.DecodingError(f"the reply was compressed ({encoding})")
                self._hand_over(("head", response.status_code,
                                 response.headers.get("content-type", "")))
                for data in response.iter_raw():
                    if not self._hand_over(("data", data)):
                        return
            self._hand_over(("end",))
        except Exception as exc:  # noqa: BLE001 (the caller maps it, in its own thread)
            self._hand_over(("error", exc))

    def _hand_over(self, item: tuple) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _next(self) -> tuple:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _PastDeadline
        try:
            item = self.queue.get(timeout=remaining)
        except queue.Empty:
            raise _PastDeadline from None
        if item[0] == "error":
            raise item[1]
        return item

    def head(self) -> tuple[int, str]:
        _, status, content_type = self._next()
        return status, content_type

    def chunks(self) -> Iterator[bytes]:
        """The reply's bytes as they arrive, at most MAX_REPLY_BYTES of them."""
        total = 0
        while (item := self._next())[0] == "data":
            total += len(item[1])
            if total > MAX_REPLY_BYTES:
                raise LLMFailure(f"the server's reply was longer than "
                                 f"{MAX_REPLY_BYTES // 1_000_000} MB")
            yield item[1]

    def body(self, limit: int) -> str:
        """The reply's first `limit` bytes, as text."""
        kept = bytearray()
        for data in self.chunks():
            kept += data[:limit - len(kept)]
            if len(kept) >= limit:
                break
        return kept.decode("utf-8", errors="replace")

    def lines(self) -> Iterator[str]:
        """The reply split at line ends (CR, LF or CRLF), none longer than MAX_LINE_BYTES."""
        pending = b""
        for data in self.chunks():
            *complete, pending = (pending + data).splitlines(keepends=True) or [b""]
            if pending.endswith((b"\r", b"\n")):
                complete.append(pending)
                pending = b""
            for line in complete:
                yield _line_text(line)
            if len(pending) > MAX_LINE_BYTES:
                raise LLMFailure(_LINE_TOO_LONG)
        if pending:
            yield _line_text(pending)

    def stop(self) -> None:
        self.stopped.set()


_LINE_TOO_LONG = ("a line of the server's reply was longer than "
                  f"{MAX_LINE_BYTES // 1000} KB")


def _line_text(line: bytes) -> str:
    if len(line) > MAX_LINE_BYTES:
        raise LLMFailure(_LINE_TOO_LONG)
    return line.rstrip(b"\r\n").decode("utf-8", errors="replace")


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
        content, finished = _chunk_content(_parsed(data, "a chat completion stream"))
        if content:
            yield content
    if not finished:
        raise LLMFailure("the connection to the server broke off before the answer was complete")


def _chunk_content(chunk: object) -> tuple[str, bool]:
    """A stream chunk's piece of text, and whether it says the answer is complete."""
    _raise_if_error(chunk)
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if not isinstance(choices, list):
        raise LLMFailure("the server's reply was not a chat completion stream")
    if not choices:
        return "", False
    choice = choices[0]
    delta = choice.get("delta") if isinstance(choice, dict) else None
    if not isinstance(delta, dict | None):
        raise LLMFailure("the server's reply was not a chat completion stream")
    content = (delta or {}).get("content")
    return (content if isinstance(content, str) else ""), bool(choice.get("finish_reason"))


def _whole_reply(text: str) -> str:
    completion = _parsed(text, "a chat completion")
    _raise_if_error(completion)
    try:
        content = completion["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMFailure("the server's reply was not a chat completion") from None
    if not isinstance(content, str):
        raise LLMFailure("the server's reply was not a chat completion")
    return content


def _parsed(text: str, what: str) -> object:
    """JSON from the server. orjson refuses nesting deeper than 1,024, numbers beyond a
    double and lone surrogates, each an LLMFailure here, never a RecursionError or a
    ValueError from a 5,000-digit integer."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise LLMFailure(f"the server's reply was not {what}") from None


def _raise_if_error(payload: object) -> None:
    if isinstance(payload, dict) and payload.get("error"):
        raise LLMFailure("the server reported an error" + _message_of(payload["error"]))


def _error_detail(text: str) -> str:
    """The message of an error reply: its JSON's message when it has one, else its text."""
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        return _shortened(text)
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    return _message_of(error) or _shortened(text)


def _message_of(error: object) -> str:
    """Only a string is taken as a message: printing a structure the server chose (nested
    a thousand deep) could itself fail."""
    message = error.get("message") if isinstance(error, dict) else error
    return _shortened(message) if isinstance(message, str) else ""


def _shortened(text: str) -> str:
    text = " ".join(_without_controls(text).split())[:ERROR_DETAIL_CHARS]
    return f" ({text})" if text else ""


def verify(reply: str, given: list[Citation]) -> tuple[str, list[Citation], list[int]]:
    """The reply as Markdown with only valid citations, renumbered [1], [2]… in order of first
    use; the citations it keeps; and the numbers it removed. LLMFailure when the reply says
    the sentinel or cites no given source."""
    if " ".join(SENTINEL.lower().split()) in " ".join(reply.lower().split()):
        raise LLMFailure("the model found no answer in the papers it was given")
    if not reply.strip():
        raise LLMFailure("the model's reply was empty")
    reply = _without_controls(PROMPT_TAGS.sub("", reply))
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


def _without_controls(text: str) -> str:
    return CONTROL_CHARACTERS.sub(" ", text)


def _as_data(text: str) -> str:
    """Text from a paper or a user, unable to open or close the prompt's tags."""
    return " ".join(text.replace("<", "‹").replace(">", "›").split())
