"""The library for assistants: a Model Context Protocol (MCP) server, on the official SDK's
`MCPServer`, with seven tools over PaperBot (`TOOLS`).

`paperchat mcp` serves it over stdio, what desktop assistants launch (stdout is the protocol:
logs and notes go to stderr); `paperchat serve --mcp` serves the same tools over streamable
HTTP at `/mcp` on the web app's port (`http_lifespan`), behind the app's login when one is set.

Each tool's arguments are typed (their JSON schema comes from the signature) and its docstring
tells an assistant when to use it. A result is structured content, the JSON of paperchat's own
records (their schema is the tool's output schema), plus a short text rendering for a model
that reads only text. A mistake in the input (a `QueryError`'s kind: a blank question, an
impossible year range, an unknown paper) is a tool error carrying the message a person would
read; any other failure is the SDK's bare "Error executing tool …", its traceback only in the
server's log. Inputs go through bot.surfaces.inputs, as on every surface.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import importlib.metadata
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.errors import PaperchatError
from bot.paperbot import PaperBot
from bot.records import Answer, Hit, Layout, Paper, RefusedFile, Turn
from bot.retrieve.sets import MAX_SET
from bot.surfaces.export import EXPORTS
from bot.surfaces.inputs import filters_of, paper_of, turns_of
from bot.surfaces.login import LoginGuard

MCP_PATH = "/mcp"  # where `serve --mcp` answers, on the web app's port
MAX_K = 100  # papers a tool returns at most: an assistant's context is the limit, not ours
MAX_EXPORT_IDS = 1000
INSTRUCTIONS = (
    "paperchat answers questions over one researcher's library of papers. Every claim it makes "
    "quotes a sentence of a cited paper's abstract verbatim; when no paper answers, it says "
    "so. Prefer ask_library for questions, search_papers to find papers, get_paper for one "
    "paper's details, and quote its citations as given.")

# The filters every searching tool takes, each described once.
YearFrom = Annotated[int | None, Field(description="Only papers from this year on.")]
YearTo = Annotated[int | None, Field(description="Only papers up to this year, inclusive.")]
Author = Annotated[str | None, Field(description="Case-insensitive part of an author's name.")]
Category = Annotated[str | None, Field(description="An arXiv category such as cs.LG, or LG.")]
HasCode = Annotated[bool | None, Field(description="Only papers with (true) or without (false) "
                                                   "code.")]
ExportFormat = Literal["bibtex", "csl-json"]
Aspect = Literal["background", "method", "result"]


def k_papers(default: int) -> object:
    """The schema of `k`; its default is the parameter's."""
    return Field(ge=1, le=MAX_K, description=f"How many papers, at most (default {default}).")


class Hits(BaseModel):
    """Papers ranked best first, each with the abstract sentence that matched best."""

    hits: list[Hit]


class Citations(BaseModel):
    format: ExportFormat
    papers: int = Field(description="How many papers the text holds.")
    text: str = Field(description="The bibliography, ready to save or paste.")


class FormatRead(BaseModel):
    layout: Layout = Field(description="The format, as `paperchat ingest --layout` names it.")
    files: int
    records: int


class LibraryInfo(BaseModel):
    """What the library holds and how it was built: its manifest and its ingest report."""

    papers: int
    title_only: int = Field(description="Of the papers, those without an abstract: found by "
                                        "title, never cited.")
    sentences: int = Field(description="Abstract sentences, each quotable.")
    formats: list[FormatRead] = Field(description="The formats its corpus files were read in.")
    files: int = Field(description="Corpus files read.")
    records: int
    merged: int = Field(description="Records folded into a paper seen elsewhere.")
    rejected: int = Field(description="Chunks of the files that were not a paper.")
    refused: list[RefusedFile] = Field(description="Files that gave no paper, and why.")
    last_ingest: dt.datetime = Field(description="When the library was built (UTC).")
    model: str = Field(description="The embedding model.")


class LibraryTools:
    """The tools, each answering with the library `current()` returns: the web app replaces its
    library when papers are added through it."""

    def __init__(self, current: Callable[[], PaperBot]):
        self.current = current

    def search_papers(self, query: Annotated[str, Field(description="Words to search for.")],
                      k: Annotated[int, k_papers(10)] = 10, year_from: YearFrom = None,
                      year_to: YearTo = None, author: Author = None, category: Category = None,
                      has_code: HasCode = None) -> Annotated[CallToolResult, Hits]:
        """Find the papers in the library that best match a query, best first, each with the
        sentence of its abstract that matched. Use it to list or browse papers on a topic, by
        an author or from some years; to have a question answered with quotes, use
        ask_library."""
        with _tool_errors():
            filters = filters_of(year_from=year_from, year_to=year_to, author=author,
                                 category=category, has_code=has_code)
            hits = self.current().search(query, k=k, filters=filters)
        return _result(_hits_text(hits), Hits(hits=hits))

    def ask_library(self, question: Annotated[str, Field(description="The question, as a "
                                                                     "person would ask it.")],
                    k: Annotated[int, k_papers(5)] = 5, year_from: YearFrom = None,
                    year_to: YearTo = None, author: Author = None, category: Category = None,
                    has_code: HasCode = None,
                    history: Annotated[list[Turn] | None, Field(
                        description="The conversation's earlier turns, oldest first: each "
                                    "question asked and the ids of the papers its answer "
                                    "cited, so that a follow-up (\"which of those …\", \"the "
                                    "second one\", \"and in 2023?\") refers back to them.")
                    ] = None) -> Annotated[CallToolResult, Answer]:
        """Answer a question from the library's papers: the answer cites [n] the papers that
        answer it, each with a sentence quoted verbatim from its abstract; when no paper
        answers, it says so plainly and names the nearest papers. Use it for any question
        about what the papers say or which papers do something; quote its citations as given.
        For a follow-up, pass the earlier turns as history."""
        with _tool_errors():
            filters = filters_of(year_from=year_from, year_to=year_to, author=author,
                                 category=category, has_code=has_code)
            answer = self.current().ask(question, k=k, filters=filters,
                                        history=turns_of(history))
        return _result(_answer_text(answer), answer)

    def similar_papers(self, ref: Annotated[str | list[str], Field(
                           description="A paper's id, arXiv id, DOI, cite key or title, or a "
                                       "pasted abstract or passage; or a list of papers (a "
                                       "reading list), for papers like all of them.")],
                       k: Annotated[int, k_papers(5)] = 5,
                       aspect: Annotated[Aspect | None, Field(
                           description="Alike in one respect only: their background, their "
                                       "method or their results (default: the whole text).")
                       ] = None) -> Annotated[CallToolResult, Hits]:
        """Papers of the library like one paper (named by id, arXiv id, DOI, cite key or
        title), like a pasted text, or like a list of papers; those papers are never among
        them. Use it for "more like this", "more like these" and related work; with an
        aspect, for papers with a similar method (or background, or results)."""
        with _tool_errors():
            hits = self.current().similar(ref, k=k, aspect=aspect)
        return _result(_hits_text(hits), Hits(hits=hits))

    def whats_new(self, since: Annotated[str, Field(
                      description="The first day, YYYY-MM-DD: papers added to the library "
                                  "or dated on or after it.")],
                  like: Annotated[list[str] | None, Field(
                      max_length=MAX_SET,
                      description="Papers (ids, arXiv ids, DOIs, cite keys or titles) to "
                                  "rank the new papers by closeness to; default: the papers "
                                  "the user starred, else newest first.")] = None,
                  k: Annotated[int, k_papers(20)] = 20) -> Annotated[CallToolResult, Hits]:
        """What is new in the library since a day: papers added (or dated) since then,
        closest first to the papers given or to the user's starred papers, each with the
        day it entered the library. Use it for "what's new since …" and to catch up."""
        with _tool_errors():
            hits = self.current().new(since, k=k, like=like)
        return _result(_hits_text(hits), Hits(hits=hits))

    def get_paper(self, id: Annotated[str, Field(
                      description="The paper's id, arXiv id, DOI, cite key or exact title.")]
                  ) -> Annotated[CallToolResult, Paper]:
        """One paper's metadata (title, authors, date, ids, venue), its abstract and the
        corpus files it was read from. Use it to read a paper that another tool returned, or
        to check that a paper is in the library."""
        with _tool_errors():
            paper = paper_of(self.current(), id)
        return _result(_paper_text(paper), paper)

    def export_citations(self, ids: Annotated[list[str], Field(
                             min_length=1, max_length=MAX_EXPORT_IDS,
                             description="The papers, by id, arXiv id, DOI, cite key or "
                                         "title.")],
                         format: Annotated[ExportFormat, Field(
                             description="bibtex (LaTeX) or csl-json (Zotero, pandoc).")
                         ] = "bibtex") -> Annotated[CallToolResult, Citations]:
        """These papers as a bibliography, BibTeX or CSL-JSON, for a reference manager or a
        LaTeX document. Use it when the user wants to cite or save papers."""
        with _tool_errors():
            bot = self.current()
            papers = [paper_of(bot, ref) for ref in ids]
        text = EXPORTS[format].write(papers)
        return _result(text, Citations(format=format, papers=len(papers), text=text))

    def library_info(self) -> Annotated[CallToolResult, LibraryInfo]:
        """What the library holds: how many papers, the formats its files were read in, what
        was refused, and when it was last built. Use it to tell the user what the library
        covers before searching it, or when a search finds nothing."""
        info = _library_info(self.current())
        return _result(_info_text(info), info)


# Every tool, by name; none changes the library, so each is marked read-only.
TOOLS: tuple[str, ...] = ("search_papers", "ask_library", "similar_papers", "whats_new",
                          "get_paper", "export_citations", "library_info")


def build_server(current: Callable[[], PaperBot]) -> MCPServer:
    """The MCP server of the library that `current()` returns."""
    # The SDK configures the root logger (on stderr) at this level: warnings only, so that
    # each request's INFO lines of the web server and the SDK stay out of the log.
    server = MCPServer("paperchat", instructions=INSTRUCTIONS, version=_version(),
                       log_level="WARNING")
    tools = LibraryTools(current)
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    for name in TOOLS:
        method = getattr(tools, name)
        server.add_tool(method, description=inspect.getdoc(method), annotations=read_only)
    return server


def _version() -> str:
    """The installed package's version, which the server names to clients ("" when run from a
    checkout that was never installed)."""
    try:
        return importlib.metadata.version("paperchat")
    except importlib.metadata.PackageNotFoundError:
        return ""


def serve_stdio(bot: PaperBot) -> None:
    """Serve the library over this process's stdin and stdout until stdin closes. While it
    serves, the SDK points file descriptor 1 at stderr: stray output cannot break the
    protocol."""
    build_server(lambda: bot).run("stdio")


@contextlib.contextmanager
def _tool_errors() -> Iterator[None]:
    """A domain error reaches the assistant as its message, as a person would read it."""
    try:
        yield
    except PaperchatError as exc:
        raise ToolError(" ".join(str(exc).split())) from None


def _result(text: str, structured: BaseModel) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=structured.model_dump(mode="json"))


# -- the text renderings --------------------------------------------------------------------

def _hits_text(hits: list[Hit]) -> str:
    if not hits:
        return "No papers match."
    lines = []
    for i, hit in enumerate(hits, start=1):
        paper = hit.paper
        lines.append(f"{i}. {paper.display_title} — {paper.author_line} ({paper.year_label}) "
                     f"[id {paper.id}]")
        if hit.added:
            lines.append(f"   added to the library {hit.added.isoformat()}")
        if hit.evidence:
            lines.append(f"   “{hit.evidence}”")
    return "\n".join(lines)


def _answer_text(answer: Answer) -> str:
    """The answer as the CLI prints it, then each citation's paper id (for get_paper and for
    a follow-up's history)."""
    parts = [f"(read as {answer.context})"] if answer.context else []
    parts.append(answer.text)
    if answer.citations:
        parts.append("\n".join(f"[{c.n}] id {c.paper.id}"
                               + (f", {c.paper.arxiv_url}" if c.paper.arxiv_url else "")
                               for c in answer.citations))
    return "\n\n".join(parts)


def _paper_text(paper: Paper) -> str:
    ids = [f"id {paper.id}"] + [f"{name} {value}" for name, value in
                                (("arXiv", paper.arxiv_id), ("DOI", paper.doi),
                                 ("cite key", paper.cite_key)) if value]
    lines = [paper.display_title, f"{paper.author_line} ({paper.year_label})", ", ".join(ids)]
    if paper.venue:
        lines.append(paper.venue)
    lines += ["", paper.abstract or "(no abstract: found by its title, never cited)", "",
              "Read from: " + ", ".join(str(source) for source in paper.sources)]
    return "\n".join(lines)


def _library_info(bot: PaperBot) -> LibraryInfo:
    report, manifest = bot.report, bot.library.manifest
    formats: dict[Layout, FormatRead] = {}
    for file in report.files:
        read = formats.setdefault(file.layout, FormatRead(layout=file.layout, files=0,
                                                          records=0))
        read.files += 1
        read.records += file.records
    return LibraryInfo(
        papers=len(bot.papers), title_only=report.title_only, sentences=manifest.sentences,
        formats=list(formats.values()), files=len(report.files), records=report.records,
        merged=report.merged, rejected=report.rejected_count, refused=report.refused,
        last_ingest=manifest.built_at, model=manifest.model_name)


def _info_text(info: LibraryInfo) -> str:
    formats = ", ".join(f"{f.layout.value} ({f.files} file(s), {f.records} records)"
                        for f in info.formats)
    title_only = f", {info.title_only} of them without an abstract" if info.title_only else ""
    refused = f"; {len(info.refused)} file(s) refused" if info.refused else ""
    return (f"{info.papers} papers{title_only}, from {info.files} file(s) read as {formats}"
            f"{refused}. Last built {info.last_ingest:%Y-%m-%d %H:%M} UTC.")


# -- over HTTP, on the web app --------------------------------------------------------------

def http_lifespan(current: Callable[[], PaperBot], *, host: str,
                  login: LoginGuard | None):
    """A lifespan for the web app (Gradio's `launch(app_kwargs={"lifespan": …})`): at start-up
    it adds the `/mcp` route to the app and runs the SDK's session manager, which a mounted
    app's own lifespan would never start; at shut-down it stops it."""
    server = build_server(current)
    # On a loopback host the SDK also refuses requests whose Host or Origin is not loopback
    # (DNS rebinding).
    endpoint = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)

    @contextlib.asynccontextmanager
    async def lifespan(app) -> AsyncIterator[None]:
        guarded = LoginRequired(endpoint, app, login) if login else endpoint
        # First: the app's own routes are not to answer for /mcp.
        app.router.routes.insert(0, Route(MCP_PATH, guarded))
        async with server.session_manager.run():
            yield

    return lifespan


class LoginRequired:
    """The MCP endpoint behind the web app's login: the session cookie Gradio's /login sets
    (a browser, or a program that logged in), or HTTP Basic credentials (an assistant's
    configured header), checked by the same LoginGuard as the page, with its brake on
    guessing. Anything else is a 401 that reaches no tool."""

    def __init__(self, endpoint: ASGIApp, gradio_app, guard: LoginGuard):
        self.endpoint, self.gradio_app, self.guard = endpoint, gradio_app, guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._logged_in(Request(scope)):
            refusal = JSONResponse(
                {"error": "log in first: the web app's login cookie, or HTTP Basic "
                          "credentials of one of its logins"},
                status_code=401, headers={"WWW-Authenticate": 'Basic realm="paperchat"'})
            await refusal(scope, receive, send)
            return
        await self.endpoint(scope, receive, send)

    def _logged_in(self, request: Request) -> bool:
        # Gradio's own check (its /user route): the token of either of the cookies it sets.
        app = self.gradio_app
        token = (request.cookies.get(f"access-token-{app.cookie_id}")
                 or request.cookies.get(f"access-token-unsecure-{app.cookie_id}"))
        if token and token in app.tokens:
            return True
        credentials = _basic_credentials(request.headers.get("authorization", ""))
        return credentials is not None and self.guard(*credentials)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None
