"""The REST API (/api/v1) of a served app, called over HTTP with httpx: every route, bad
input of every kind, ids holding '/' and ':', the OpenAPI schema, a login that cannot be
bypassed, no CORS, and the README's curl examples run as written."""

from __future__ import annotations

import contextlib
import logging
import re
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import bibtexparser
import httpx
import pytest
from conftest import REPO

from bot import PaperBot
from bot.surfaces.rest import MAX_BODY_BYTES, UNEXPECTED

LOGIN = ("alice", "correct:horse battery")
README_LOGIN = ("alice", "a-long-password")  # the README's example
QUESTION = "Which papers study credit assignment over long delays?"
# Papers whose ids hold '/' and ':': an old-style arXiv id, and a DOI without an arXiv id.
ODD_IDS_BIB = r"""
@article{oldstyle1999,
  title = {Large N Field Theories, String Theory and Gravity},
  author = {Maldacena, Juan},
  year = {1999},
  eprint = {hep-th/9711200},
  archiveprefix = {arXiv},
  abstract = {We review the holographic correspondence between field theories and string
              theory. Large N gauge theories are dual to gravity in anti de Sitter space.}
}
@article{doionly2020,
  title = {Coral Reef Resilience under Repeated Heat Waves},
  author = {Reef, Ada and Current, Ben},
  journal = {Journal of Ocean Studies},
  year = {2020},
  doi = {10.1000/reef:heat/2020.7},
  abstract = {Repeated marine heat waves bleach corals. We measure how quickly reefs
              recover between heat waves across twelve sites.}
}
"""


@pytest.fixture(scope="module")
def api(server) -> str:
    return server + "api/v1"


@pytest.fixture(scope="module")
def guarded(serve_for_module, seed_bot) -> str:
    """The app served with a login required."""
    return serve_for_module(seed_bot, auth=[LOGIN])


@pytest.fixture(scope="module")
def odd_ids(serve_for_module, tmp_path_factory, embedder) -> str:
    """An app serving the two papers of ODD_IDS_BIB."""
    folder = tmp_path_factory.mktemp("odd-ids")
    (folder / "papers.bib").write_text(ODD_IDS_BIB, encoding="utf-8")
    bot = PaperBot.from_corpus([folder / "papers.bib"], folder / "library", embedder=embedder)
    assert {p.id for p in bot.papers} == {"hep-th/9711200", "doi:10.1000/reef:heat/2020.7"}
    return serve_for_module(bot) + "api/v1"


def _error(response: httpx.Response, status: int, words: str) -> str:
    """The response is that error, as one JSON line naming the words; never a traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail
    assert re.search(words, detail), detail
    return detail


# -- the routes ------------------------------------------------------------------------------

def test_health(api):
    response = httpx.get(f"{api}/health", timeout=30)
    assert response.status_code == 200 and response.json() == {"status": "ok", "papers": 68}


def test_search_with_filters(api):
    hits = httpx.get(f"{api}/search", params={"q": "graph networks", "k": 2}, timeout=30).json()
    assert len(hits) == 2 and "graph networks" in hits[0]["paper"]["title"]
    assert hits[0]["evidence"] in hits[0]["paper"]["abstract"]
    recent = httpx.get(f"{api}/search", params={"q": "graph networks", "k": 5,
                                                "year_from": 2020}, timeout=30).json()
    assert len(recent) == 5 and all(h["paper"]["date"] >= "2020" for h in recent)
    coded = httpx.get(f"{api}/search", params={"q": "agents", "k": 3, "has_code": "true"},
                      timeout=30).json()
    assert coded and all(h["paper"]["has_code"] for h in coded)


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"q": "graph networks", "k": 0}, 400, "k must be a whole number from 1 to 1000, not 0"),
    ({"q": "graph networks", "k": 5000}, 400, "k must be a whole number"),
    ({"q": "graph networks", "k": "abc"}, 422, "^k: Input should be a valid integer"),
    ({"q": "graph networks", "year_from": 2020, "year_to": 2018}, 400,
     "year_from 2020 is after year_to 2018"),
    ({"q": "graph networks", "year_from": "last year"}, 422, "^year_from: "),
    ({"q": "graph networks", "has_code": "maybe"}, 422, "^has_code: "),
    ({"q": ""}, 400, "the question is empty"),
    ({"q": " \t\u200b "}, 400, "the question is empty"),
    ({"q": "x" * 5000}, 400, "the limit is 2,000"),
    ({}, 422, "^q: Field required"),
], ids=["k=0", "k=5000", "k=abc", "years-reversed", "year-not-a-number", "has_code-not-bool",
        "empty", "blank", "huge", "no-q"])
def test_bad_search_input_is_a_message(api, params, status, words):
    _error(httpx.get(f"{api}/search", params=params, timeout=30), status, words)


def test_ask_quotes_its_citations(api):
    response = httpx.post(f"{api}/ask", json={"question": QUESTION, "k": 3}, timeout=60)
    answer = response.json()
    assert response.status_code == 200 and not answer["abstained"]
    first = answer["citations"][0]
    assert first["paper"]["title"] == "Synthetic Returns for Long-Term Credit Assignment"
    assert first["quote"] in first["paper"]["abstract"] and "[1]" in answer["text"]


def test_ask_a_follow_up_with_filters(api):
    first = httpx.post(f"{api}/ask", json={"question": "Which papers study relational "
                                                       "reasoning?"}, timeout=60).json()
    history = [{"question": first["question"],
                "cited": [c["paper"]["id"] for c in first["citations"]]}]
    later = httpx.post(f"{api}/ask", json={"question": "and in 2018?", "history": history},
                       timeout=60).json()
    assert later["context"] == "a follow-up to “Which papers study relational reasoning?”"
    assert later["citations"] and all(c["paper"]["date"].startswith("2018")
                                      for c in later["citations"])
    scoped = httpx.post(f"{api}/ask", json={"question": "Which papers study relational "
                                                        "reasoning?",
                                            "filters": {"year_from": 2019}}, timeout=60).json()
    assert all(c["paper"]["date"] >= "2019" for c in scoped["citations"] + scoped["nearest"])


def test_off_topic_question_abstains(api):
    answer = httpx.post(f"{api}/ask", json={"question": "What is the best recipe for "
                                                        "chocolate cake?"}, timeout=60).json()
    assert answer["abstained"] and answer["nearest"] and not answer["citations"]


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"question": ""}, 400, "the question is empty"),
    ({"question": "x" * 5000}, 400, "the limit is 2,000"),
    ({"question": "x" * 20_000}, 422, "^question: String should have at most 10000"),
    ({"question": "graph networks", "k": 0}, 400, "k must be a whole number"),
    ({"question": "graph networks", "k": "abc"}, 422, "^k: Input should be a valid integer"),
    ({"question": "graph networks", "filters": {"year_from": 2020, "year_to": 2018}}, 400,
     "year_from 2020 is after year_to 2018"),
    ({"question": "graph networks", "filters": {"decade": 1990}}, 422,
     "^filters.decade: Extra inputs are not permitted"),
    ({"question": "and in 2018?", "history": "not a list"}, 422, "^history: "),
    ({"question": "and in 2018?", "history": [{"cited": []}]}, 422,
     "^history.0.question: Field required"),
    ({"question": "and in 2018?", "history": [{"question": "q"}] * 101}, 422,
     "^history: List should have at most 100"),
    ({"questoin": "graph networks"}, 422, "question: Field required; questoin: Extra inputs"),
    ([], 422, "^body: "),
], ids=["empty", "huge", "over-the-field-limit", "k=0", "k=abc", "years-reversed",
        "unknown-filter", "history-not-a-list", "turn-without-question", "too-many-turns",
        "misspelt-field", "not-an-object"])
def test_bad_ask_input_is_a_message(api, body, status, words):
    _error(httpx.post(f"{api}/ask", json=body, timeout=60), status, words)


def test_a_body_that_is_not_json_or_too_big_or_of_no_length(api):
    not_json = httpx.post(f"{api}/ask", content=b'{"question": ',
                          headers={"content-type": "application/json"}, timeout=30)
    _error(not_json, 422, "^body: JSON decode error")
    too_big = httpx.post(f"{api}/ask", json={"question": "x" * MAX_BODY_BYTES}, timeout=30)
    _error(too_big, 413, "over 1,000,000 bytes")
    streamed = httpx.post(f"{api}/ask", content=iter([b'{"question": "graph networks"}']),
                          headers={"content-type": "application/json"}, timeout=30)
    _error(streamed, 411, "Content-Length")


def test_similar(api):
    hits = httpx.get(f"{api}/similar", params={"ref": "2403.05530", "k": 3}, timeout=30).json()
    assert len(hits) == 3 and all(h["paper"]["id"] != "2403.05530" for h in hits)
    by_text = httpx.get(f"{api}/similar", params={"ref": "relational reasoning in graph "
                                                         "networks", "k": 2}, timeout=30)
    assert by_text.status_code == 200 and len(by_text.json()) == 2
    _error(httpx.get(f"{api}/similar", params={"ref": "  "}, timeout=30), 400,
           "the reference is empty")
    _error(httpx.get(f"{api}/similar", params={"ref": "2403.05530", "k": "x"}, timeout=30),
           422, "^k: ")


def test_papers_come_in_pages_that_add_up(api):
    seen, offset = [], 0
    while True:
        page = httpx.get(f"{api}/papers", params={"offset": offset, "limit": 25},
                         timeout=30).json()
        assert page["total"] == 68 and page["offset"] == offset and page["limit"] == 25
        if not page["papers"]:
            break
        seen += [p["id"] for p in page["papers"]]
        offset += 25
    assert len(seen) == len(set(seen)) == 68
    default = httpx.get(f"{api}/papers", timeout=30).json()
    assert default["limit"] == 50 and [p["id"] for p in default["papers"]] == seen[:50]


def test_papers_filtered(api, seed_bot):
    page = httpx.get(f"{api}/papers", params={"year_from": 2023, "limit": 500},
                     timeout=30).json()
    expected = [p.id for p in seed_bot.papers if p.year and p.year >= 2023]
    assert page["total"] == len(expected) > 0 and [p["id"] for p in page["papers"]] == expected
    _error(httpx.get(f"{api}/papers", params={"year_from": 2024, "year_to": 2020}, timeout=30),
           400, "is after")


@pytest.mark.parametrize(("params", "words"), [
    ({"limit": 0}, "^limit: Input should be greater than or equal to 1"),
    ({"limit": 501}, "^limit: Input should be less than or equal to 500"),
    ({"offset": -1}, "^offset: Input should be greater than or equal to 0"),
    ({"offset": "first"}, "^offset: Input should be a valid integer"),
])
def test_bad_pages_are_a_message(api, params, words):
    _error(httpx.get(f"{api}/papers", params=params, timeout=30), 422, words)


def test_a_paper_and_its_bibtex(api):
    paper = httpx.get(f"{api}/papers/2403.05530", timeout=30).json()
    assert paper["title"].startswith("Gemini 1.5") and paper["sources"]
    by_arxiv = httpx.get(f"{api}/papers/arXiv:2403.05530v2", timeout=30).json()
    assert by_arxiv["id"] == "2403.05530"
    by_title = httpx.get(f"{api}/papers/{quote(paper['title'])}", timeout=30).json()
    assert by_title["id"] == "2403.05530"
    bibtex = httpx.get(f"{api}/papers/2403.05530/bibtex", timeout=30)
    assert bibtex.status_code == 200
    assert bibtex.headers["content-type"] == "text/x-bibtex; charset=utf-8"
    (entry,) = bibtexparser.parse_string(bibtex.text).entries
    assert entry["eprint"] == "2403.05530" and "Gemini 1.5" in entry["title"]


def test_a_missing_paper_is_404(api):
    _error(httpx.get(f"{api}/papers/2999.99999", timeout=30), 404,
           "no paper '2999.99999' in the library")
    _error(httpx.get(f"{api}/papers/no/such/paper/bibtex", timeout=30), 404,
           "no paper 'no/such/paper'")


def test_ids_with_slashes_and_colons(odd_ids):
    for paper_id in ("hep-th/9711200", "doi:10.1000/reef:heat/2020.7"):
        for spelt in (paper_id, quote(paper_id, safe="")):  # as it is, or percent-encoded
            paper = httpx.get(f"{odd_ids}/papers/{spelt}", timeout=30)
            assert paper.status_code == 200 and paper.json()["id"] == paper_id
            bibtex = httpx.get(f"{odd_ids}/papers/{spelt}/bibtex", timeout=30)
            assert bibtex.status_code == 200
            assert bibtexparser.parse_string(bibtex.text).entries
    by_doi = httpx.get(f"{odd_ids}/papers/10.1000/reef:heat/2020.7", timeout=30).json()
    assert by_doi["title"] == "Coral Reef Resilience under Repeated Heat Waves"
    (entry,) = bibtexparser.parse_string(
        httpx.get(f"{odd_ids}/papers/doionly2020/bibtex", timeout=30).text).entries
    assert entry.key == "doionly2020" and entry["doi"] == "10.1000/reef:heat/2020.7"
    assert entry["journal"] == "{Journal of Ocean Studies}"


def test_unknown_routes_and_methods_are_json(api):
    _error(httpx.get(f"{api}/nothing", timeout=30), 404, "Not Found")
    _error(httpx.post(f"{api}/search", json={}, timeout=30), 405, "Method Not Allowed")


def test_an_unexpected_failure_is_500_with_one_plain_line(api, seed_bot, monkeypatch, caplog):
    def broken(*_, **__):
        raise RuntimeError("internal detail /srv/secret/path")

    monkeypatch.setattr(seed_bot, "search", broken)
    with caplog.at_level(logging.ERROR, logger="bot.surfaces.rest"):
        response = httpx.get(f"{api}/search", params={"q": "graph networks"}, timeout=30)
    detail = _error(response, 500, "^Something went wrong")
    assert detail == UNEXPECTED.format(kind="RuntimeError") and "secret" not in response.text
    (record,) = [r for r in caplog.records if r.name == "bot.surfaces.rest"]
    assert record.exc_info and "internal detail" in str(record.exc_info[1])


def test_the_openapi_schema_lists_every_route_and_names_its_models(api):
    schema = httpx.get(f"{api}/openapi.json", timeout=30).json()
    assert schema["servers"] == [{"url": "/api/v1"}]
    routes = {(path, method) for path, methods in schema["paths"].items() for method in methods}
    assert routes == {("/search", "get"), ("/ask", "post"), ("/similar", "get"),
                      ("/papers", "get"), ("/papers/{ref}", "get"),
                      ("/papers/{ref}/bibtex", "get"), ("/health", "get"), ("/new", "get"),
                      ("/stars", "get"), ("/stars/{ref}", "put"), ("/stars/{ref}", "delete")}
    named = set(schema["components"]["schemas"])
    assert {"Answer", "Citation", "Hit", "Paper", "AskRequest", "FilterFields", "Turn",
            "PaperPage", "Health", "ErrorBody"} <= named

    def reply(path, method="get", status="200"):
        return schema["paths"][path][method]["responses"][status]["content"]

    assert reply("/ask", "post")["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Answer"}
    assert reply("/search")["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/Hit"}
    assert reply("/papers/{ref}")["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Paper"}
    assert "text/x-bibtex" in reply("/papers/{ref}/bibtex")
    assert reply("/papers/{ref}", status="404")["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"}
    search_params = {p["name"] for p in schema["paths"]["/search"]["get"]["parameters"]}
    assert search_params == {"q", "k", "year_from", "year_to", "author", "category", "has_code"}
    page_params = {p["name"] for p in schema["paths"]["/papers"]["get"]["parameters"]}
    assert {"offset", "limit", "year_from"} <= page_params
    docs = httpx.get(f"{api}/docs", timeout=30)
    assert docs.status_code == 200 and "/api/v1/openapi.json" in docs.text


# -- the login -------------------------------------------------------------------------------

# Every route, the schema and the docs: (method, path, JSON body).
EVERY_ROUTE = [("GET", "/health", None), ("GET", "/search?q=graph+networks", None),
               ("POST", "/ask", {"question": QUESTION}), ("GET", "/similar?ref=2403.05530", None),
               ("GET", "/papers", None), ("GET", "/papers/2403.05530", None),
               ("GET", "/papers/2403.05530/bibtex", None), ("GET", "/openapi.json", None),
               ("GET", "/docs", None), ("GET", "/nothing", None)]


@contextlib.contextmanager
def _logged_in(url: str) -> Iterator[httpx.Client]:
    """A client holding the cookie the app's /login set."""
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("login", data={"username": LOGIN[0], "password": LOGIN[1]}
                           ).status_code == 200
        yield client


def test_a_login_is_required_on_every_route(guarded):
    for method, path, body in EVERY_ROUTE:
        response = httpx.request(method, f"{guarded}api/v1{path}", json=body, timeout=30)
        _error(response, 401, "^log in first")
    with _logged_in(guarded) as client:
        for method, path, body in EVERY_ROUTE:
            response = client.request(method, f"api/v1{path}", json=body)
            assert response.status_code == (404 if path == "/nothing" else 200), path


def test_a_wrong_password_or_a_forged_cookie_gets_nothing(guarded):
    with httpx.Client(base_url=guarded, timeout=30) as client:
        assert client.post("login", data={"username": LOGIN[0], "password": "wrong"}
                           ).status_code == 400
        _error(client.get("api/v1/papers"), 401, "log in first")
    with _logged_in(guarded) as client:
        names = [cookie.name for cookie in client.cookies.jar]
        assert any(name.startswith("access-token-unsecure-") for name in names)
    for name in names:  # the server's own cookie names, with a token it never issued
        forged = httpx.get(f"{guarded}api/v1/papers", cookies={name: "forged-token-1234"},
                           timeout=30)
        _error(forged, 401, "log in first")
    guessed = httpx.get(f"{guarded}api/v1/papers", cookies={"access-token": "x"}, timeout=30)
    _error(guessed, 401, "log in first")


def test_logging_out_ends_the_apis_access_too(guarded):
    with _logged_in(guarded) as client:
        assert client.get("api/v1/health").status_code == 200
        client.get("logout")
        _error(client.get("api/v1/health"), 401, "log in first")


def _raw_get(url: str, path: str) -> tuple[int, str]:
    """A GET of the path exactly as written: no client tidies it first."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Connection: close\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.decode("utf-8", "replace").partition("\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("path", [
    "/api/v1//papers", "/api/v1/./papers", "/api/v1/../v1/papers", "/api//v1/papers",
    "/API/v1/papers", "/Api/V1/papers", "/api/v1/papers/", "/api/v1%2Fpapers",
    "/api/v1/papers%2F2403.05530", "/api/V1/papers/2403.05530", "/api/v1/%70apers",
    "/api/v1/papers?limit=1#", "/api/v1/papers/2403.05530/bibtex/",
])
def test_no_other_spelling_of_a_path_gets_past_the_login(guarded, path):
    status, body = _raw_get(guarded, path)
    assert status in (401, 404), (status, body[:200])
    assert '"total"' not in body and "Gemini" not in body and "@misc" not in body


def test_the_guarded_apps_own_api_still_needs_the_login(guarded):
    """The REST API changes nothing of Gradio's routes: they refuse without a login too."""
    assert httpx.get(f"{guarded}config", timeout=30).status_code == 401
    assert httpx.get(f"{guarded}gradio_api/info", timeout=30).status_code == 401


# -- CORS ------------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:5173", "null"])
def test_cors_is_off(api, origin):
    for response in (httpx.get(f"{api}/health", headers={"Origin": origin}, timeout=30),
                     httpx.post(f"{api}/ask", json={"question": QUESTION},
                                headers={"Origin": origin}, timeout=30)):
        # The refusal is what keeps the answers from the page: Gradio's CORS middleware,
        # around the whole server, allows a localhost origin on the refusal too.
        _error(response, 403, "another origin")
        assert set(response.json()) == {"detail"}
        if origin == "https://evil.example":
            assert "access-control-allow-origin" not in response.headers


def test_the_servers_own_pages_are_served(api):
    own = "http://" + urlsplit(api).netloc
    response = httpx.post(f"{api}/ask", json={"question": QUESTION, "k": 1},
                          headers={"Origin": own}, timeout=60)
    assert response.status_code == 200 and response.json()["citations"]


# -- the README ------------------------------------------------------------------------------

README = (REPO / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## REST API\n", 1)[1].split("\n## ", 1)[0]
EXAMPLE_URL = "http://127.0.0.1:7860"


def _commands(block: str) -> list[list[str]]:
    """A bash block's curl commands, each as its words (continued lines joined)."""
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.strip()]


def _run(words: list[str], url: str, cwd) -> str:
    assert words[0] == "curl"
    words = [w.replace(EXAMPLE_URL, url.rstrip("/")) for w in words]
    done = subprocess.run([CURL, "--silent", "--show-error", "--fail-with-body", *words[1:]],
                          cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (words, done.stdout, done.stderr)
    return done.stdout


CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="the README's examples run curl")


@needs_curl
def test_the_readmes_curl_examples_run(server, tmp_path):
    import json

    examples, _login = re.findall(r"```bash\n(.*?)```", SECTION, flags=re.DOTALL)
    outputs = {}
    for words in _commands(examples):
        path = urlsplit(next(w for w in words if w.startswith(EXAMPLE_URL))).path
        outputs[path] = _run(words, server, tmp_path)
    assert set(outputs) == {"/api/v1/health", "/api/v1/search", "/api/v1/ask",
                            "/api/v1/similar", "/api/v1/papers", "/api/v1/papers/2403.05530",
                            "/api/v1/papers/2403.05530/bibtex"}
    assert json.loads(outputs["/api/v1/health"]) == {"status": "ok", "papers": 68}
    hits = json.loads(outputs["/api/v1/search"])
    assert len(hits) == 3 and all(h["paper"]["date"] >= "2018" for h in hits)
    answer = json.loads(outputs["/api/v1/ask"])
    assert answer["citations"] and all(c["paper"]["date"] >= "2018" for c in answer["citations"])
    similar = json.loads(outputs["/api/v1/similar"])
    assert len(similar) == 3 and all(h["paper"]["id"] != "2403.05530" for h in similar)
    page = json.loads(outputs["/api/v1/papers"])
    assert page["papers"] and all("cs.LG" in p["categories"] for p in page["papers"])
    assert json.loads(outputs["/api/v1/papers/2403.05530"])["id"] == "2403.05530"
    (entry,) = bibtexparser.parse_string(outputs["/api/v1/papers/2403.05530/bibtex"]).entries
    assert entry["eprint"] == "2403.05530"


@needs_curl
def test_the_readmes_login_example_runs(serve, seed_bot, tmp_path):
    url = serve(seed_bot, auth=[README_LOGIN])
    _examples, login = re.findall(r"```bash\n(.*?)```", SECTION, flags=re.DOTALL)
    log_in, health = _commands(login)
    assert '"success":true' in _run(log_in, url, tmp_path).replace(" ", "")
    assert '"status":"ok"' in _run(health, url, tmp_path).replace(" ", "")
    without = subprocess.run([CURL, "--silent", f"{url}api/v1/health"], capture_output=True,
                             text=True, timeout=60)
    assert "log in first" in without.stdout
