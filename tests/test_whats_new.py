"""What's new: the day each paper entered the library (kept across rebuilds and adds),
`new(since, like=…)` ranked by the references, the stars or the date, and `paperchat new`."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import REPO

from bot import Filters, PaperBot, QueryError
from bot.library import added as added_module
from bot.library.store import EMBEDDING_CACHE, MANIFEST
from bot.paperbot import SEED_DIR
from bot.surfaces.cli import main
from tests.helpers.mcp_session import mcp_session

SYNTHETIC_RETURNS = "Synthetic Returns for Long-Term Credit Assignment"
MODEL_FREE_PLANNING = "An investigation of model-free planning"
BUILT = dt.date(2020, 1, 1)
ADDED = dt.date(2025, 9, 1)
NEW_PAPERS = """@article{later2025,
  title = {Credit Assignment over Long Horizons with Hindsight Returns},
  author = {Later, Ada},
  year = {2019},
  abstract = {Assigning credit to actions whose rewards come much later is hard for
              reinforcement learning agents. We propose hindsight returns, which relate each
              reward to the states that led to it, and show faster learning on delayed-reward
              tasks.}
}
@article{unrelated2025,
  title = {Coral Reef Resilience under Repeated Heat Waves},
  author = {Reef, Ada},
  year = {2018},
  abstract = {Repeated marine heat waves bleach corals. We measure how quickly reefs recover
              between heat waves across twelve sites.}
}
"""


def ids(hits) -> list[str]:
    return [hit.paper.id for hit in hits]


def on_day(monkeypatch, day: dt.date) -> None:
    """Builds from now on record `day` as today."""
    monkeypatch.setattr(added_module, "today", lambda: day)


@pytest.fixture
def dated_library(seed_library_dir, tmp_path, monkeypatch) -> Path:
    """The seed corpus built on BUILT (its vectors from the seed library's cache: nothing is
    embedded), then two papers added on ADDED."""
    folder = tmp_path / "library"
    folder.mkdir()
    shutil.copytree(seed_library_dir / EMBEDDING_CACHE, folder / EMBEDDING_CACHE)
    on_day(monkeypatch, BUILT)
    bot = PaperBot.from_corpus(None, folder)
    assert bot.last_embedded == 0
    bib = tmp_path / "later.bib"
    bib.write_text(NEW_PAPERS, encoding="utf-8")
    on_day(monkeypatch, ADDED)
    bot.add([bib])
    return folder


def test_the_seed_corpus_built_fresh_was_all_added_today(seed_bot):
    today = dt.date.today()
    assert {seed_bot.added(p.id) for p in seed_bot.papers} == {today}
    assert seed_bot.added("no such paper") is None
    assert len(seed_bot.new(today, k=1000)) == len(seed_bot.papers)
    assert seed_bot.new(today + dt.timedelta(days=1)) == []


def test_a_paper_keeps_its_first_day_through_adds_and_rebuilds(dated_library, monkeypatch):
    bot = PaperBot.open(dated_library)
    later = bot.get("Credit Assignment over Long Horizons with Hindsight Returns")
    assert bot.added(later.id) == ADDED
    assert bot.added(SYNTHETIC_RETURNS) == BUILT
    # A rebuild from the seed corpus alone, on yet another day: the seed papers keep BUILT.
    on_day(monkeypatch, dt.date(2026, 1, 1))
    rebuilt = PaperBot.from_corpus([SEED_DIR], dated_library)
    assert rebuilt.get(later.id) is None
    assert {rebuilt.added(p.id) for p in rebuilt.papers} == {BUILT}


def test_new_finds_papers_added_or_dated_since_the_day(dated_library):
    bot = PaperBot.open(dated_library)
    found = bot.new("2025-06-01", k=100)
    dated = {p.id for p in bot.papers if p.date and p.date >= dt.date(2025, 6, 1)}
    added_then = {p.id for p in bot.papers if bot.added(p.id) >= dt.date(2025, 6, 1)}
    assert len(added_then) == 2 and dated  # Gemini 2.5 is dated July 2025
    assert set(ids(found)) == added_then | dated
    assert all(h.added == bot.added(h.paper.id) for h in found)


def test_newest_first_without_references_or_stars(dated_library):
    bot = PaperBot.open(dated_library)
    found = bot.new("2024-01-01", k=100)
    keys = [(h.added, h.paper.date or dt.date.min) for h in found]
    assert keys == sorted(keys, reverse=True)
    assert keys[0][0] == ADDED and keys[-1][0] == BUILT
    assert all(h.relevance == 0 and h.evidence is None for h in found)


def test_new_ranked_by_closeness_to_like(dated_library):
    bot = PaperBot.open(dated_library)
    found = bot.new("2025-06-01", k=3, like=[SYNTHETIC_RETURNS, MODEL_FREE_PLANNING])
    # The added paper on delayed credit comes first: close to both references.
    assert found[0].paper.title == "Credit Assignment over Long Horizons with Hindsight Returns"
    assert found[0].relevance > 0.3 and found[0].added == ADDED
    relevances = [h.score for h in found]
    assert relevances == sorted(relevances, reverse=True)
    new_ids = [p.id for p in bot.papers if bot.added(p.id) >= dt.date(2025, 6, 1)
               or (p.date and p.date >= dt.date(2025, 6, 1))]
    assert ids(found) == ids(bot.similar([SYNTHETIC_RETURNS, MODEL_FREE_PLANNING], k=3,
                                         among=new_ids))


def test_new_ranked_by_the_stars_without_like(dated_library):
    bot = PaperBot.open(dated_library)
    bot.star(SYNTHETIC_RETURNS)
    by_stars = bot.new("2024-01-01", k=5)
    assert ids(by_stars) == ids(bot.new("2024-01-01", k=5, like=[SYNTHETIC_RETURNS]))
    assert bot.get(SYNTHETIC_RETURNS).id not in ids(by_stars)
    assert by_stars[0].relevance > 0


def test_new_with_filters(dated_library):
    bot = PaperBot.open(dated_library)
    found = bot.new("2020-01-01", k=100, filters=Filters(year_to=2018))
    assert found and all(h.paper.year <= 2018 for h in found)
    liked = bot.new("2020-01-01", k=100, like=[SYNTHETIC_RETURNS], filters=Filters(year_to=2018))
    assert liked and all(h.paper.year <= 2018 for h in liked)


@pytest.mark.parametrize("since", ["yesterday", "2025-13-01", "2025-1-1", "", 20250101, None])
def test_since_must_be_a_date(seed_bot, since):
    with pytest.raises(QueryError, match="since must be a date written YYYY-MM-DD"):
        seed_bot.new(since)


def test_since_takes_dates_and_datetimes(seed_bot):
    now = dt.datetime.now()
    assert ids(seed_bot.new(now, k=5)) == ids(seed_bot.new(now.date().isoformat(), k=5))


def test_an_unknown_like_reference_is_a_message(seed_bot):
    with pytest.raises(QueryError, match="no paper 'Nothing Like This' in the library"):
        seed_bot.new("2020-01-01", like=["Nothing Like This"])


def test_a_library_older_than_the_dates_counts_its_papers_added_when_built(library_copy):
    """A library written before the dates were kept names no `added` file: it opens, and its
    papers count as added on the day it was built."""
    path = library_copy / MANIFEST
    manifest = json.loads(path.read_text())
    name = manifest["files"].pop("added")
    manifest["checks"].pop(name)
    manifest["built_at"] = "2021-05-04T12:00:00Z"
    path.write_text(json.dumps(manifest))
    (library_copy / name).unlink()
    bot = PaperBot.open(library_copy)
    built = dt.datetime(2021, 5, 4, 12, tzinfo=dt.timezone.utc).astimezone().date()
    assert {bot.added(p.id) for p in bot.papers} == {built}


def test_a_damaged_dates_file_is_refused_by_name(library_copy):
    from bot import LibraryError

    manifest = json.loads((library_copy / MANIFEST).read_text())
    name = manifest["files"]["added"]
    target = library_copy / name
    target.write_bytes(b"x" * target.stat().st_size)
    with pytest.raises(LibraryError, match=f"{name}.*damaged"):
        PaperBot.open(library_copy)


# -- the command line -----------------------------------------------------------------------

def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_paperchat_new_like(capsys, dated_library):
    code, out, _ = run(capsys, "new", "--since", "2025-06-01", "--like", SYNTHETIC_RETURNS,
                       MODEL_FREE_PLANNING, "-k", "2", "--index", str(dated_library))
    assert code == 0
    first = out.splitlines()[0]
    assert "Credit Assignment over Long Horizons with Hindsight Returns" in first
    assert f"added {ADDED.isoformat()}" in first


def test_paperchat_new_json(capsys, dated_library):
    code, out, _ = run(capsys, "new", "--since", "2025-06-01", "--json",
                       "--index", str(dated_library))
    assert code == 0
    hits = json.loads(out)
    assert hits[0]["added"] == ADDED.isoformat()


def test_paperchat_new_bad_date_is_one_line(capsys, seed_library_dir):
    code, out, err = run(capsys, "new", "--since", "last week", "--index", str(seed_library_dir))
    assert code == 1 and out == ""
    assert err == ("paperchat: error: since must be a date written YYYY-MM-DD, such as "
                   "2025-03-01, not 'last week'\n")


# -- MCP and REST ---------------------------------------------------------------------------

def test_mcp_whats_new(dated_library):
    bot = PaperBot.open(dated_library)
    with mcp_session(bot) as session:
        tool = session.tools()["whats_new"]
        assert tool.input_schema["required"] == ["since"] and tool.annotations.read_only_hint
        found = session.ok("whats_new", since="2025-06-01", like=[SYNTHETIC_RETURNS], k=2)
        expected = bot.new("2025-06-01", k=2, like=[SYNTHETIC_RETURNS])
        assert [h["paper"]["id"] for h in found["hits"]] == ids(expected)
        assert found["hits"][0]["added"] == ADDED.isoformat()
        text = session.call("whats_new", since="2025-06-01").content[0].text
        assert f"added to the library {ADDED.isoformat()}" in text
        assert "since must be a date" in session.error("whats_new", since="soon")


def test_rest_new(dated_library, serve):
    bot = PaperBot.open(dated_library)
    api = serve(bot) + "api/v1"
    reply = httpx.get(f"{api}/new", params=[("since", "2025-06-01"), ("like", SYNTHETIC_RETURNS),
                                            ("like", MODEL_FREE_PLANNING), ("k", 3)], timeout=60)
    assert reply.status_code == 200, reply.text
    assert [h["paper"]["id"] for h in reply.json()] == ids(
        bot.new("2025-06-01", k=3, like=[SYNTHETIC_RETURNS, MODEL_FREE_PLANNING]))
    assert reply.json()[0]["added"] == ADDED.isoformat()
    newest = httpx.get(f"{api}/new", params={"since": "2024-01-01", "year_to": 2019},
                       timeout=60).json()
    assert newest and all(h["paper"]["date"] < "2020" for h in newest)
    bad = httpx.get(f"{api}/new", params={"since": "tomorrow"}, timeout=60)
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["detail"]


# -- the README -----------------------------------------------------------------------------

def readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]


SECTION = "What's new, and stars"


def test_the_readmes_whats_new_example_runs(capsys, seed_library_dir, tmp_path, monkeypatch):
    from bot.settings import get_settings

    shutil.copytree(seed_library_dir, get_settings().library_dir)  # built: nothing to embed
    (example,) = re.findall(r"```python\n(.*?)```", readme_section(SECTION), flags=re.DOTALL)
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"['{SYNTHETIC_RETURNS}']" and len(out) == 1 + 3 + 3
    assert all(line.startswith(dt.date.today().isoformat()) for line in out[1:4])
    assert PaperBot.open(get_settings().library_dir).starred == []


def test_the_readmes_commands_run(capsys, library_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reading.bib").write_text(
        f"@article{{a, title = {{{SYNTHETIC_RETURNS}}}}}\n"
        f"@article{{b, title = {{{MODEL_FREE_PLANNING}}}}}\n", encoding="utf-8")
    commands, _curl = re.findall(r"```bash\n(.*?)```", readme_section(SECTION), flags=re.DOTALL)
    outputs = []
    for line in commands.strip().splitlines():
        words = shlex.split(line)
        assert words[0] == "paperchat"
        code = main([*words[1:], "--index", str(library_copy)])
        out, err = capsys.readouterr()
        assert code == 0, (line, err)
        outputs.append(out)
    assert "Relational recurrent neural networks" not in outputs[-1]
    assert SYNTHETIC_RETURNS in outputs[-1] and outputs[-1].endswith("1 starred papers\n")
    assert len(json.loads(outputs[4])) == 20
    assert (tmp_path / "starred.bib").read_text().count("@") == 2


def test_the_readmes_curl_examples_run(library_copy, serve, tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("the README's examples run curl")
    url = serve(PaperBot.open(library_copy)).rstrip("/")
    _commands, examples = re.findall(r"```bash\n(.*?)```", readme_section(SECTION),
                                     flags=re.DOTALL)
    outputs = []
    for line in examples.strip().splitlines():
        words = [w.replace("http://127.0.0.1:7860", url) for w in shlex.split(line)]
        assert words[0] == "curl"
        done = subprocess.run([curl, "--silent", "--show-error", "--fail-with-body", *words[1:]],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        outputs.append(json.loads(done.stdout))
    similar, starred, stars, new, unstarred = outputs
    assert len(similar) == 3 and starred["id"] == "2403.05530"
    assert [p["id"] for p in stars] == ["2403.05530"]
    assert len(new) == 3 and all(h["paper"]["id"] != "2403.05530" for h in new)
    assert unstarred["id"] == "2403.05530"
    assert PaperBot.open(library_copy).starred == []
