"""Files added through the web app: bounded in size, taken in turn, removed only by the
request that created them, and refused in words (by the name the person's file had, what it
looked like, and what is accepted); and the login's brake on guessing."""

from __future__ import annotations

import gzip
import random
import threading

import httpx
import pytest

from bot import PaperBot
from bot.errors import QueryError
from bot.library.store import UPLOADS
from bot.settings import get_settings
from bot.surfaces.login import MAX_FAILURES, WINDOW_S, LoginGuard
from bot.surfaces.uploads import ACCEPTED, Upload, UploadDesk, UploadRefused, looks_of

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
    assert [refusal.name for refusal in outcome.refused] == ["junk.jsonl"]
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


@pytest.mark.parametrize("files", [[], None])
def test_no_file_is_a_message(seed_bot, files):
    with pytest.raises(QueryError, match="Choose one or more files"):
        UploadDesk(max_bytes=10**6).add(seed_bot, files)


RNG = random.Random(3)
NOISE = bytes(RNG.randrange(256) for _ in range(3000))
HIGH_NOISE = bytes(RNG.randrange(128, 256) for _ in range(3000))
GREEK = "\u03a3\u03b7\u03bc\u03b5\u03b9\u03ce\u03c3\u03b5\u03b9\u03c2"


@pytest.mark.parametrize(("content", "looks"), [
    (b"Monday: walked the dog.\nTuesday: rain.\n",
     "text whose first line is \u201cMonday: walked the dog.\u201d"),
    ("\n\nCaf\u00e9 M\u00fcller, notes\n".encode("cp1252"),  # a legacy encoding: still text
     "text whose first line is \u201cCaf\u00e9 M\u00fcller, notes\u201d"),
    (f"{GREEK} \u00d7 40\n".encode() * 50,  # UTF-8, mostly not ASCII: text
     f"text whose first line is \u201c{GREEK} \u00d7 40\u201d"),
    (b"x" * 9000, "text whose first line is \u201c" + "x" * 60 + "\u2026\u201d"),
    (b"", "an empty file"),
    (b"\n \n", "blank lines only"),
    (NOISE, "binary data"),
    (HIGH_NOISE, "binary data"),  # not UTF-8, mostly not ASCII: noise, not accents
    (b"\x1f\x8b\x08\x00" + NOISE, "binary data (looks like a damaged gzip file)"),
    (gzip.compress(HIGH_NOISE), "a gzip file holding binary data"),
    (gzip.compress(b"TY  - JOUR\nTI  - A paper\n"),
     "a gzip file holding text whose first line is \u201cTY  - JOUR\u201d"),
    (gzip.compress(b'{"id": "x", "title": "' + b"y" * 9000 + b'"}\n')[:80],  # cut short
     'a gzip file holding text whose first line is \u201c{"id": "x", "title": "'
     + "y" * 38 + "\u2026\u201d"),
    (b"%PDF-1.5\n" + NOISE, "a PDF document"),
    (b"PK\x03\x04" + NOISE, "a ZIP archive (Word and Excel files are ZIP archives too)"),
])
def test_a_file_looks_like_what_it_holds_in_words(tmp_path, content, looks):
    path = tmp_path / "upload"
    path.write_bytes(content)
    assert looks_of(path) == looks


def refused(bot, tmp_path, name: str, content: bytes, *, shown: str | None = None):
    """The refusal of one upload, held by the server as `name`, sent as `shown`."""
    path = tmp_path / "gradio" / "0123abcd" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    upload = Upload(path, shown) if shown else path
    with pytest.raises(UploadRefused) as caught:
        UploadDesk(max_bytes=10**6).add(bot, [upload])
    return caught.value


def assert_plain(message: str, tmp_path, library) -> None:
    """No server path, no command-line advice, no list of layouts, nothing unprintable."""
    for path in (tmp_path, library, "/tmp"):
        assert str(path) not in message
    assert "--layout" not in message and "expected" not in message
    assert not any(ch == "\ufffd" or ord(ch) < 32 or 0x7f <= ord(ch) <= 0xff
                   for ch in message.replace("\u00e9", "")), message


def test_a_text_file_in_no_format_is_refused_by_name_with_its_first_line(library_copy,
                                                                          embedder, tmp_path):
    bot = PaperBot.open(library_copy, embedder=embedder)
    error = refused(bot, tmp_path, "diary.txt", b"Monday: walked the dog.\nTuesday: rain.\n")
    (refusal,) = error.refusals
    assert refusal.name == "diary.txt"
    assert refusal.looks == "text whose first line is \u201cMonday: walked the dog.\u201d"
    assert refusal.reason == "none of the formats paperchat reads"
    assert str(error).startswith("Nothing was added. diary.txt: text whose first line is")
    assert str(error).endswith(f" Accepted: {ACCEPTED}.")
    assert_plain(str(error), tmp_path, library_copy)


def test_garbage_is_named_for_what_it_looks_like_and_never_shown(library_copy, embedder,
                                                                   tmp_path):
    bot = PaperBot.open(library_copy, embedder=embedder)
    for name, content, looks in [
            ("papers.gz", b"\x1f\x8b\x08\x00" + NOISE,
             "binary data (looks like a damaged gzip file)"),
            ("archive.jsonl.gz", gzip.compress(b"{" + HIGH_NOISE),
             "a gzip file holding binary data"),
            ("listing.txt", HIGH_NOISE, "binary data")]:
        (refusal,) = refused(bot, tmp_path / name, name, content).refusals
        assert (refusal.name, refusal.looks, refusal.reason) == (name, looks, "")
        assert_plain(str(refusal), tmp_path, library_copy)


def test_a_gzip_file_cut_short_says_so(library_copy, embedder, tmp_path):
    bot = PaperBot.open(library_copy, embedder=embedder)
    whole = gzip.compress("".join(PAPER.format(id=f"p{n}", title=f"Paper {n}", abstract="Text.")
                                  for n in range(400)).encode())
    (refusal,) = refused(bot, tmp_path, "papers.jsonl.gz", whole[:len(whole) // 2]).refusals
    assert refusal.looks.startswith("a gzip file holding text whose first line is")
    assert refusal.reason.startswith("the gzip data is cut short")


def test_a_file_no_record_of_which_reads_names_the_format_in_words(library_copy, embedder,
                                                                      tmp_path):
    bot = PaperBot.open(library_copy, embedder=embedder)
    (refusal,) = refused(bot, tmp_path, "junk.jsonl", b"{x}\n" * 5).refusals
    assert refusal.reason.startswith("read as JSON Lines, but no paper in it could be read: "
                                     "5 chunk(s) rejected (line 1: not valid JSON")


def test_a_refused_file_goes_by_the_name_it_was_sent_under(library_copy, embedder, tmp_path):
    """The server's copy of a long name is shortened (Gradio keeps 200 bytes); the person
    reads the name their file had, whole, and nothing of where the server keeps it."""
    sent = "reading list " + "of papers from the lab meetings " * 6 + "(2024).txt"
    error = refused(PaperBot.open(library_copy, embedder=embedder), tmp_path,
                    sent.encode()[:200].decode(errors="ignore"), b"not a listing\nat all\n",
                    shown=sent)
    assert [r.name for r in error.refusals] == [sent]
    assert str(error).startswith(f"Nothing was added. {sent}: text whose first line is")
    assert_plain(str(error), tmp_path, library_copy)


def test_a_kept_file_goes_by_the_name_it_was_sent_under(library_copy, embedder, tmp_path):
    bot = PaperBot.open(library_copy, embedder=embedder)
    held = jsonl(tmp_path, "tmpab12cd.jsonl", JUGGLING)
    outcome = UploadDesk(max_bytes=10**6).add(bot, [Upload(held, "My papers.jsonl")])
    assert list(outcome.names.values()) == ["My papers.jsonl"]


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
