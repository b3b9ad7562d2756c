"""The Gradio web chat: built by `build_app(bot)` (a `ChatApp`, a step per tab), served by
`launch`.

Every handler calls PaperBot and formats what it returns; domain errors become gr.Error
messages the user sees. `ask`, `search` and `similar` are also named API endpoints for
gradio_client.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from pydantic import ValidationError

from bot.answer.templates import escape_markdown, escape_untrusted
from bot.errors import PaperchatError, QueryError
from bot.ingest import readers
from bot.paperbot import PaperBot
from bot.records import Citation, Filters, Hit, Paper, Turn
from bot.reporting import Reporter
from bot.retrieve.query import clean_query
from bot.surfaces.cards import render_card
from bot.surfaces.export import EXPORTS
from bot.surfaces.login import LoginGuard
from bot.surfaces.uploads import ACCEPTED, UploadDesk, UploadOutcome

ANY = "Any"
# The Papers tab's table: each column's header, width and how a paper fills it.
PAPER_COLUMNS: list[tuple[str, str, Callable[[Paper], object]]] = [
    ("title", "38%", lambda p: p.display_title),
    ("authors", "28%", lambda p: p.author_line),
    ("year", "7%", lambda p: p.year or ""),
    ("category", "9%", lambda p: p.category or ""),
    ("code", "6%", lambda p: "yes" if p.has_code else ""),
    ("id", "12%", lambda p: p.id),
]
FAVICON = Path(__file__).parent / "favicon.png"
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
HAS_CODE_CHOICES = {ANY: None, "With code": True, "Without code": False}
EXAMPLE_COUNT = 4
SIMILAR_FROM_CARD = 5
NO_CITATION = "*No paper cited: nothing in the library answers this question.*"
CITATION_ANCHOR = "cited-"  # a card's element id is this and its number
# An unescaped [n] of an answer (a bracket inside a quote is escaped: \\[).
CITATION_MARKER = re.compile(r"(?<!\\)\[(\d+)\]")
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
UPLOAD_TYPES = readers.upload_suffixes()
ADD_HELP = ("Add your own papers: {accepted}, up to {limit:g} MB a file. They are read, "
            "merged with the papers already here (the same paper seen twice becomes one), and "
            "only new text is embedded. Input that cannot be read as a paper is listed below "
            "with its file and line.")
UNEXPECTED = ("Something went wrong on the server ({kind}); nothing was changed. The "
              "server's log has the details.")
SEARCHING = "*Searching the library…*"
WRITING = "*Writing… the citations are checked when the answer is complete.*"
# Questions may wait on a language model for up to its timeout, using no CPU meanwhile: more
# of them run at once than the two CPU-bound workers, so slow answers do not hold the others.
ASK_CONCURRENCY = 8
QUEUE_SIZE = 256  # requests waiting for a worker; the load bench's users fit, with room
# Sessions whose state the server keeps (the oldest is dropped first). Each holds a copy of
# every component's settings, and every HTTP call without a session makes one: Gradio's
# default of 10,000 lets memory grow under load (bench/load.py measures it).
SESSION_CAPACITY = 500
log = logging.getLogger(__name__)


class ChatApp:
    """The app's parts and their handlers. Handlers answer with `self.bot`, which is replaced
    when papers are added through the app."""

    def __init__(self, bot: PaperBot):
        self.bot = bot
        self.desk = UploadDesk(max_bytes=int(bot.settings.server.max_upload_mb * 1e6))

    def build(self) -> gr.Blocks:
        papers = self.bot.papers
        with gr.Blocks(title="paperchat", analytics_enabled=False) as app:
            self.header = gr.Markdown(_header(papers))
            with gr.Tabs() as self.tabs:
                self._chat_tab(papers)
                self._similar_tab(papers)
                self._papers_tab()
                self._add_tab()
            self._api_endpoints()
        return app

    # -- the chat ------------------------------------------------------------------------------

    def _chat_tab(self, papers: list[Paper]) -> None:
        with gr.Tab("Chat", id="chat"):
            chatbot = gr.Chatbot(
                label="Answers", height=420, feedback_options=None, buttons=["copy"],
                placeholder="Ask about the papers in the library, e.g. *"
                            + escape_markdown(_example_questions(papers)[0]) + "*")
            with gr.Row():
                question = gr.Textbox(show_label=False, scale=6, autofocus=True,
                                      placeholder="Which papers study …?", max_lines=4)
                ask_button = gr.Button("Ask", variant="primary", scale=1)
            filters = self._filters(papers)
            gr.Examples(_example_questions(papers), inputs=question, label="Try")
            cited = gr.State(None)  # the last answer's citations; None before any question
            turns = gr.State([])  # the conversation so far, for follow-ups: Turn dicts
            for trigger in (question.submit, ask_button.click):
                trigger(self.respond, [question, chatbot, turns, *filters],
                        [chatbot, question, cited, turns],
                        api_visibility="private", concurrency_limit=ASK_CONCURRENCY)
            # A cleared chat is a new conversation: no follow-up refers back past it.
            chatbot.clear(lambda: (None, []), None, [cited, turns], api_visibility="private")
            gr.render(inputs=cited)(self.citation_cards)

    def _filters(self, papers: list[Paper]) -> list[gr.components.Component]:
        """The filter inputs, in the order `respond` takes them."""
        years = _years(papers)
        with gr.Accordion("Filters", open=False), gr.Row():
            # The corpus's own years: a range that can't be mistyped or empty.
            self.year_from = gr.Dropdown(years, value=ANY, label="From year")
            self.year_to = gr.Dropdown(years, value=ANY, label="To year")
            author = gr.Textbox(label="Author contains")
            self.category = gr.Dropdown([ANY, *_categories(papers)], value=ANY,
                                        label="Category")
            has_code = gr.Radio(list(HAS_CODE_CHOICES), value=ANY, label="Code")
        return [self.year_from, self.year_to, author, self.category, has_code]

    def respond(self, question, history, turns, year_from, year_to, author, category,
                has_code):
        """Streams: the question shows at once with a note that the library is being
        searched, then a language model's draft as it writes (when one is set up), then the
        answer replaces it. `turns`: the conversation so far, which a follow-up refers to."""
        bot = self.bot
        try:
            filters = filters_from(year_from, year_to, author, category, has_code)
            question = clean_query(question, max_chars=bot.settings.retrieval.max_query_chars)
            earlier = turns_from(turns)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            yield tell(exc, outputs=4)
            return
        asked = list(history or []) + [{"role": "user", "content": escape_markdown(question)}]
        yield asked + [{"role": "assistant", "content": SEARCHING}], "", gr.skip(), gr.skip()
        try:
            for update in bot.ask_stream(question, filters=filters, history=earlier):
                if isinstance(update, str):  # a language model's draft, not yet verified
                    draft = escape_untrusted(update) + "\n\n" + WRITING
                    yield (asked + [{"role": "assistant", "content": draft}], "", gr.skip(),
                           gr.skip())
                else:
                    answer = update
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            gr.Warning(message_of(exc))
            yield history, question, gr.skip(), gr.skip()
            return
        shown = link_citations(answer.text)
        if answer.context:
            shown = f"*Read as {escape_markdown(answer.context)}.*\n\n{shown}"
        turns = [*(turns or []), Turn.of(answer).model_dump()]
        yield asked + [{"role": "assistant", "content": shown}], "", answer.citations, turns

    def citation_cards(self, citations: list[Citation] | None) -> None:
        """Under the answer: its cited papers to download, and a card per citation, the
        target of the answer's [n] link, with a button to papers like it."""
        if citations is None:
            return
        if not citations:
            gr.Markdown(NO_CITATION)
            return
        cited_papers = [c.paper for c in citations]
        with gr.Row():
            for export, file in zip(EXPORTS.values(), _export_files(cited_papers, "cited"),
                                    strict=True):
                gr.DownloadButton(f"Cited papers as {export.name}", size="sm", value=file)
        for citation in citations:
            gr.Markdown(render_card(citation, self.bot.templates),
                        elem_id=f"{CITATION_ANCHOR}{citation.n}", elem_classes=["citation-card"])
            more = gr.Button(f"Papers like [{citation.n}]", size="sm")
            more.click(lambda paper_id=citation.paper.id: self.show_similar(paper_id), None,
                       [self.tabs, self.paper_choice, self.pasted, self.similar_out],
                       api_visibility="private")

    # -- similar papers ------------------------------------------------------------------------

    def _similar_tab(self, papers: list[Paper]) -> None:
        with gr.Tab("Similar papers", id="similar"):
            with gr.Row():
                self.paper_choice = gr.Dropdown(_paper_choices(papers), label="Choose a paper",
                                                filterable=True, value=None)
                k_similar = gr.Slider(1, 20, value=5, step=1, label="How many")
            self.pasted = gr.Textbox(label="…or paste a title or an abstract", lines=3)
            similar_button = gr.Button("Find similar papers", variant="primary")
            self.similar_out = gr.Markdown()
            similar_button.click(self.find_similar, [self.paper_choice, self.pasted, k_similar],
                                 self.similar_out, api_visibility="private")

    def find_similar(self, paper_id, text, k):
        ref = (text or "").strip() or paper_id
        try:
            if not ref:
                raise QueryError("Choose a paper or paste a title or abstract.")
            hits = self.bot.similar(ref, k=int(k))
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            return tell(exc, outputs=1)
        return _hits_markdown(hits)

    def show_similar(self, paper_id):
        """From a citation card to the similar-papers tab, filled in for that paper."""
        return (gr.Tabs(selected="similar"), paper_id, "",
                self.find_similar(paper_id, "", SIMILAR_FROM_CARD))

    # -- the papers listed ---------------------------------------------------------------------

    def _papers_tab(self) -> None:
        with gr.Tab("Papers"):
            paper_filter = gr.Textbox(label="Filter by title or author")
            rows, *listed = self.list_papers("")
            with gr.Row():
                self.export_buttons = [
                    gr.DownloadButton(f"Listed papers as {export.name}", size="sm", value=file)
                    for export, file in zip(EXPORTS.values(), listed, strict=True)]
            self.table = gr.Dataframe(
                value=rows, headers=[name for name, _, _ in PAPER_COLUMNS],
                interactive=False, wrap=True,
                column_widths=[width for _, width, _ in PAPER_COLUMNS])
            paper_filter.change(self.list_papers, paper_filter,
                                [self.table, *self.export_buttons], api_visibility="private")
            self.report_summary = gr.Markdown(_report_summary(self.bot))
            with gr.Accordion("Ingest report", open=False):
                self.report_text = gr.Code(self.bot.report.render(), language=None,
                                           label="How the corpus was read")

    def list_papers(self, query):
        wanted = (query or "").strip().lower()
        shown = [p for p in self.bot.papers
                 if not wanted or wanted in f"{p.display_title} {' '.join(p.authors)}".lower()]
        return [_paper_row(p) for p in shown], *_export_files(shown, "papers")

    # -- papers added --------------------------------------------------------------------------

    def _add_tab(self) -> None:
        with gr.Tab("Add papers", id="add"):
            gr.Markdown(ADD_HELP.format(accepted=escape_markdown(ACCEPTED),
                                        limit=self.bot.settings.server.max_upload_mb))
            uploads = gr.File(label="Listing or JSONL files", file_count="multiple",
                              file_types=UPLOAD_TYPES, type="filepath")
            add_button = gr.Button("Add to the library", variant="primary")
            added = gr.Markdown(elem_id="added-report")
        # Everything that shows the library: `add_papers` returns one value for each.
        self.add_outputs = [added, self.header, self.paper_choice, self.table,
                            *self.export_buttons, self.report_summary, self.report_text,
                            self.category, self.year_from, self.year_to, uploads]
        add_button.click(self.add_papers, uploads, self.add_outputs, api_visibility="private")

    def add_papers(self, files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's idiom)
        """Keep the uploads in the library folder, rebuild the library over its corpus
        plus them (only new text is embedded), and answer from the new library."""
        try:
            progress(0, desc="Reading the files")
            outcome = self.desk.add(self.bot, files or [], reporter=Reporter.terminal())
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            message = message_of(exc)
            gr.Warning(message)  # and in the report area, where it stays
            return (escape_markdown(message), *(gr.skip() for _ in self.add_outputs[1:]))
        self.bot = outcome.bot
        return self._library_shown(outcome)

    def _library_shown(self, outcome: UploadOutcome) -> tuple:
        """The new library in every output of `add_outputs`, the upload box emptied."""
        bot = outcome.bot
        rows, *listed = self.list_papers("")
        years = _years(bot.papers)
        return (_added_markdown(outcome), _header(bot.papers),
                gr.Dropdown(choices=_paper_choices(bot.papers)),
                rows, *listed, _report_summary(bot), bot.report.render(),
                gr.Dropdown(choices=[ANY, *_categories(bot.papers)]),
                gr.Dropdown(choices=years), gr.Dropdown(choices=years), None)

    # -- the API ---------------------------------------------------------------------------

    def _api_endpoints(self) -> None:
        for fn in (self.ask, self.search, self.similar):
            gr.api(fn, api_name=fn.__name__,
                   concurrency_limit=ASK_CONCURRENCY if fn == self.ask else "default")

    def ask(self, question: str, k: int = 5, history: list[dict] | None = None) -> dict:
        """Answer a question with citations; JSON of paperchat's Answer. `history`: the
        conversation's earlier turns, oldest first, each {"question": ..., "cited": [paper
        ids]}, for a follow-up that refers back to them."""
        with _user_errors():
            earlier = turns_from(history)
            return self.bot.ask(question, k=int(k), history=earlier).model_dump(mode="json")

    def search(self, query: str, k: int = 10) -> list[dict]:
        """The k papers that best match the query; JSON of paperchat's Hit."""
        with _user_errors():
            return [h.model_dump(mode="json") for h in self.bot.search(query, k=int(k))]

    def similar(self, ref: str, k: int = 5) -> list[dict]:
        """Papers similar to a paper id, arXiv id, title or pasted text."""
        with _user_errors():
            return [h.model_dump(mode="json") for h in self.bot.similar(ref, k=int(k))]


def build_app(bot: PaperBot) -> gr.Blocks:
    return ChatApp(bot).build()


def filters_from(year_from, year_to, author, category, has_code) -> Filters | None:
    """The filters as the form holds them ("Any" for no bound); None when none is set."""
    try:
        filters = Filters(
            year_from=None if year_from in (None, "", ANY) else int(year_from),
            year_to=None if year_to in (None, "", ANY) else int(year_to),
            author=author or None,
            category=None if category in (None, ANY) else category,
            has_code=HAS_CODE_CHOICES.get(has_code),
        )
    except ValidationError as exc:
        raise QueryError("; ".join(e["msg"] for e in exc.errors())) from None
    return None if filters.is_empty() else filters


@contextlib.contextmanager
def _user_errors():
    """A domain error in an API call reaches the caller as its message."""
    try:
        yield
    except PaperchatError as exc:
        raise user_error(str(exc)) from None


def launch(bot: PaperBot, host: str = "127.0.0.1", port: int = 7860, *,
           block: bool = True, auth: list[tuple[str, str]] | None = None
           ) -> tuple[gr.Blocks, str]:
    """Serve the chat. Never a public share link; analytics off; a login if `auth` names
    any (user, password) pairs."""
    app = build_app(bot)
    # Retrieval is CPU bound and short: two workers match the cores, the rest wait in a
    # bounded queue (README, "Serving many users"): past it a request is refused at once.
    app.queue(default_concurrency_limit=2, max_size=QUEUE_SIZE)
    if not auth and not _is_loopback(host):
        print(f"paperchat: serving on {host} without a login: anyone who can reach it can use "
              "it (see `paperchat serve --auth-file`)", file=sys.stderr)
    _, url, _ = app.launch(
        server_name=host, server_port=port or free_port(host), share=False, ssr_mode=False,
        prevent_thread_lock=not block, show_error=False, quiet=not block,
        footer_links=["api"], theme=gr.themes.Soft(), favicon_path=str(FAVICON),
        css=CSS, head=HEAD, auth=LoginGuard(auth) if auth else None,
        auth_message="paperchat: log in to continue",
        max_file_size=int(bot.settings.server.max_upload_mb * 1e6),
        state_session_capacity=SESSION_CAPACITY)
    return app, url


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def link_citations(text: str) -> str:
    """The answer's [n] markers as links to their cards."""
    return CITATION_MARKER.sub(
        lambda m: f"[\\[{m.group(1)}\\]](#{CITATION_ANCHOR}{m.group(1)})", text)


def tell(exc: Exception, *, outputs: int):
    """A mistake in the input, in the UI: a message, and every output left as it was (an
    error state would blank the chat)."""
    gr.Warning(message_of(exc))
    skipped = tuple(gr.skip() for _ in range(outputs))
    return skipped if outputs > 1 else skipped[0]


def turns_from(history: object) -> list[Turn]:
    """A conversation's earlier turns as a page or an API call sends them, checked."""
    if history is None:
        return []
    if not isinstance(history, list):
        raise QueryError("history must be a list of {\"question\", \"cited\"} turns")
    try:
        return [Turn.model_validate(turn) for turn in history]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise QueryError(f"history: {where}: {first['msg']}") from None


def message_of(exc: Exception) -> str:
    """What the page says of a failure: a domain error's own message; for anything else
    one line naming its kind, the traceback kept for the server's log."""
    if isinstance(exc, PaperchatError):
        return str(exc)
    log.error("unexpected failure in a request", exc_info=exc)
    return UNEXPECTED.format(kind=type(exc).__name__)


def user_error(message: str) -> gr.Error:
    """A message for the user; a mistake in the input, so no traceback in the server log."""
    return gr.Error(message, print_exception=False)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _example_questions(papers: list[Paper]) -> list[str]:
    """Questions drawn from the library itself: the subjects of a few of its papers."""
    plain = [p.title for p in papers if p.title and 3 <= len(p.title.split()) <= 8
             and p.title[-1].isalnum() and ":" not in p.title]
    step = max(1, len(plain) // EXAMPLE_COUNT)
    picks = plain[::step][:EXAMPLE_COUNT]
    return [f"What is known about {s[0].lower() + s[1:]}?" for s in picks] or [
        "Which papers study reinforcement learning?"]


def _hits_markdown(hits: list[Hit]) -> str:
    if not hits:
        return "*No similar papers found.*"
    lines = []
    for i, h in enumerate(hits, start=1):
        p = h.paper
        link = f" · [arXiv:{p.arxiv_id}]({p.arxiv_url})" if p.arxiv_url else ""
        lines.append(f"{i}. **{escape_markdown(p.display_title)}** ({p.year_label}) — "
                     f"similarity {h.score:.2f}{link}  \n   {escape_markdown(p.author_line)}")
    return "\n".join(lines)


def _export_files(papers: list[Paper], stem: str) -> list[str]:
    """A file of these papers in each export format, in `EXPORTS`' order."""
    return [_export_file(export.write(papers), stem + export.suffix)
            for export in EXPORTS.values()]


def _export_file(text: str, name: str) -> str:
    """A file to download, in a folder of its own so that two exports never overwrite."""
    path = Path(tempfile.mkdtemp(prefix="paperchat-export-")) / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _paper_choices(papers: list[Paper]) -> list[tuple[str, str]]:
    return [(p.display_title, p.id) for p in papers]


def _paper_row(paper: Paper) -> list:
    return [cell(paper) for _, _, cell in PAPER_COLUMNS]


def _header(papers: list[Paper]) -> str:
    return (f"# paperchat\nAsk the library of **{len(papers)} papers** a question; "
            "every answer cites the papers it comes from.")


def _categories(papers: list[Paper]) -> list[str]:
    return sorted({c for p in papers for c in p.categories})


def _years(papers: list[Paper]) -> list:
    return [ANY, *sorted({p.year for p in papers if p.year})]


def _added_markdown(outcome: UploadOutcome) -> str:
    """What an upload did: per file, records read, merged and rejected, and each rejected
    chunk with its line and reason; then the files refused, by their own names."""
    bot = outcome.bot
    names = {str(k) for k in outcome.kept}
    files = [f for f in bot.report.files if f.file in names]
    lines = [f"**{len(bot.papers) - outcome.papers_before} new papers** "
             f"({outcome.papers_before} → {len(bot.papers)}); "
             f"{bot.last_embedded} texts embedded.", "",
             "| file | layout | records | merged | rejected |", "|---|---|---:|---:|---:|"]
    for f in files:
        lines.append(f"| {escape_markdown(Path(f.file).name)} | {f.layout.value} | {f.records} "
                     f"| {f.merged} | {f.rejected_count} |")
    rejected = [(f, r) for f in files for r in f.rejected]
    if rejected:
        lines += ["", "**Rejected** (not added):", ""]
        lines += [f"- {escape_markdown(Path(f.file).name)}, line {r.line}: "
                  f"{escape_markdown(r.reason)} — “{escape_markdown(r.text)}”"
                  + (f" (and {r.count - 1:,} more like it)" if r.count > 1 else "")
                  for f, r in rejected]
    if outcome.refused:
        lines += ["", "**Files not added:**", ""]
        lines += [f"- {escape_markdown(name or 'the library')}: {escape_markdown(reason)}"
                  for name, reason in outcome.refused]
    return "\n".join(lines)


def _report_summary(bot: PaperBot) -> str:
    report = bot.report
    return (f"Read **{report.records}** records from **{len(report.files)}** files: "
            f"**{report.merged}** merged into papers seen elsewhere, "
            f"**{report.rejected_count}** rejected, **{report.papers}** distinct papers"
            + (f" ({report.title_only} without an abstract: found by title, never cited)."
               if report.title_only else "."))
