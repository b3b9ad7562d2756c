"""Every real sample of tests/data, read in one ingest: the formats side by side, merged, and
answering questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import PaperBot

DATA = Path(__file__).parent / "data"
FOLDERS = sorted(p for p in DATA.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def bot(tmp_path_factory, embedder) -> PaperBot:
    return PaperBot.from_corpus(FOLDERS, tmp_path_factory.mktemp("samples"), embedder=embedder)


def test_every_format_is_read_and_the_counts_add_up(bot):
    report = bot.report
    layouts = {f.layout.value for f in report.files}
    assert layouts >= {"bibtex", "ris", "csl-json", "csv", "json", "jsonl", "arxiv-xml",
                       "arxiv-mailing", "arxiv-page"}
    assert report.papers == len(bot.papers) == report.records - report.merged
    assert report.title_only == sum(not p.has_abstract for p in bot.papers)
    # The two files with no paper in them are refused with their reasons, the rest read.
    assert sorted(Path(r.file).name for r in report.refused) == [
        "oai-error-no-records-match.xml", "semanticscholar-empty-search.json"]


def test_a_paper_seen_in_several_files_is_one_with_every_source(bot):
    portfolio = bot.get("2303.08968")  # on two /list pages, in a mailing and a search page
    assert [(Path(s.file).name, s.layout.value) for s in portfolio.sources] == [
        ("list-new-q-fin-CP.txt", "arxiv-page"), ("list-recent-q-fin-CP.txt", "arxiv-page"),
        ("mailing-q-fin-CP.txt", "arxiv-mailing"), ("search-q-fin.txt", "arxiv-page")]
    attention = bot.get("1706.03762")  # a Zotero CSL-JSON item and a RIS entry
    assert {s.layout.value for s in attention.sources} == {"csl-json", "ris"}
    assert attention.has_abstract and attention.doi


@pytest.mark.parametrize(("question", "title_start"), [
    ("Can the quantum-mechanical description of physical reality be considered complete?",
     "Can Quantum-Mechanical Description of Physical Reality"),
    ("What is the cross section of prompt diphoton production at the Tevatron?",
     "Calculation of prompt diphoton production cross sections"),
])
def test_questions_are_answered_from_the_samples(bot, question, title_start):
    answer = bot.ask(question)
    assert not answer.abstained
    top = answer.citations[0]
    assert top.paper.title.startswith(title_start)
    assert top.quote in top.paper.abstract
