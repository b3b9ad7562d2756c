"""Files added through the web app: bounded in size, taken in turn, removed only by the
request that created them; and the login's brake on guessing."""

from __future__ import annotations

import threading

import httpx
import pytest

from bot import PaperBot
from bot.library.store import UPLOADS
from bot.settings import get_settings
from bot.surfaces.login import MAX_FAILURES, WINDOW_S, LoginGuard
from bot.surfaces.uploads import UploadDesk, UploadRefused

PAPER = ('{{"id": "{id}", "title": "{title}", "abstract": "{abstract}", '
         '"authors": ["Ada Lovelace"]}}\n')


def jsonl(tmp_path, name: str, *papers: tuple[str, str, str]):
    folder = tmp_path / f"upload-{len(list(tmp_path.glob('upload-*')))}"
    folder.mkdir()
    path = folder / name
    path.write_text("".join(PAPER.format(id=i, title=t, abstract=a) for i, t, a in papers),
                    encoding="utf-8")
    return path


JUGGLING = ("jug1", "Juggling robots", "Robots learn to juggle three balls with touch.")
FOLDING = ("fold1", "Folding proteins", "Protein folding predicted by graph networks.")


def test_two_uploads_at_once_both_join_the_library(library_copy, embedder, tmp_path):
    bot = PaperBot.open(library_copy, embedder=embedder)
    desk = UploadDesk(max_bytes=10**6)
    same_name = [jsonl(tmp_path, "mine.jsonl", JUGGLING), jsonl(tmp_path, "mine.jsonl", JUGGLING),
                 jsonl(tmp_path, "other.jsonl", FOLDING)]
    outcomes, failures = [], []

    def upload(path):
        try:
            outcomes.append(desk.add(bot, [path]))
        except Exception as exc:  # noqa: BLE001 (the test reports any failure)
            failures.append(exc)

    threads = [threading.Thread(target=upload, args=(p,)) for p in same_name]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures and len(outcomes) == 3
    final = PaperBot.open(library_copy, embedder=embedder)
    assert {"jug1", "fold1"} <= {p.id for p in final.papers}
    assert sorted(p.name for p in (library_copy / UPLOADS).iterdir()) == ["mine.jsonl",
                                                                          "other.jsonl"]


def test_a_file_over_the_limit_is_refused_by_name_and_changes_nothing(library_copy, embedder,
                                                                      tmp_path):
    bot = PaperBot.open(library_copy, embedder=embedder)
    big = jsonl(tmp_path, "big.jsonl", JUGGLING)
    with pytest.raises(UploadRefused, match=r"big\.jsonl: .*more than this server takes") as e:
        UploadDesk(max_bytes=big.stat().st_size - 1).add(bot, [big])
    assert str(tmp_path) not in str(e.value) and "--" not in str(e.value)
    assert not (library_copy / UPLOADS).exists() or not any((library_copy / UPLOADS).iterdir())
    assert len(PaperBot.open(library_copy, embedder=embedder).papers) == len(bot.papers)


def test_a_file_that_gives_no_paper_is_refused_and_not_kept(library_copy, embedder, tmp_path):
    """Every line rejected: the file does not join the corpus, and its copy is removed."""
    bot = PaperBot.open(library_copy, embedder=embedder)
    junk = tmp_path / "junk.jsonl"
    junk.write_text("{x}\n" * 2000, encoding="utf-8")
    good = jsonl(tmp_path, "good.jsonl", FOLDING)
    outcome = UploadDesk(max_bytes=10**6).add(bot, [junk, good])
    assert [name for name, _ in outcome.refused] == ["junk.jsonl"]
    assert [p.name for p in outcome.kept] == ["good.jsonl"]
    assert sorted(p.name for p in (library_copy / UPLOADS).iterdir()) == ["good.jsonl"]
    with pytest.raises(UploadRefused, match=r"junk\.jsonl: ") as e:
        UploadDesk(max_bytes=10**6).add(outcome.bot, [junk])
    assert str(library_copy) not in str(e.value)
    assert sorted(p.name for p in (library_copy / UPLOADS).iterdir()) == ["good.jsonl"]


def test_a_refused_request_removes_only_the_copies_it_created(library_copy, embedder, tmp_path):
    bot = PaperBot.open(library_copy, embedder=embedder)
    desk = UploadDesk(max_bytes=10**6)
    first = desk.add(bot, [jsonl(tmp_path, "mine.jsonl", JUGGLING)])
    kept = first.kept[0]
    # Another file of that name while another process writes the library: refused; its own
    # copy is removed, the copy the first request kept stays.
    with first.bot.store.writing(), pytest.raises(UploadRefused, match="another paperchat"):
        desk.add(first.bot, [jsonl(tmp_path, "mine.jsonl", FOLDING)])
    assert sorted(p.name for p in (library_copy / UPLOADS).iterdir()) == ["mine.jsonl"]
    assert kept.is_file()
    assert "jug1" in {p.id for p in PaperBot.open(library_copy, embedder=embedder).papers}


def test_no_file_is_a_message(seed_bot):
    with pytest.raises(Exception, match="Choose one or more files"):
        UploadDesk(max_bytes=10**6).add(seed_bot, [])


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_guessing_a_password_is_braked():
    clock = Clock()
    guard = LoginGuard([("ada", "right")], clock=clock)
    assert guard("ada", "right")
    for _ in range(MAX_FAILURES):
        assert not guard("ada", "wrong")
    assert not guard("ada", "right")  # locked out: the right password too, for a while
    assert guard("bob", "x") is False  # unknown names are simply wrong
    clock.now += WINDOW_S + 1
    assert guard("ada", "right")


def test_guesses_across_many_names_are_braked_too():
    guard = LoginGuard([("ada", "right")], clock=Clock())
    for n in range(40):
        guard(f"user{n}", "guess")
    assert not guard("ada", "right")


def test_the_served_login_refuses_after_repeated_failures(serve, seed_bot):
    url = serve(seed_bot, auth=[("ada", "right")])
    with httpx.Client(base_url=url, timeout=30) as client:
        codes = [client.post("login", data={"username": "ada", "password": f"w{n}"})
                 .status_code for n in range(30)]
        assert all(code >= 400 for code in codes)
        refused = client.post("login", data={"username": "ada", "password": "right"})
        assert refused.status_code >= 400


def test_the_upload_limit_is_a_setting(monkeypatch):
    monkeypatch.setenv("PAPERCHAT_SERVER__MAX_UPLOAD_MB", "2.5")
    assert get_settings().server.max_upload_mb == 2.5
    monkeypatch.setenv("PAPERCHAT_SERVER__MAX_UPLOAD_MB", "inf")
    with pytest.raises(ValueError):
        get_settings()
