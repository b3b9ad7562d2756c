"""Stars: kept in the library folder (stars.json, written whole, under a lock of its own),
through rebuilds and adds, never rebuilding anything; `paperchat star / unstar / stars`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import bibtexparser
import pytest
from conftest import REPO

from bot import LibraryError, PaperBot, QueryError
from bot.library.stars import read_stars
from bot.library.store import MANIFEST, STARS, LibraryStore
from bot.surfaces.cli import main

SYNTHETIC_RETURNS = "Synthetic Returns for Long-Term Credit Assignment"
RELATIONAL_RNN = "Relational recurrent neural networks"


def ids(papers) -> list[str]:
    return [p.id for p in papers]


def test_star_unstar_and_the_starred_list(library_copy):
    bot = PaperBot.open(library_copy)
    assert bot.starred == []
    first = bot.star(SYNTHETIC_RETURNS)
    assert first.title == SYNTHETIC_RETURNS
    second = bot.star(RELATIONAL_RNN)
    assert bot.star(first.id) == first  # starring again changes nothing
    assert ids(bot.starred) == [first.id, second.id]
    assert bot.unstar(SYNTHETIC_RETURNS) == first
    assert bot.unstar(SYNTHETIC_RETURNS) == first  # a paper without a star: nothing changes
    assert ids(bot.starred) == [second.id]
    kept = json.loads((library_copy / STARS).read_text())
    assert [s["id"] for s in kept["stars"]] == [second.id] and kept["stars"][0]["starred"]


def test_stars_are_read_anew_so_another_process_s_star_shows(library_copy):
    one, other = PaperBot.open(library_copy), PaperBot.open(library_copy)
    one.star(SYNTHETIC_RETURNS)
    assert ids(other.starred) == [one.get(SYNTHETIC_RETURNS).id]


def test_starring_never_rebuilds_and_a_rebuild_keeps_the_stars(library_copy, seed_files, tmp_path):
    bot = PaperBot.open(library_copy)
    generation = json.loads((library_copy / MANIFEST).read_text())["generation"]
    bot.star(SYNTHETIC_RETURNS)
    assert json.loads((library_copy / MANIFEST).read_text())["generation"] == generation
    bib = tmp_path / "one.bib"
    bib.write_text("@article{reef, title = {Coral Reef Resilience under Repeated Heat Waves},"
                   " author = {Reef, Ada}, year = 2020, abstract = {Repeated marine heat waves"
                   " bleach corals. We measure how reefs recover.}}\n", encoding="utf-8")
    grown = bot.add([bib])
    assert len(grown.papers) == len(bot.papers) + 1
    assert ids(grown.starred) == [bot.get(SYNTHETIC_RETURNS).id]
    rebuilt = PaperBot.from_corpus(seed_files[:2], library_copy)  # fewer papers
    assert ids(PaperBot.open(library_copy).starred) == ids(rebuilt.starred)


def test_a_star_whose_paper_is_gone_is_kept_but_not_shown(library_copy, seed_files):
    bot = PaperBot.open(library_copy)
    star = bot.star(SYNTHETIC_RETURNS)
    holding = {source.file for source in star.sources}
    remaining = PaperBot.from_corpus([f for f in seed_files if str(f) not in holding],
                                     library_copy)
    assert remaining.get(star.id) is None
    assert remaining.starred == []
    assert read_stars(LibraryStore(library_copy)).ids == [star.id]
    restored = PaperBot.from_corpus(seed_files, library_copy)
    assert ids(restored.starred) == [star.id]


def test_an_unknown_paper_cannot_be_starred(library_copy):
    bot = PaperBot.open(library_copy)
    with pytest.raises(QueryError, match="no paper 'Teapots' in the library"):
        bot.star("Teapots")
    with pytest.raises(QueryError, match="reference is empty"):
        bot.unstar("  ")
    assert not (library_copy / STARS).exists()


def test_a_damaged_stars_file_is_refused_and_never_overwritten(library_copy):
    (library_copy / STARS).write_text('{"stars": [{"id": 3}', encoding="utf-8")
    bot = PaperBot.open(library_copy)
    with pytest.raises(LibraryError, match=r"stars.json is damaged .*move it away"):
        bot.star(SYNTHETIC_RETURNS)
    with pytest.raises(LibraryError, match="stars.json is damaged"):
        _ = bot.starred
    assert (library_copy / STARS).read_text() == '{"stars": [{"id": 3}'


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_is_one_line(library_copy):
    bot = PaperBot.open(library_copy)
    library_copy.chmod(0o555)
    try:
        with pytest.raises(LibraryError, match="cannot write the library"):
            bot.star(SYNTHETIC_RETURNS)
    finally:
        library_copy.chmod(0o755)


CONCURRENT = textwrap.dedent("""
    import sys
    from bot.library.stars import change_stars
    from bot.library.store import LibraryStore
    store = LibraryStore(sys.argv[1])
    for round in range(40):
        for paper in sys.argv[2:]:
            change_stars(store, paper, starred=round % 2 == 0 or round == 39)
""")


def test_two_processes_starring_at_once_keep_both_and_never_tear_the_file(library_copy):
    bot = PaperBot.open(library_copy)
    ours = ids(bot.papers[:3]), ids(bot.papers[3:6])
    workers = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(library_copy), *group],
                                cwd=REPO) for group in ours]
    seen = 0
    while any(w.poll() is None for w in workers):
        data = (library_copy / STARS).read_bytes() if (library_copy / STARS).exists() else b""
        if data:
            json.loads(data)  # a reader sees one whole file, never half of one
            seen += 1
    assert [w.wait() for w in workers] == [0, 0]
    assert set(ids(bot.starred)) == set(ours[0]) | set(ours[1])
    assert seen > 0


# -- the command line -----------------------------------------------------------------------

def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_paperchat_star_stars_and_unstar(capsys, library_copy, tmp_path):
    index = ["--index", str(library_copy)]
    code, out, _ = run(capsys, "star", SYNTHETIC_RETURNS, RELATIONAL_RNN, *index)
    assert code == 0 and out.count("starred ") == 2 and SYNTHETIC_RETURNS in out
    code, out, _ = run(capsys, "stars", *index)
    assert code == 0 and SYNTHETIC_RETURNS in out and out.endswith("2 starred papers\n")
    bot = PaperBot.open(library_copy)
    code, out, _ = run(capsys, "stars", "--export", "ids", *index)
    assert out.splitlines() == ids(bot.starred)
    target = tmp_path / "stars.bib"
    code, out, _ = run(capsys, "stars", "--export", "bibtex", "-o", str(target), *index)
    assert code == 0 and out == ""
    titles = [e["title"] for e in bibtexparser.parse_string(target.read_text()).entries]
    assert SYNTHETIC_RETURNS in titles[0] and len(titles) == 2
    code, out, _ = run(capsys, "stars", "--export", "csv", *index)
    assert out.splitlines()[0].startswith("id,title") and len(out.splitlines()) == 3
    code, out, _ = run(capsys, "unstar", RELATIONAL_RNN, *index)
    assert code == 0 and out.startswith("unstarred ")
    assert ids(PaperBot.open(library_copy).starred) == [bot.get(SYNTHETIC_RETURNS).id]


def test_paperchat_star_unknown_is_one_line(capsys, library_copy):
    code, out, err = run(capsys, "star", "Teapots", "--index", str(library_copy))
    assert code == 1 and err.startswith("paperchat: error: no paper 'Teapots'")
    assert err.count("\n") == 1


# -- REST -----------------------------------------------------------------------------------

def test_rest_stars(library_copy, serve):
    import httpx

    bot = PaperBot.open(library_copy)
    api = serve(bot) + "api/v1"
    with httpx.Client(base_url=api, timeout=60) as client:
        assert client.get("/stars").json() == []
        starred = client.put(f"/stars/{SYNTHETIC_RETURNS}")
        assert starred.status_code == 200 and starred.json()["title"] == SYNTHETIC_RETURNS
        assert client.put("/stars/2403.05530").status_code == 200
        assert [p["id"] for p in client.get("/stars").json()] == [
            bot.get(SYNTHETIC_RETURNS).id, "2403.05530"]
        assert ids(PaperBot.open(library_copy).starred) == [bot.get(SYNTHETIC_RETURNS).id,
                                                             "2403.05530"]
        gone = client.delete("/stars/arXiv:2403.05530")
        assert gone.status_code == 200 and gone.json()["id"] == "2403.05530"
        missing = client.put("/stars/Teapots")
        assert missing.status_code == 404 and "no paper 'Teapots'" in missing.json()["detail"]
        assert client.delete("/stars/Teapots").status_code == 404
        assert [p["id"] for p in client.get("/stars").json()] == [bot.get(SYNTHETIC_RETURNS).id]
