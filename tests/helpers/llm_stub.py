"""A stub OpenAI-style server, for replies a real language model cannot give on cue."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot import PaperBot
from bot.settings import get_settings

QUESTION = "Which papers study credit assignment over long delays?"
# The model's answers are capped: the tests check the contract, not the prose.
MAX_TOKENS = 120


def llm_bot(seed_library_dir, embedder, url: str, **llm) -> PaperBot:
    settings = get_settings(llm={"url": url, **llm})
    return PaperBot.open(seed_library_dir, embedder=embedder, settings=settings)


class Stub:
    """An OpenAI-style endpoint whose reply a test sets; it records every request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fetched: list[str] = []  # GET paths: what a page showing the reply loaded from it
        self.reply: Callable[[BaseHTTPRequestHandler], None] = lambda h: sse(h, ["Nothing."])
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body)})
                stub.reply(self)

            def do_GET(self):
                stub.fetched.append(self.path)
                raw(self, 404, "text/plain", "not here")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sse(handler: BaseHTTPRequestHandler, pieces: list[str], *, done: bool = True) -> None:
    """A chat completion streamed as server-sent events, one chunk per piece."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Connection", "close")
    handler.end_headers()
    for piece in pieces:
        chunk = {"object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
    if done:
        last = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        handler.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())


def raw(handler: BaseHTTPRequestHandler, status: int, content_type: str, body: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body.encode())))
    handler.end_headers()
    handler.wfile.write(body.encode())
