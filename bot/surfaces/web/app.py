"""The web app as a whole: `ChatApp` puts the tabs together and names the API endpoints;
`launch` serves it."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

import gradio as gr

from bot.paperbot import PaperBot
from bot.surfaces import rest
from bot.surfaces.login import LoginGuard
from bot.surfaces.uploads import UploadDesk
from bot.surfaces.web.add import AddTab, header
from bot.surfaces.web.chat import ANSWER_ANCHOR, ASK_CONCURRENCY, CITATION_ANCHOR, ChatTab
from bot.surfaces.web.common import STAR, STARRED, tell, turns_from, user_errors
from bot.surfaces.web.new import NewTab
from bot.surfaces.web.papers import PAPERS_CSS, PapersTab
from bot.surfaces.web.similar import SimilarTab

FAVICON = Path(__file__).resolve().parent.parent / "favicon.png"
# The supporting sentence in a card: a translucent marker that keeps the theme's text colour,
# so it reads in dark mode too (the browser's default is black on bright yellow). A file's
# long name in the upload report wraps, instead of widening the page.
CSS = """
mark { background-color: rgba(250, 204, 21, 0.35); color: inherit; border-radius: 3px;
       padding: 0 2px; }
.citation-card { scroll-margin: 80px; border-radius: 8px; }
.citation-card.flash { animation: flash 1.6s ease-out; }
@keyframes flash { from { box-shadow: 0 0 0 3px rgba(250, 204, 21, 0.8); }
                   to { box-shadow: 0 0 0 3px rgba(250, 204, 21, 0); } }
/* The filters in force, as chips in a row by the question box; no gap when there are none. */
.filter-chips:not(:has(button)) { display: none; }
.filter-chips > .column { flex-direction: row; flex-wrap: wrap; gap: 6px; }
.filter-chips button.filter-chip { flex: 0 0 auto; width: auto; min-width: 0;
                                   border-radius: 999px; padding: 2px 12px; }
.answer-cards > .label-wrap { text-align: left; }
.copy-answer.copied::after { content: " ✓"; }
/* A card's actions wrap on a narrow screen, each as wide as its words. */
.similar-actions { flex-wrap: wrap; gap: 6px; }
.similar-actions > button { flex: 0 0 auto; width: auto; min-width: 0; }
.new-when { font-variant-numeric: tabular-nums; }
/* A set's choice and its button: the button as tall as a button, level with the box. */
.set-row { align-items: flex-end; }
.set-row > button { flex-grow: 0; align-self: flex-end; margin-bottom: 4px; }
#added-report { overflow-wrap: anywhere; }
""" + PAPERS_CSS
# A click on [n] scrolls its card into view and flashes it, instead of following the link
# (Gradio opens Markdown links in a new tab). The card of an earlier answer may be in a
# folded section, hidden (or not made yet): the section is opened, then the card shown.
HEAD = f"""<script>
document.addEventListener("click", (event) => {{
  const link = event.target.closest && event.target.closest('a[href^="#{CITATION_ANCHOR}"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const id = link.getAttribute("href").slice(1);
  const show = (card) => {{
    card.scrollIntoView({{behavior: "smooth", block: "center"}});
    card.classList.remove("flash");
    void card.offsetWidth;
    card.classList.add("flash");
  }};
  const shown = (element) => element && element.offsetParent !== null;
  if (shown(document.getElementById(id))) return show(document.getElementById(id));
  const turn = id.slice("{CITATION_ANCHOR}".length).split("-")[0];
  const section = document.getElementById("{ANSWER_ANCHOR}" + turn);
  const toggle = section && section.querySelector(".label-wrap");
  if (!toggle) return;
  toggle.click();
  const until = Date.now() + 3000;
  const wait = () => {{
    const card = document.getElementById(id);
    if (shown(card)) requestAnimationFrame(() => show(card));
    else if (Date.now() < until) requestAnimationFrame(wait);
  }};
  requestAnimationFrame(wait);
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
        self.papers, self.new, self.add = PapersTab(self), NewTab(self), AddTab(self)

    def build(self) -> gr.Blocks:
        papers = self.bot.papers
        with gr.Blocks(title="paperchat", analytics_enabled=False) as app:
            self.header = gr.Markdown(header(papers))
            # The ids of the starred papers, as this page shows them (bot/surfaces/web/new.py).
            self.starred = gr.State(self.starred_ids())
            with gr.Tabs() as self.tabs:
                self.chat.build(papers)
                self.similar.build(papers)
                self.papers.build()
                self.new.build(papers)
                self.add.build()
            # The page is built once, from the library as it was; each page load shows the
            # library as it is now (papers added since, by this tab or another).
            app.load(self.add.library_shown, None, self.add.library_outputs,
                     show_progress="hidden", api_visibility="private")
            app.load(self.starred_ids, None, self.starred, show_progress="hidden",
                     api_visibility="private")
            self._api_endpoints()
        return app

    # -- stars -------------------------------------------------------------------------------

    def starred_ids(self) -> list[str]:
        return [paper.id for paper in self.bot.starred]

    def star_button(self, paper_id: str, starred: bool, *, key: str) -> gr.Button:
        """A card's star toggle (made inside a render): it stars the paper or takes its star
        away, and every card and list of stars follows."""
        button = gr.Button(STARRED if starred else STAR, size="sm", key=key,
                           preserved_by_key=None, elem_classes=["star-toggle"])
        button.click(lambda paper_id=paper_id: self.toggle_star(paper_id), None, self.starred,
                     api_visibility="private", show_progress="hidden")
        return button

    def toggle_star(self, paper_id: str | None):
        """Star the paper, or unstar it when starred; the starred ids after."""
        try:
            if paper_id is None:
                return gr.skip()
            if paper_id in self.starred_ids():
                self.bot.unstar(paper_id)
            else:
                self.bot.star(paper_id)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            return tell(exc, outputs=1)
        return self.starred_ids()

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
    """Serve the chat, and the REST API beside it (bot.surfaces.rest). Never a public share
    link; analytics off; a login if `auth` names any (user, password) pairs. `mcp`: the MCP
    tools too, at /mcp, behind the same login."""
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
    server, url, _ = app.launch(
        server_name=host, server_port=port, share=False, ssr_mode=False,
        prevent_thread_lock=True, show_error=False, quiet=not block,
        footer_links=["api"], theme=gr.themes.Soft(), favicon_path=str(FAVICON),
        css=CSS, head=HEAD, auth=guard, auth_message="paperchat: log in to continue",
        max_file_size=int(bot.settings.server.max_upload_mb * 1e6),
        state_session_capacity=SESSION_CAPACITY,
        app_kwargs=_mcp_over_http(chat, host, port, guard, block) if mcp else None)
    # The REST API, on the app Gradio serves (its login included): each request answers
    # with the bot the page serves now (papers added replace it).
    rest.mount(server, lambda: chat.bot)
    if block:
        app.block_thread()
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
