"""The library for assistants over MCP (bot/surfaces/mcp_server.py), driven by the SDK's own
client: `paperchat mcp` launched as the README's configuration says (stdio), and the same
tools over streamable HTTP from `serve --mcp`, with and without a login."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from anyio.from_thread import start_blocking_portal
from conftest import MODEL_CACHE, REPO
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from bot.surfaces.mcp_server import MCP_PATH, TOOLS
from tests.helpers.mcp_session import Session

CREDIT = "Which papers study credit assignment over long delays?"
DEMONSTRATIONS = "Which papers train agents from human demonstrations?"
LOGIN = ("ada", "a-long-password")
# What an MCP client sends first: a request that any tool call needs to get through.
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "test", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@contextlib.contextmanager
def connected(transport) -> Iterator[Session]:
    with start_blocking_portal() as portal, \
            portal.wrap_async_context_manager(Client(transport)) as client:
        yield Session(portal, client)


@contextlib.asynccontextmanager
async def over_http(url: str, **http_options):
    """The SDK's streamable HTTP transport, through an HTTP client with these options (a
    login's cookies or credentials)."""
    async with httpx2.AsyncClient(timeout=120, **http_options) as http, \
            streamable_http_client(url, http_client=http) as streams:
        yield streams


def readme_config() -> dict:
    """The configuration the README gives for assistants: the first JSON block after its
    marker."""
    block = (REPO / "README.md").read_text(encoding="utf-8").split("<!-- mcp-config -->", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)```", block, flags=re.DOTALL).group(1))


def command_env(home: Path) -> dict[str, str]:
    """The environment an assistant gives the command, plus this checkout and the test
    session's model cache; the console script beside this interpreter comes first."""
    return {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
            "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "PAPERCHAT_HOME": str(home),
            "PAPERCHAT_EMBEDDING__CACHE_DIR": str(MODEL_CACHE)}


@pytest.fixture(scope="module")
def assistant(seed_library_dir, tmp_path_factory) -> Iterator[Session]:
    """`paperchat mcp` as the README's configuration launches it, on the seed library."""
    server = readme_config()["mcpServers"]["paperchat"]
    args = list(server["args"])
    args[args.index("--index") + 1] = str(seed_library_dir)
    params = StdioServerParameters(command=server["command"], args=args,
                                   env=command_env(tmp_path_factory.mktemp("mcp-home")))
    with connected(stdio_client(params)) as session:
        yield session


# -- the tools as a client lists them -------------------------------------------------------

def test_the_readme_launches_paperchat_mcp_with_every_tool_typed(assistant):
    assert readme_config()["mcpServers"]["paperchat"]["command"] == "paperchat"
    tools = assistant.tools()
    assert list(tools) == list(TOOLS)
    for tool in tools.values():
        assert "Use it" in tool.description  # when an assistant should call it
        assert tool.output_schema["type"] == "object"
        assert tool.annotations.read_only_hint
    search = tools["search_papers"].input_schema
    assert set(search["properties"]) == {"query", "k", "year_from", "year_to", "author",
                                         "category", "has_code"}
    assert search["required"] == ["query"] and search["properties"]["k"]["default"] == 10
    ask = tools["ask_library"].input_schema
    assert {"question", "k", "history", "year_from", "has_code"} <= set(ask["properties"])
    assert set(ask["$defs"]["Turn"]["properties"]) == {"question", "cited"}
    assert tools["get_paper"].input_schema["required"] == ["id"]
    export = tools["export_citations"].input_schema["properties"]
    assert export["format"]["enum"] == ["bibtex", "csl-json"]
    assert tools["library_info"].input_schema["properties"] == {}
    assert set(tools["ask_library"].output_schema["properties"]) >= {"text", "citations",
                                                                     "abstained"}


def test_mcp_is_on_the_command_line():
    help_text = subprocess.run([sys.executable, "-m", "bot", "mcp", "--help"],
                               capture_output=True, text=True, timeout=120).stdout
    assert "--index" in help_text and "MCP" in help_text


def test_a_folder_without_a_library_is_one_line_on_stderr(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "mcp", "--index", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, **command_env(tmp_path / "home")})
    assert done.returncode == 1 and done.stdout == ""  # stdout is the protocol's alone
    assert "no library in" in done.stderr and "Traceback" not in done.stderr


# -- each tool ------------------------------------------------------------------------------

def test_search_papers_with_filters(assistant):
    hits = assistant.ok("search_papers", query="credit assignment", k=3)["hits"]
    assert 1 <= len(hits) <= 3
    assert hits[0]["paper"]["title"] == "Synthetic Returns for Long-Term Credit Assignment"
    assert all(h["evidence"] in h["paper"]["abstract"] for h in hits if h["evidence"])
    recent = assistant.ok("search_papers", query="reinforcement learning", k=10,
                          year_from=2022)["hits"]
    assert recent and all(h["paper"]["date"] >= "2022" for h in recent)
    text = assistant.call("search_papers", query="credit assignment", k=1).content[0].text
    assert text.startswith("1. Synthetic Returns for Long-Term Credit Assignment")


def test_ask_library_quotes_the_cited_abstracts_verbatim(assistant):
    result = assistant.call("ask_library", question=CREDIT, k=3)
    answer = result.structured_content
    assert not answer["abstained"] and answer["citations"]
    for citation in answer["citations"]:
        paper = assistant.ok("get_paper", id=citation["paper"]["id"])
        assert citation["quote"] and citation["quote"] in paper["abstract"]
        assert f"[{citation['n']}] id {paper['id']}" in result.content[0].text
    assert "Synthetic Returns for Long-Term Credit Assignment" in result.content[0].text


def test_an_abstention_is_a_plain_statement_not_an_error(assistant):
    result = assistant.call("ask_library", question="What is the best recipe for chocolate "
                                                    "cake?")
    assert not result.is_error
    assert result.structured_content["abstained"] and result.structured_content["nearest"]
    assert result.content[0].text.startswith(
        "The library holds no paper that answers this question.")


def test_a_follow_up_reads_the_history(assistant):
    first = assistant.ok("ask_library", question=DEMONSTRATIONS)
    cited = [c["paper"]["id"] for c in first["citations"]]
    assert cited
    then = assistant.call("ask_library", question="and which of those use imitation learning?",
                          history=[{"question": first["question"], "cited": cited}])
    answer = then.structured_content
    assert answer["context"].startswith("a follow-up: among the")
    assert then.content[0].text.startswith(f"(read as {answer['context']})")
    assert {c["paper"]["id"] for c in answer["citations"]} <= set(cited)
    alone = assistant.ok("ask_library", question="and which of those use imitation learning?")
    assert alone["context"] is None


def test_similar_papers_never_returns_the_paper_itself(assistant):
    hits = assistant.ok("similar_papers", ref="arXiv:2403.05530", k=3)["hits"]
    assert len(hits) == 3 and all(h["paper"]["id"] != "2403.05530" for h in hits)


def test_get_paper_by_arxiv_id(assistant):
    result = assistant.call("get_paper", id="arXiv:2403.05530v2")
    paper = result.structured_content
    assert paper["id"] == "2403.05530" and paper["abstract"] and paper["sources"]
    text = result.content[0].text
    assert text.startswith(paper["title"]) and paper["abstract"] in text
    assert "Read from: " in text and paper["sources"][0]["file"] in text


def test_an_unknown_paper_is_a_tool_error_with_the_message(assistant):
    message = assistant.error("get_paper", id="no-such-paper")
    assert "no paper 'no-such-paper' in the library (give its id, arXiv id, DOI, cite key or " \
           "title)" in message
    message = assistant.error("export_citations", ids=["2403.05530", "no-such-paper"])
    assert "no paper 'no-such-paper'" in message


def test_export_citations_as_bibtex_and_csl_json(assistant):
    ids = ["2403.05530", assistant.ok("search_papers", query="credit assignment",
                                      k=1)["hits"][0]["paper"]["id"]]
    result = assistant.call("export_citations", ids=ids)
    bibtex = result.structured_content
    assert bibtex["format"] == "bibtex" and bibtex["papers"] == 2
    assert len(re.findall(r"^@\w+\{", bibtex["text"], flags=re.MULTILINE)) == 2
    assert "2403.05530" in bibtex["text"] and result.content[0].text == bibtex["text"]
    csl = assistant.call("export_citations", ids=ids, format="csl-json")
    items = json.loads(csl.structured_content["text"])
    assert len(items) == 2 and csl.content[0].text == csl.structured_content["text"]
    assert assistant.call("export_citations", ids=ids, format="csv").is_error


def test_library_info_is_the_manifest_and_the_report(assistant, seed_bot):
    result = assistant.call("library_info")
    info = result.structured_content
    report = seed_bot.report
    assert info["papers"] == len(seed_bot.papers) == 68
    assert info["files"] == len(report.files) and info["records"] == report.records
    assert sum(f["records"] for f in info["formats"]) == report.records
    assert {f["layout"] for f in info["formats"]} == {f.layout.value for f in report.files}
    assert info["last_ingest"].startswith(str(seed_bot.library.manifest.built_at.date()))
    assert info["refused"] == [] and info["sentences"] > info["papers"]
    assert result.content[0].text.startswith("68 papers")


@pytest.mark.parametrize(("tool", "arguments", "message"), [
    ("ask_library", {"question": "   "}, "the question is empty"),
    ("search_papers", {"query": "x", "year_from": 2022, "year_to": 2020},
     "year_from 2022 is after year_to 2020"),
    ("search_papers", {"query": "graphs", "k": 0}, "greater than or equal to 1"),
    ("ask_library", {"question": CREDIT, "history": "not a list"}, "history"),
    ("ask_library", {"question": CREDIT, "history": [{"cited": []}]}, "question"),
])
def test_a_mistake_is_a_tool_error_naming_it(assistant, tool, arguments, message):
    assert message in assistant.error(tool, **arguments)


# -- over HTTP, from `serve --mcp` ----------------------------------------------------------

@pytest.fixture(scope="module")
def http_url(seed_bot, serve_for_module) -> str:
    return serve_for_module(seed_bot, mcp=True).rstrip("/") + MCP_PATH


def test_the_same_tools_over_streamable_http(http_url):
    with connected(over_http(http_url)) as session:
        assert list(session.tools()) == list(TOOLS)
        answer = session.ok("ask_library", question=CREDIT, k=3)
        for citation in answer["citations"]:
            assert citation["quote"] in session.ok("get_paper",
                                                   id=citation["paper"]["id"])["abstract"]
        assert "no paper 'nope'" in session.error("get_paper", id="nope")
        assert session.ok("library_info")["papers"] == 68


def test_without_mcp_the_app_has_no_mcp_route(seed_bot, serve):
    url = serve(seed_bot).rstrip("/") + MCP_PATH
    reply = httpx2.post(url, json=INITIALIZE, headers=MCP_HEADERS, timeout=30)
    assert reply.status_code in (404, 405) and "jsonrpc" not in reply.text


def _refused(url: str, **http_options) -> bool:
    """Whether /mcp refuses every method unanswered, with these credentials."""
    with httpx2.Client(timeout=30, **http_options) as http:
        replies = [http.post(url, json=INITIALIZE, headers=MCP_HEADERS),
                   http.get(url, headers=MCP_HEADERS), http.delete(url)]
    return all(r.status_code == 401 and "jsonrpc" not in r.text for r in replies)


def test_with_a_login_mcp_needs_the_login_cookie_or_its_credentials(seed_bot, serve):
    app = serve(seed_bot, mcp=True, auth=[LOGIN]).rstrip("/")
    url = app + MCP_PATH
    assert _refused(url)
    assert _refused(url, auth=(LOGIN[0], "wrong password"))
    assert _refused(url, cookies={"access-token-unsecure-x": "made-up"})
    assert _refused(url, headers={"Authorization": "Basic not-base64!"})
    with httpx2.Client(timeout=30) as http:
        assert http.post(f"{app}/login", data=dict(zip(("username", "password"), LOGIN,
                                                       strict=True))).status_code == 200
        cookies = dict(http.cookies)
    with connected(over_http(url, cookies=cookies)) as session:
        assert session.ok("library_info")["papers"] == 68
    with connected(over_http(url, auth=LOGIN)) as session:
        hits = session.ok("search_papers", query="credit assignment", k=1)["hits"]
        assert hits[0]["paper"]["title"] == "Synthetic Returns for Long-Term Credit Assignment"


def test_paperchat_serve_mcp_behind_an_auth_file(seed_library_dir, tmp_path):
    """The command itself, in a process of its own: `serve --mcp --auth-file`."""
    from bot.surfaces.web.app import free_port

    logins = tmp_path / "logins"
    logins.write_text(":".join(LOGIN) + "\n", encoding="utf-8")
    port = free_port()
    exe = shutil.which("paperchat", path=os.path.dirname(sys.executable))
    process = subprocess.Popen(
        [exe, "serve", "--mcp", "--index", str(seed_library_dir), "--port", str(port),
         "--auth-file", str(logins)], env={**os.environ, **command_env(tmp_path / "home")},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}{MCP_PATH}"
        _wait_until_served(f"http://127.0.0.1:{port}/", process)
        assert _refused(url)
        with connected(over_http(url, auth=LOGIN)) as session:
            assert list(session.tools()) == list(TOOLS)
            assert not session.ok("ask_library", question=CREDIT)["abstained"]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    assert f"paperchat: MCP tools at http://127.0.0.1:{port}{MCP_PATH}" in stderr


def _wait_until_served(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        with contextlib.suppress(httpx2.TransportError):
            if httpx2.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"{url} was not served within {timeout} s")
