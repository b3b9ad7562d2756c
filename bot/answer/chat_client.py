"""The call to an OpenAI-compatible chat server: one POST, its reply streamed in and parsed.

Every call ends: `LLMSettings.timeout` bounds the whole of it, connecting and streaming,
whatever the server sends; the reply is read to MAX_REPLY_BYTES at most, in lines of at
most MAX_LINE_BYTES, and cut at `max_tokens` counted here, not only by the server (see the
README, "Answers written by a language model"). Every way the server can fail is an
LLMFailure, whose message says why in words for the reader.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

import httpx
import orjson

from bot.answer.templates import without_controls
from bot.settings import LLMSettings

ERROR_DETAIL_CHARS = 200
# What is read of a reply, whatever the server sends: many times the streamed chunks of any
# max_tokens a chat needs.
MAX_REPLY_BYTES = 4_000_000
# One event of the stream is one line; a line this long is not a chat completion chunk.
MAX_LINE_BYTES = 64_000
ERROR_BODY_BYTES = 64_000  # an error page is read this far, for its message
# max_tokens is enforced here too, on a count of what arrives: a streamed piece is a token,
# and a token is taken to be at most CHARS_PER_TOKEN characters (more than a token of
# English usually is), so a reply that is not streamed, or pieces that are too long, are
# cut at max_tokens * CHARS_PER_TOKEN characters.
CHARS_PER_TOKEN = 6
QUEUED_READS = 16  # reads handed over but not yet taken: a bound on memory in between


class LLMFailure(Exception):
    """The model's answer cannot be shown; the message says why, for the reader."""


def estimated_tokens(pieces: int, reply: str) -> int:
    """A streamed piece is a token; a piece longer than CHARS_PER_TOKEN characters (or a
    reply that was not streamed) counts a token per CHARS_PER_TOKEN characters."""
    return max(pieces, -(-len(reply) // CHARS_PER_TOKEN))


def first_tokens(reply: str, max_tokens: int) -> str:
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
    text = " ".join(without_controls(text).split())[:ERROR_DETAIL_CHARS]
    return f" ({text})" if text else ""
