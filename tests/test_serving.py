"""Serving safely: loopback, no share link, analytics off, an optional login, a bounded queue,
many users at once, and questions of every odd shape through the API, the CLI and HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from gradio_client import Client

from bench import load
from bot import QueryError, SettingsError
from bot.settings import get_settings, parse_credentials
from bot.surfaces.cli import main
from bot.surfaces.web import QUEUE_SIZE

LOGIN = ("alice", "correct:horse battery")
ODD_QUESTIONS = {  # question -> a word of the message, or None when it is answered
    "": "empty",
    "   \t\n ": "empty",
    "\x00\x07\x1b\x7f\u200b\u202e": "empty",  # nothing but control and format characters
    "x" * 10_000: "limit is",
    "graph\x00 networks\x1b\u202e for relational\treasoning": None,
    "Quels réseaux de graphes? 图神经网络 — relational reasoning 🤖": None,
    "<script>window.__pwned = 1</script> [x](javascript:alert(1)) graph networks": None,
}


@pytest.fixture(scope="module")
def guarded(serve_for_module, seed_bot):
    """The app served with a login required."""
    return serve_for_module(seed_bot, auth=[LOGIN])


def test_defaults_are_loopback_no_login_and_analytics_off(server):
    settings = get_settings()
    assert settings.server.host == "127.0.0.1" and settings.server.auth is None
    config = httpx.get(f"{server}config", timeout=30).json()
    assert not config.get("share_url") and config.get("analytics_enabled") is False
    assert config.get("auth_required") in (None, False)


def test_the_queue_is_bounded(server):
    config = httpx.get(f"{server}config", timeout=30).json()
    assert config["enable_queue"] is True
    assert QUEUE_SIZE >= 50 * 2  # the load bench's 50 users fit, with room


def test_without_a_login_the_app_refuses_everything_but_the_login_page(guarded):
    for path in ("config", "gradio_api/info"):
        assert httpx.get(f"{guarded}{path}", timeout=30).status_code == 401
    call = httpx.post(f"{guarded}gradio_api/call/ask", json={"data": ["graph networks", 3]},
                      timeout=30)
    assert call.status_code == 401
    with pytest.raises(Exception, match="credentials|login"):
        Client(guarded, verbose=False)
    with pytest.raises(ValueError, match="Could not login"):
        Client(guarded, verbose=False, auth=("alice", "wrong"))


def test_with_the_login_the_api_answers(guarded):
    client = Client(guarded, verbose=False, auth=LOGIN)
    hits = client.predict(query="graph networks", k=2, api_name="/search")
    assert "graph networks" in hits[0]["paper"]["title"]
    with httpx.Client(base_url=guarded, timeout=30) as browser:
        assert browser.post("login", data={"username": LOGIN[0], "password": LOGIN[1]}
                            ).status_code == 200
        assert browser.get("config").status_code == 200


def test_logins_come_from_a_file_or_the_environment_and_are_never_echoed(tmp_path,
                                                                         monkeypatch):
    from bot.surfaces.cli import _logins

    logins = tmp_path / "logins"
    logins.write_text("# who may use it\nalice:correct:horse battery\n\nbob:pw2\n")
    assert _logins(str(logins), None) == [LOGIN, ("bob", "pw2")]
    monkeypatch.setenv("PAPERCHAT_SERVER__AUTH", "alice:pw-7f3e,bob:pw-91ac")
    setting = get_settings().server.auth
    assert "pw-7f3e" not in repr(setting) and "pw-7f3e" not in str(get_settings())
    assert _logins(None, setting) == [("alice", "pw-7f3e"), ("bob", "pw-91ac")]
    logins.write_text("alice:hunter2\njust-a-secret-word\n")
    with pytest.raises(SettingsError, match="line 2 is not 'user:password'") as caught:
        _logins(str(logins), None)
    assert "hunter2" not in str(caught.value) and "secret" not in str(caught.value)
    with pytest.raises(SettingsError, match="no 'user:password'"):
        parse_credentials(" , ", "PAPERCHAT_SERVER__AUTH")


def test_serve_refuses_a_bad_login_file_plainly(tmp_path, capsys, library_copy):
    logins = tmp_path / "logins"
    logins.write_text("nobody\n")
    assert main(["serve", "--index", str(library_copy), "--auth-file", str(logins)]) == 1
    err = capsys.readouterr().err
    assert "line 1 is not 'user:password'" in err and "Traceback" not in err
    assert main(["serve", "--index", str(library_copy), "--auth-file",
                 str(tmp_path / "missing")]) == 1
    assert "cannot be read" in capsys.readouterr().err


@pytest.mark.parametrize("question", list(ODD_QUESTIONS), ids=range(len(ODD_QUESTIONS)))
def test_odd_questions_through_the_python_api(seed_bot, question):
    expected = ODD_QUESTIONS[question]
    for call in (seed_bot.ask, seed_bot.search, seed_bot.similar):
        if expected is None:
            call(question)
        elif call == seed_bot.similar and expected == "limit is":
            assert call(question)  # a reference may be a whole pasted paper (20,000 chars)
        else:
            with pytest.raises(QueryError, match=expected):
                call(question)
    with pytest.raises(QueryError, match="limit is"):
        seed_bot.similar("x" * 30_000)
    with pytest.raises(QueryError, match="must be text"):
        seed_bot.ask(None)


@pytest.mark.parametrize("question", list(ODD_QUESTIONS), ids=range(len(ODD_QUESTIONS)))
def test_odd_questions_through_the_cli(seed_library_dir, capsys, question):
    expected = ODD_QUESTIONS[question]
    for command in ("ask", "search"):
        code = main([command, question, "--index", str(seed_library_dir)])
        out, err = capsys.readouterr()
        if expected is None:
            assert code == 0 and out and not err
        else:
            assert code == 1 and expected in err and "Traceback" not in err
            assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("question", list(ODD_QUESTIONS), ids=range(len(ODD_QUESTIONS)))
def test_odd_questions_over_http(server, question):
    client = Client(server, verbose=False)
    expected = ODD_QUESTIONS[question]
    for name, argument in (("/ask", "question"), ("/search", "query")):
        if expected is None:
            assert client.predict(**{argument: question}, api_name=name)
        else:
            with pytest.raises(Exception, match=expected) as caught:
                client.predict(**{argument: question}, api_name=name)
            assert "Traceback" not in str(caught.value)


def test_twenty_users_at_once_get_every_answer(server):
    result = asyncio.run(load.run_load(server.rstrip("/"), users=20, seconds=60,
                                       max_requests=3))
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] == 60
    assert result["ask"]["count"] == result["search"]["count"] == 30


def test_many_users_with_a_login(guarded):
    result = asyncio.run(load.run_load(guarded.rstrip("/"), users=5, seconds=60,
                                       max_requests=2, auth=LOGIN))
    assert result["errors"] == 0 and result["requests"] == 10, result["error_samples"]
