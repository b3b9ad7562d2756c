"""The web app as a whole: `ChatApp` puts the tabs together and names the API endpoints;
`launch` serves it."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

import gradio as gr

from bot.paperbot import PaperBot
from bot.surfaces.login import LoginGuard
from bot.surfaces.uploads import UploadDesk
from bot.surfaces.web.add import AddTab, header
from bot.surfaces.web.chat import ASK_CONCURRENCY, CITATION_ANCHOR, ChatTab
from bot.surfaces.web.common import turns_from, user_errors
from bot.surfaces.web.papers import PapersTab
from bot.surfaces.web.similar import SimilarTab

FAVICON = Path(__file__).resolve().parent.parent / "favicon.png"
# The supporting sentence in a card: a translucent marker that keeps the theme's text colour,
# so it reads in dark mode too (the browser's default is black on bright yellow).
CSS = """
mark { background-color: rgba(250, 204, 21, 0.35); color: inherit; border-radius: 3px;
       padding: 0 2px; }
.citation-card { scroll-margin: 80px; border-radius: 8px; }
.citation-card.flash { animation: flash 1.6s ease-out; }
@keyframes flash { from { box-shadow: 0 0 0 3px rgba(250, 204, 21, 0.8); }
                   to { box-shadow: 0 0 0 3px rgba(250, 204, 21, 0); } }
"""
# A click on [n] scrolls its card into view and flashes it, instead of following the link
# (Gradio opens Markdown links in a new tab).
HEAD = f"""<script>
document.addEventListener("click", (event) => {{
  const link = event.target.closest && event.target.closest('a[href^="#{CITATION_ANCHOR}"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  card.scrollIntoView({{behavior: "smooth", block: "center"}});
  card.classList.remove("flash");
  void card.offsetWidth;
  card.classList.add("flash");
}}, true);
</script>"""
QUEUE_SIZE = 256  # requests waiting for a worker; the load bench's users fit, with room
# Sessions whose state the server keeps (the oldest is dropped first). Each holds a copy of
# every component's settings, and every HTTP call without a session makes one: Gradio's
# default of 10,000 lets memory grow under load (bench/load.py measures it).
SESSION_CAPACITY = 500


class ChatApp:
    """The app's tabs and their handlers. Every tab answers with `self.bot`, which is
    replaced when papers are added through the app."""

    def __init__(self, bot: PaperBot):
        self.bot = bot
        self.desk = UploadDesk(max_bytes=int(bot.settings.server.max_upload_mb * 1e6))
        self.chat, self.similar = ChatTab(self), SimilarTab(self)
        self.papers, self.add = PapersTab(self), AddTab(self)

    def build(self) -> gr.Blocks:
        papers = self.bot.papers
        with gr.Blocks(title="paperchat", analytics_enabled=False) as app:
            self.header = gr.Markdown(header(papers))
            with gr.Tabs() as self.tabs:
                self.chat.build(papers)
                self.similar.build(papers)
                self.papers.build()
                self.add.build()
            self._api_endpoints()
        return app

    # -- the API ---------------------------------------------------------------------------

    def _api_endpoints(self) -> None:
        for fn in (self.ask, self.search, self.similar_papers):
            gr.api(fn, api_name="similar" if fn == self.similar_papers else fn.__name__,
                   concurrency_limit=ASK_CONCURRENCY if fn == self.ask else "default")

    def ask(self, question: str, k: int = 5, history: list[dict] | None = None) -> dict:
        """Answer a question with citations; JSON of paperchat's Answer. `history`: the
        conversation's earlier turns, oldest first, each {"question": ..., "cited": [paper
        ids]}, for a follow-up that refers back to them."""
        with user_errors():
            earlier = turns_from(history)
            return self.bot.ask(question, k=int(k), history=earlier).model_dump(mode="json")

    def search(self, query: str, k: int = 10) -> list[dict]:
        """The k papers that best match the query; JSON of paperchat's Hit."""
        with user_errors():
            return [h.model_dump(mode="json") for h in self.bot.search(query, k=int(k))]

    def similar_papers(self, ref: str, k: int = 5) -> list[dict]:
        """Papers similar to a paper id, arXiv id, title or pasted text."""
        with user_errors():
            return [h.model_dump(mode="json") for h in self.bot.similar(ref, k=int(k))]


def build_app(bot: PaperBot) -> gr.Blocks:
    return ChatApp(bot).build()


def launch(bot: PaperBot, host: str = "127.0.0.1", port: int = 7860, *,
           block: bool = True, auth: list[tuple[str, str]] | None = None, mcp: bool = False
           ) -> tuple[gr.Blocks, str]:
    """Serve the chat. Never a public share link; analytics off; a login if `auth` names
    any (user, password) pairs. `mcp`: the MCP tools too, at /mcp, behind the same login."""
    chat = ChatApp(bot)
    app = chat.build()
    guard = LoginGuard(auth) if auth else None
    port = port or free_port(host)
    # Retrieval is CPU bound and short: two workers match the cores, the rest wait in a
    # bounded queue (README, "Serving many users"): past it a request is refused at once.
    app.queue(default_concurrency_limit=2, max_size=QUEUE_SIZE)
    if not auth and not _is_loopback(host):
        print(f"paperchat: serving on {host} without a login: anyone who can reach it can use "
              "it (see `paperchat serve --auth-file`)", file=sys.stderr)
    _, url, _ = app.launch(
        server_name=host, server_port=port, share=False, ssr_mode=False,
        prevent_thread_lock=not block, show_error=False, quiet=not block,
        footer_links=["api"], theme=gr.themes.Soft(), favicon_path=str(FAVICON),
        css=CSS, head=HEAD, auth=guard, auth_message="paperchat: log in to continue",
        max_file_size=int(bot.settings.server.max_upload_mb * 1e6),
        state_session_capacity=SESSION_CAPACITY,
        app_kwargs=_mcp_over_http(chat, host, port, guard, block) if mcp else None)
    return app, url


def _mcp_over_http(chat: ChatApp, host: str, port: int, guard: LoginGuard | None,
                   block: bool) -> dict:
    """The MCP server's hook on the app (bot/surfaces/mcp_server.py): the same tools over
    streamable HTTP at /mcp, answering with the app's current library."""
    from bot.surfaces.mcp_server import MCP_PATH, http_lifespan  # the SDK loads only here

    if block:
        print(f"paperchat: MCP tools at http://{host}:{port}{MCP_PATH}", file=sys.stderr)
    return {"lifespan": http_lifespan(lambda: chat.bot, host=host, login=guard)}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
