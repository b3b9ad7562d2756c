"""A language model's server that misbehaves on purpose: what it says stays text, and the
call ends on time.

Stub servers on 127.0.0.1 (tests/helpers/llm_stub.py) put markup and links into an error message and
into the model's prose, send hostile JSON (nested a thousand deep, 5,000-digit integers),
drip one piece a second, send bytes without a line end, or megabytes of reply. Each answer
is still the extractive one with a note, or the model's checked and cut one, within the
deadline; the page in chromium shows no image, no link and fetches nothing from the server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import pytest
from markdown_it import MarkdownIt

from bot import PaperBot
from bot.answer.chat_client import CHARS_PER_TOKEN, MAX_LINE_BYTES, MAX_REPLY_BYTES
from bot.answer.templates import escape_untrusted
from bot.answer.verify import verify
from bot.records import Citation, Paper
from bot.surfaces.cli import main
from bot.surfaces.web import SEARCHING, build_app
from tests.helpers.answers import assert_fell_back, assert_no_live_markup
from tests.helpers.llm_stub import MAX_TOKENS, QUESTION, llm_bot, raw, sse
from tests.helpers.waiting import wait_until

# Markup a server puts into its error message: the page must neither show nor fetch it.
PHISHING = ("Session expired. <img src={base}/track.png> "
            "[Click here to log in again]({base}/phish)")
# Addresses in the model's prose, each of which some Markdown renderer makes a link of.
ADDRESSES = ("Log in at https://evil.example/login or www.evil.example, write to "
             "mailto:admin@evil.example or admin@evil.example, as [1](http://evil.example) "
             "says. It holds [1].")
ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://|www\.|mailto:|[\w.+-]+@[\w-]+\.", re.IGNORECASE)
CODE_SPAN = re.compile(r"`[^`]*`")


@pytest.fixture(autouse=True)
def short_answers(monkeypatch):
    monkeypatch.setenv("PAPERCHAT_LLM__MAX_TOKENS", str(MAX_TOKENS))


def _citations(count: int) -> list[Citation]:
    return [Citation(n=n, paper=Paper(id=f"p{n}", title=f"Paper {n}", abstract="A sentence."),
                     quote="A sentence.", score=1.0) for n in range(1, count + 1)]


def assert_inert(markdown: str) -> None:
    """Neither CommonMark nor a GFM autolink makes a link or an image of it: no link syntax
    is live, and every address sits in a code span, where no renderer links it."""
    assert_no_live_markup(markdown)
    html = MarkdownIt("commonmark").render(markdown)
    assert "<a " not in html and "<img" not in html, html
    assert not ADDRESS.search(CODE_SPAN.sub("", markdown)), markdown


def base_of(stub) -> str:
    return stub.url.removesuffix("/v1")


# -- 4: a server's error message --------------------------------------------------------------

def error_with_markup(stub) -> Callable[[BaseHTTPRequestHandler], None]:
    message = PHISHING.format(base=base_of(stub))
    return lambda h: raw(h, 503, "application/json",
                         json.dumps({"error": {"message": message, "type": "unavailable"}}))


def test_a_servers_error_message_is_shown_as_text(stub, seed_library_dir, embedder):
    bot = llm_bot(seed_library_dir, embedder, stub.url, timeout=5)
    stub.reply = error_with_markup(stub)
    answer = bot.ask(QUESTION)
    assert_fell_back(answer, r"HTTP 503 \(Session expired")
    for markdown in (answer.text, answer.note):
        assert_inert(markdown)
        assert "track.png" in markdown and "Click here to log in again" in markdown


# -- 5: addresses in the model's prose ----------------------------------------------------------

def test_the_models_addresses_are_no_links_in_answer_text():
    text, citations, _ = verify(ADDRESSES, _citations(1))
    assert_inert(text)
    # Still readable: each address is there, whole, and the sentence around it.
    for address in ("https://evil.example/login", "www.evil.example",
                    "mailto:admin@evil.example", "http://evil.example"):
        assert f"`{address}`" in text
    assert text.startswith("Log in at `https://evil.example/login` or `www.evil.example`, ")
    assert "[1]\\(`http://evil.example`) says" in text and text.endswith("It holds [1].")
    assert [c.n for c in citations] == [1]


@pytest.mark.parametrize("reply", [
    "It holds [1](http://evil.example).",
    "It holds [1]: http://evil.example",  # would define [1] as a link everywhere
    "It holds [1][2](https://evil.example) [99](https://evil.example).",
    "It holds [1].\n\n[1]: https://evil.example",
    "It holds [1] <https://evil.example> and <admin@evil.example>.",
    "It holds [1], see \x1b]8;;https://evil.example\x07here\x1b]8;;\x07.",  # a terminal link
])
def test_no_citation_marker_becomes_a_link(reply):
    text, _, _ = verify(reply, _citations(2))
    assert_inert(text)
    assert "\x1b" not in text and "\x07" not in text


def test_escape_untrusted_keeps_sentences_around_addresses():
    assert (escape_untrusted("See (https://x.example/a_(b)), or bob@x.example.")
            == "See (`https://x.example/a_(b)`), or `bob@x.example`.")
    assert escape_untrusted("No address: e.g. 3.5 *bold*") == "No address: e.g. 3.5 \\*bold\\*"


# -- 7: hostile JSON ------------------------------------------------------------------------

DEEP = "[" * 1000 + "]" * 1000
DEEPER = "[" * 5000 + "]" * 5000
HUGE_INTEGER = "9" * 5000


def chunk(content: str) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": content}}]})


HOSTILE_JSON = {
    "stream-nested-1000": f"data: {DEEP}\n\n",
    "stream-nested-5000": f"data: {DEEPER}\n\n",
    "stream-error-nested": f'data: {{"error": {{"message": {DEEP}}}}}\n\n',
    "stream-huge-integer": f'data: {{"choices": [{{"index": {HUGE_INTEGER}}}]}}\n\n',
    "stream-lone-surrogate": 'data: {"choices": [{"delta": {"content": "\\ud800"}}]}\n\n',
    "stream-delta-is-a-list": 'data: {"choices": [{"delta": [1, 2]}]}\n\n',
    "stream-infinity": 'data: {"choices": [{"delta": {"content": "x"}, "index": 1e999}]}\n\n',
}
WHOLE_HOSTILE_JSON = {
    "whole-nested-1000": DEEP,
    "whole-huge-integer": f'{{"choices": [{{"message": {{"content": "x [1]"}}, '
                          f'"index": {HUGE_INTEGER}}}]}}',
    "whole-error-nested": f'{{"error": {DEEP}}}',
    "whole-message-nested": f'{{"choices": [{{"message": {{"content": {DEEP}}}}}]}}',
}


def hostile_reply(name: str) -> Callable[[BaseHTTPRequestHandler], None]:
    if name in HOSTILE_JSON:
        return lambda h: raw(h, 200, "text/event-stream", HOSTILE_JSON[name])
    status = 500 if "error" in name else 200
    return lambda h: raw(h, status, "application/json", WHOLE_HOSTILE_JSON[name])


@pytest.mark.parametrize("name", [*HOSTILE_JSON, *WHOLE_HOSTILE_JSON])
def test_hostile_json_in_a_reply_falls_back(stub, seed_library_dir, embedder, name):
    bot = llm_bot(seed_library_dir, embedder, stub.url, timeout=5)
    stub.reply = hostile_reply(name)
    answer = bot.ask(QUESTION)
    assert_fell_back(answer, r"not a chat completion|reported an error|HTTP 500")
    assert_inert(answer.text)


def test_hostile_json_costs_the_cli_one_line(stub, seed_library_dir, capsys):
    stub.reply = hostile_reply("stream-error-nested")
    code = main(["ask", QUESTION, "--index", str(seed_library_dir), "--llm-url", stub.url,
                 "--llm-timeout", "5"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in out + err
    assert out.startswith("*The language model's answer is not shown: the server reported an "
                          "error")
    assert "These papers in the library address it" in out


def test_hostile_json_leaves_the_web_chat_with_an_answer(stub, seed_library_dir, embedder):
    stub.reply = hostile_reply("stream-nested-1000")
    app = build_app(llm_bot(seed_library_dir, embedder, stub.url, timeout=5))
    respond = next(f.fn for f in app.fns.values() if f.name == "respond")
    *_, (chat, box, citations, _) = respond(QUESTION, [], [], "Any", "Any", "", "Any", "Any")
    shown = chat[-1]["content"]
    assert SEARCHING not in shown and box == ""
    assert shown.startswith("*The language model's answer is not shown: ")
    assert citations


# -- 10: every call ends ----------------------------------------------------------------------

def _headers(handler: BaseHTTPRequestHandler, content_type: str = "text/event-stream") -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Connection", "close")
    handler.end_headers()


def endless(write: Callable[[BaseHTTPRequestHandler], None]):
    """A reply that never ends on its own: `write` again and again, until the client leaves."""
    def reply(handler: BaseHTTPRequestHandler) -> None:
        _headers(handler)
        try:
            while True:
                write(handler)
        except OSError:  # the client gave up: that is the point
            pass
    return reply


def a_piece_a_second(handler):
    handler.wfile.write(f"data: {chunk('credit ')}\n\n".encode())
    handler.wfile.flush()
    time.sleep(1)


def bytes_without_a_line_end(pause: float):
    def write(handler):
        handler.wfile.write(b"x" * 1000)
        handler.wfile.flush()
        time.sleep(pause)
    return write


def keep_alive_comments(handler):  # an SSE comment: valid, and no content at all
    handler.wfile.write(b": keep-alive\n" * 5000)


def empty_pieces(handler):
    handler.wfile.write(f"data: {chunk('')}\n\n".encode() * 500)


SLOW_REPLIES = {
    "a-piece-a-second": (endless(a_piece_a_second), r"did not finish its answer within 2 s"),
    "slow-bytes-without-a-line-end": (endless(bytes_without_a_line_end(0.2)),
                                      r"did not answer within 2 s"),
    "fast-bytes-without-a-line-end": (endless(bytes_without_a_line_end(0)),
                                      rf"a line of the server's reply was longer than "
                                      rf"{MAX_LINE_BYTES // 1000} KB"),
    "10-MB-of-comments": (endless(keep_alive_comments),
                          rf"longer than {MAX_REPLY_BYTES // 1_000_000} MB"),
    "10-MB-of-empty-pieces": (endless(empty_pieces),
                              rf"longer than {MAX_REPLY_BYTES // 1_000_000} MB"),
    "10-MB-not-streamed": (lambda h: raw(h, 200, "application/json", json.dumps(
        {"choices": [{"message": {"content": "It holds [1]. " * 750_000}}]})),
                           rf"longer than {MAX_REPLY_BYTES // 1_000_000} MB"),
    "headers-never-end": (lambda h: (h.wfile.write(b"HTTP/1.1 200 OK\r\n"), h.wfile.flush(),
                                     [time.sleep(0.5) or h.wfile.write(b"X-A: b\r\n")
                                      for _ in range(20)]),
                          r"did not answer within 2 s"),
}
DEADLINE_S = 2
SLACK_S = 1.5


def timed_ask(bot: PaperBot):
    started = time.monotonic()
    answer = bot.ask(QUESTION)
    return answer, time.monotonic() - started


@pytest.mark.parametrize("name", list(SLOW_REPLIES))
def test_a_call_ends_by_its_deadline(stub, seed_library_dir, embedder, name):
    reply, reason = SLOW_REPLIES[name]
    bot = llm_bot(seed_library_dir, embedder, stub.url, timeout=DEADLINE_S)
    stub.reply = reply
    answer, elapsed = timed_ask(bot)
    assert elapsed < DEADLINE_S + SLACK_S, elapsed
    assert_fell_back(answer, reason)


def test_the_calls_thread_ends_soon_after(stub, seed_library_dir, embedder):
    bot = llm_bot(seed_library_dir, embedder, stub.url, timeout=DEADLINE_S)
    stub.reply = endless(a_piece_a_second)
    before = set(threading.enumerate())
    timed_ask(bot)
    (call,) = [t for t in set(threading.enumerate()) - before if t.name == "paperchat-llm-call"]
    call.join(timeout=SLACK_S)  # it stops at the next piece, a second at most
    assert not call.is_alive()


def test_max_tokens_is_enforced_on_a_stream(stub, seed_library_dir, embedder):
    bot = llm_bot(seed_library_dir, embedder, stub.url, timeout=DEADLINE_S)
    piece = f"data: {chunk('It holds [1]. ')}\n\n".encode()
    stub.reply = endless(lambda h: h.wfile.write(piece))
    answer, elapsed = timed_ask(bot)
    assert elapsed < DEADLINE_S + SLACK_S
    assert answer.answerer == "llm"
    assert answer.text.count("It holds") <= MAX_TOKENS
    assert answer.note == f"The answer was cut at {MAX_TOKENS} tokens (max_tokens)."


@pytest.mark.parametrize("pieces", [1, 40], ids=["one-completion", "few-long-pieces"])
def test_max_tokens_is_enforced_on_long_pieces(stub, seed_library_dir, embedder, pieces):
    """A reply of 1 MB in one completion, or in pieces of 25 KB: cut by its length."""
    text = "It holds [1]. " * (1_000_000 // 14 // pieces)
    if pieces == 1:
        stub.reply = lambda h: raw(h, 200, "application/json", json.dumps(
            {"choices": [{"message": {"content": text}}]}))
    else:
        stub.reply = lambda h: sse(h, [text] * pieces)
    bot = llm_bot(seed_library_dir, embedder, stub.url, timeout=5)
    answer = bot.ask(QUESTION)
    assert answer.answerer == "llm"
    assert len(answer.text) <= MAX_TOKENS * CHARS_PER_TOKEN
    assert answer.text.startswith("It holds [1]. It holds [1].")
    assert answer.note == f"The answer was cut at {MAX_TOKENS} tokens (max_tokens)."


def test_a_well_behaved_slow_model_is_not_cut(stub, seed_library_dir, embedder):
    """Pieces 0.2 s apart, well inside the deadline: the whole answer, no note."""
    def reply(handler):
        _headers(handler)
        for piece in ["Synthetic returns ", "bridge ", "long delays ", "[1]."]:
            handler.wfile.write(f"data: {chunk(piece)}\n\n".encode())
            handler.wfile.flush()
            time.sleep(0.2)
        handler.wfile.write(b"data: [DONE]\n\n")
    stub.reply = reply
    answer = llm_bot(seed_library_dir, embedder, stub.url, timeout=3).ask(QUESTION)
    assert answer.answerer == "llm" and answer.note is None
    assert answer.text == "Synthetic returns bridge long delays [1]."


# -- 4, 5 and 7 in a browser --------------------------------------------------------------------

def model_writes_addresses(handler):
    sse(handler, [ADDRESSES])


@pytest.mark.parametrize("case", ["error-message", "model-addresses", "hostile-json"])
def test_the_page_shows_the_servers_text_as_text(stub, seed_library_dir, embedder, serve,
                                                  case):
    """Debian's chromium, as in tests/test_browser.py: no image or link from the server or
    the model on the page, nothing fetched from it, and an answer instead of 'Searching…'."""
    # Skipped without chromium, as tests/test_browser.py is (a failure where it is required).
    from tests.helpers.browser import ask, page_at, playwright_api, request_sentinel, shot

    sync_api = playwright_api()
    stub.reply = {"error-message": error_with_markup(stub),
                  "model-addresses": model_writes_addresses,
                  "hostile-json": hostile_reply("stream-error-nested")}[case]
    expected = {"error-message": "Click here to log in again",
                "model-addresses": "https://evil.example/login",
                "hostile-json": "the server reported an error"}[case]
    url = serve(llm_bot(seed_library_dir, embedder, stub.url, timeout=5))
    base = base_of(stub)
    with page_at(url) as page:
        ask(page, QUESTION)
        answer = page.locator(".message.bot").last
        sync_api.expect(answer).to_contain_text(expected)
        sync_api.expect(answer).not_to_contain_text("Searching")
        # Any image the answer asked for was requested before this one.
        request_sentinel(page, f"{base}/sentinel.png")
        wait_until(lambda: "/sentinel.png" in stub.fetched, timeout=30, what="the sentinel")
        shot(page, f"llm-{case}")
        links = page.eval_on_selector_all(
            ".message.bot a", "links => links.map(a => a.getAttribute('href') || '')")
        images = page.eval_on_selector_all(
            ".message.bot img", "images => images.map(i => i.getAttribute('src') || '')")
    assert not [h for h in links if base in h or "evil.example" in h or h.startswith("mailto:")
                or "phish" in h], links
    assert not [s for s in images if base in s or "track" in s], images
    assert stub.fetched == ["/sentinel.png"]
