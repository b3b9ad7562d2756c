"""The REST API: versioned JSON routes under `/api/v1` on the served web app, for programs
that speak plain HTTP (curl, httpx, any language) rather than gradio_client.

It is a FastAPI application of its own, mounted on the one Gradio serves (`mount`), so it
has its own OpenAPI schema (`/api/v1/openapi.json`, pages at `/api/v1/docs`), its own error
handlers and its own guards, and changes nothing of Gradio's routes. Bodies are paperchat's
records (`Answer`, `Hit`, `Paper`) and the request models below; every input goes through
`bot.surfaces.inputs` and PaperBot, which check it.

Errors are JSON `{"detail": "..."}`: a question or reference that cannot be answered (a
`QueryError`) is 400, a paper that is not there 404, a request not of the schema's shape
422, anything unexpected 500 with one plain line (the traceback goes to the server's log).

Every request to `/api/v1/…`, the schema and the docs included, passes two guards first:
- the login: when the app requires one, the request must carry the cookie Gradio's `/login`
  sets, checked against Gradio's own tokens exactly as Gradio checks it (no cookie, or one
  Gradio did not issue, is 401);
- CORS is off: a browser page of another origin is refused (403). Gradio's CORS middleware,
  which wraps the whole server, would let such a page read the answers when the server is
  reached by a name other than localhost; programs send no `Origin` and are served.
Bodies are bounded (`MAX_BODY_BYTES`, and a length must be declared).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.errors import PaperchatError, QueryError
from bot.paperbot import PaperBot
from bot.records import MAX_TURN_CHARS, Answer, Filters, Hit, Paper, Turn
from bot.surfaces.export import to_bibtex
from bot.surfaces.inputs import PaperNotFound, filters_of, paper_of

if TYPE_CHECKING:  # the app Gradio serves; this module itself needs only FastAPI
    from gradio.routes import App as GradioApp

PREFIX = "/api/v1"
MAX_PAGE = 500  # papers a page of /papers holds at most
MAX_TURNS = 100  # a conversation's earlier turns an ask may send
MAX_BODY_BYTES = 1_000_000  # a request body: MAX_TURNS turns of MAX_TURN_CHARS fit
# Requests answered at once, as the page answers them (README, "Serving many users"): a
# search is CPU bound, so two match the cores; a question may wait on a language model.
SEARCHES_AT_ONCE = 2
QUESTIONS_AT_ONCE = 8
UNEXPECTED = "Something went wrong on the server ({kind}); the server's log has the details."
LOG_IN = ("log in first: POST username and password to /login as a form, then send the "
          "cookie it sets with each request")
log = logging.getLogger("bot.surfaces.rest")


# -- request and response bodies -------------------------------------------------------------

# Filters as a request gives them: Filters' fields, unchecked here, so that an impossible
# range is filters_of's QueryError (400), in a body as in a query string.
FilterFields = create_model(
    "FilterFields", __config__=ConfigDict(extra="forbid"),
    __doc__="Scopes the papers (all optional; all given must hold).",
    **{name: (field.annotation, field) for name, field in Filters.model_fields.items()})


class AskRequest(BaseModel):
    """A question, with the conversation before it for a follow-up."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=MAX_TURN_CHARS, description="The question, in words.")
    k: int = Field(5, description="The most papers the answer cites (1 to 1000).")
    filters: FilterFields | None = None
    history: list[Turn] = Field(
        default_factory=list, max_length=MAX_TURNS,
        description="The conversation's earlier turns, oldest first: each question and the "
                    "ids of the papers its answer cited.")


class PageQuery(BaseModel):
    """A page of a list: `limit` items from `offset` on."""

    offset: int = Field(0, ge=0, description="Items skipped before the page.")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Items the page holds at most.")


class PaperPage(BaseModel):
    """A page of the library's papers, in the library's order, and how many there are."""

    total: int = Field(description="Papers that match the filters, on every page.")
    offset: int
    limit: int
    papers: list[Paper]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    papers: int = Field(description="Papers in the library being served.")


class ErrorBody(BaseModel):
    detail: str = Field(description="What went wrong, in one line.")


# -- the routes ------------------------------------------------------------------------------

class _PlainFailures(APIRoute):
    """A route whose unexpected failure is a 500 with one plain line, the traceback logged.
    (Starlette's handler for `Exception` re-raises after answering, so the server would log
    it twice and a mounted app's parent would see it; catching it in the route does not.)"""

    def get_route_handler(self):
        handle = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handle(request)
            except (PaperchatError, RequestValidationError, HTTPException):
                raise  # the app's handlers answer these with their message
            except Exception as exc:  # noqa: BLE001 - anything else must not reach the caller
                log.error("unexpected failure in %s %s", request.method, request.url.path,
                          exc_info=exc)
                return _error(500, UNEXPECTED.format(kind=type(exc).__name__))

        return answer


def _filters(year_from: int | None = None, year_to: int | None = None,
             author: str | None = None, category: str | None = None,
             has_code: bool | None = None) -> Filters | None:
    """The filters of a query string (a route's dependency)."""
    return filters_of(year_from=year_from, year_to=year_to, author=author, category=category,
                      has_code=has_code)


QueryFilters = Annotated[Filters | None, Depends(_filters)]
PaperRef = Annotated[str, Path(description="The paper's id, arXiv id, DOI, cite key or title.")]
HowMany = Annotated[int, Query(description="How many papers (1 to 1000).")]
AspectParameter = Annotated[Literal["background", "method", "result"] | None, Query(
    description="Alike in one respect: background, method or result (default: the whole "
                "text).")]
ERRORS = {code: {"model": ErrorBody, "description": what} for code, what in (
    (400, "A question or reference that cannot be answered as given"),
    (401, "The server requires a login"),
    (403, "A request from a browser page of another origin"),
    (422, "A request not of this schema's shape"),
    (500, "An unexpected failure"))}


def rest_app(current_bot: Callable[[], PaperBot]) -> FastAPI:
    """The API, answering with `current_bot()`: the web app replaces its bot when papers
    are added, and each request asks for the one now served."""
    searches = threading.BoundedSemaphore(SEARCHES_AT_ONCE)
    questions = threading.BoundedSemaphore(QUESTIONS_AT_ONCE)
    router = APIRouter(route_class=_PlainFailures, responses=ERRORS)

    # Sync routes: FastAPI runs them in its thread pool; the semaphores bound the work.
    @router.get("/search", response_model=list[Hit], tags=["papers"])
    def search(filters: QueryFilters,
               q: Annotated[str, Query(description="What to search for, in words.")],
               k: HowMany = 10
               ) -> list[Hit]:
        """The k papers that best match the query, best first, each with the sentence of
        its abstract that matched best."""
        with searches:
            return current_bot().search(q, k=k, filters=filters)

    @router.post("/ask", response_model=Answer, tags=["answers"])
    def ask(request: AskRequest) -> Answer:
        """An answer citing the papers that answer the question, each citation quoting its
        paper's abstract; or an abstention naming the nearest papers."""
        filters = filters_of(**request.filters.model_dump()) if request.filters else None
        with questions:
            return current_bot().ask(request.question, k=request.k, filters=filters,
                                     history=request.history)

    @router.get("/similar", response_model=list[Hit], tags=["papers"])
    def similar(filters: QueryFilters,
                ref: Annotated[list[str], Query(
                    description="A paper id, arXiv id, DOI, cite key, title, or any text; "
                                "repeated (`ref=…&ref=…`), papers: a set, a reading list.")],
                k: HowMany = 5, aspect: AspectParameter = None
                ) -> list[Hit]:
        """Papers like the one named (never that paper itself), like the text given, or like
        all the papers named (none of them); with an aspect, alike in that respect."""
        with searches:
            return current_bot().similar(ref[0] if len(ref) == 1 else ref, k=k,
                                         filters=filters, aspect=aspect)

    @router.get("/new", response_model=list[Hit], tags=["papers"])
    def new(filters: QueryFilters,
            since: Annotated[str, Query(description="The first day, YYYY-MM-DD.")],
            like: Annotated[list[str] | None, Query(
                description="Papers to rank by closeness to (repeated); default: the "
                            "starred papers, else newest first.")] = None,
            k: HowMany = 20) -> list[Hit]:
        """What's new: papers added to the library (or dated) on or after `since`, each with
        the day it was added (`added`)."""
        with searches:
            return current_bot().new(since, k=k, like=like, filters=filters)

    @router.get("/stars", response_model=list[Paper], tags=["stars"])
    def stars() -> list[Paper]:
        """The papers the user starred, oldest star first."""
        return current_bot().starred

    @router.put("/stars/{ref:path}", response_model=Paper, tags=["stars"],
                responses={404: {"model": ErrorBody, "description": "No such paper"}})
    def star(ref: PaperRef) -> Paper:
        """Star a paper (kept in the library folder); starring it again changes nothing."""
        bot = current_bot()
        return bot.star(paper_of(bot, ref).id)

    @router.delete("/stars/{ref:path}", response_model=Paper, tags=["stars"],
                   responses={404: {"model": ErrorBody, "description": "No such paper"}})
    def unstar(ref: PaperRef) -> Paper:
        """Take a paper's star away (a paper without one: nothing changes)."""
        bot = current_bot()
        return bot.unstar(paper_of(bot, ref).id)

    @router.get("/papers", response_model=PaperPage, tags=["papers"])
    def papers(filters: QueryFilters, page: Annotated[PageQuery, Query()]) -> PaperPage:
        """The library's papers, a page at a time, filtered."""
        matching = [p for p in current_bot().papers if filters is None or filters.matches(p)]
        return PaperPage(total=len(matching), offset=page.offset, limit=page.limit,
                         papers=matching[page.offset:page.offset + page.limit])

    # Ids hold '/' and ':' (hep-th/9901001, doi:10.1/x): a path converter takes them whole.
    # The BibTeX route comes first, or the paper's route would take ".../bibtex" as its id.
    @router.get("/papers/{ref:path}/bibtex", response_class=Response, tags=["papers"],
                responses={200: {"content": {"text/x-bibtex": {}}, "description": "BibTeX"},
                           404: {"model": ErrorBody, "description": "No such paper"}})
    def paper_bibtex(ref: PaperRef) -> Response:
        """The paper as a BibTeX entry, for a reference manager."""
        return Response(to_bibtex([paper_of(current_bot(), ref)]),
                        media_type="text/x-bibtex; charset=utf-8")

    @router.get("/papers/{ref:path}", response_model=Paper, tags=["papers"],
                responses={404: {"model": ErrorBody, "description": "No such paper"}})
    def paper(ref: PaperRef) -> Paper:
        """One paper of the library, with every source it was read from."""
        return paper_of(current_bot(), ref)

    @router.get("/health", response_model=Health, tags=["server"])
    def health() -> Health:
        """Whether the server answers, and how many papers it serves."""
        return Health(papers=len(current_bot().papers))

    api = FastAPI(title="paperchat", version="1", openapi_url="/openapi.json",
                  docs_url="/docs", redoc_url=None,
                  description="Questions over a library of papers, answered with verified, "
                              "quoted citations.")
    api.include_router(router)
    api.add_exception_handler(PaperchatError, _domain_error)
    api.add_exception_handler(RequestValidationError, _shape_error)
    return api


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, PaperNotFound):
        return _error(404, str(exc))
    if not isinstance(exc, QueryError):
        # The library cannot serve (damaged, locked): the server's fault, told plainly.
        log.error("the library failed a request: %s", exc)
        return _error(500, str(exc))
    return _error(400, str(exc))


MAX_SHAPE_ERRORS = 5


async def _shape_error(_: Request, exc: Exception) -> JSONResponse:
    """Pydantic's errors in one line, each where it is and what is wrong; never the input
    itself (it may be huge)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    said = [f"{_where(e)}: {e['msg']}" for e in errors[:MAX_SHAPE_ERRORS]]
    more = f" (and {len(errors) - MAX_SHAPE_ERRORS} more)" if len(errors) > MAX_SHAPE_ERRORS else ""
    return _error(422, "; ".join(said) + more or "the request is not of the schema's shape")


def _where(error: dict) -> str:
    """("query", "k") -> "k"; ("body", "history", 0, "question") -> "history.0.question";
    a body that is not JSON -> "body" (its loc holds the character where parsing failed)."""
    loc = error["loc"]
    if error["type"] == "json_invalid" or len(loc) == 1:
        return str(loc[0])
    return ".".join(str(part) for part in loc[1:])


# -- the guards ------------------------------------------------------------------------------

class Guards:
    """The checks every request to the API passes before any route sees it (an ASGI
    middleware around the whole API, so an unknown path, the schema and the docs too)."""

    def __init__(self, app: ASGIApp, server: GradioApp):
        self.app = app
        self.server = server  # Gradio's app: its login setting and the tokens it issued

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no websockets here; lifespan never reaches a mount
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> JSONResponse | None:
        headers = Headers(scope=scope)
        if not self.logged_in(HTTPConnection(scope)):
            return _error(401, LOG_IN)
        if not _same_origin(headers):
            return _error(403, "requests from another origin's pages are refused (CORS is "
                               "off)")
        return _body_refusal(scope["method"], headers)

    def logged_in(self, connection: HTTPConnection) -> bool:
        """Gradio's own test (gradio/routes.py, get_current_user and login_check): no login
        set, or the cookie /login set names a token it issued."""
        server = self.server
        if server.auth_dependency is not None:
            return False  # paperchat never sets one; a check it does not know is not guessed
        if server.auth is None:
            return True
        cookie_id = server.cookie_id
        token = (connection.cookies.get(f"access-token-{cookie_id}")
                 or connection.cookies.get(f"access-token-unsecure-{cookie_id}"))
        return token is not None and server.tokens.get(token) is not None


def _same_origin(headers: Headers) -> bool:
    """No Origin (a program, or a browser's same-origin GET), or the server's own."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower() != ""


def _body_refusal(method: str, headers: Headers) -> JSONResponse | None:
    if method not in ("POST", "PUT", "PATCH"):
        return None
    length = headers.get("content-length")
    if length is None:  # the length is checked before the body is read, not while
        return _error(411, "send the body with a Content-Length")
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return _error(413, f"the body is over {MAX_BODY_BYTES:,} bytes")
    return None


def mount(server: GradioApp, current_bot: Callable[[], PaperBot]) -> None:
    """The API at `/api/v1` of the app Gradio serves, behind the guards."""
    server.mount(PREFIX, Guards(rest_app(current_bot), server))
