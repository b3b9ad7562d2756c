"""The web app, started on a free loopback port and called over HTTP with gradio_client."""

from __future__ import annotations

import os

import httpx
import pytest
from gradio_client import Client


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def test_binds_loopback_and_serves_the_page(server):
    assert server.startswith("http://127.0.0.1:")
    page = httpx.get(server, timeout=30)
    assert page.status_code == 200 and "<html" in page.text
    config = httpx.get(f"{server}config", timeout=30).json()
    assert config["title"] == "paperchat"


def test_ask_by_name(client):
    answer = client.predict(question="Which papers study credit assignment over long delays?",
                            k=3, api_name="/ask")
    assert not answer["abstained"]
    first = answer["citations"][0]
    assert first["paper"]["title"] == "Synthetic Returns for Long-Term Credit Assignment"
    assert first["quote"] in first["paper"]["abstract"]


def test_search_and_similar_by_name(client):
    hits = client.predict(query="graph networks", k=2, api_name="/search")
    assert len(hits) == 2 and "graph networks" in hits[0]["paper"]["title"]
    similar = client.predict(ref="2403.05530", k=3, api_name="/similar")
    assert len(similar) == 3 and all(h["paper"]["id"] != "2403.05530" for h in similar)


def test_off_topic_question_abstains(client):
    answer = client.predict(question="What is the best recipe for chocolate cake?",
                            api_name="/ask")
    assert answer["abstained"] and answer["nearest"]


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
def test_blank_or_huge_question_is_a_message(client, question):
    with pytest.raises(Exception, match="empty|limit is") as caught:
        client.predict(question=question, api_name="/ask")
    assert "Traceback" not in str(caught.value)


def test_no_share_link_and_analytics_off(server):
    config = httpx.get(f"{server}config", timeout=30).json()
    assert not config.get("share_url") and config["analytics_enabled"] is False


def test_serving_never_calls_gradios_telemetry(serve, seed_bot, monkeypatch):
    """Analytics are off on the app itself, not through the process's environment: Gradio
    neither checks its version nor reports usage, and no setting of ours is left behind."""
    import gradio.analytics

    calls = []
    for name in ("version_check", "_do_analytics_request"):
        monkeypatch.setattr(gradio.analytics, name,
                            lambda *_, name=name, **__: calls.append(name))
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    url = serve(seed_bot)
    assert httpx.get(url, timeout=30).status_code == 200
    assert calls == []
    assert "GRADIO_ANALYTICS_ENABLED" not in os.environ


def test_the_readmes_client_example_runs_a_follow_up(server):
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
                  if "gradio_client" in b]
    scope: dict = {}
    exec(compile(example.replace("http://127.0.0.1:7860/", server), "README.md", "exec"), scope)
    later = scope["later"]
    assert later["context"] == "a follow-up to “Which papers study relational reasoning?”"
    assert later["citations"] and all(c["paper"]["date"].startswith("2018")
                                      for c in later["citations"])


@pytest.mark.parametrize("history", ["not a list", [{"cited": []}], [{"question": "x" * 20_000}]])
def test_a_bad_history_is_a_message(client, history):
    with pytest.raises(Exception, match="history") as caught:
        client.predict(question="and in 2018?", history=history, api_name="/ask")
    assert "Traceback" not in str(caught.value)
