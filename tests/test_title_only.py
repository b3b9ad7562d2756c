"""Items without an abstract (books, web pages, most of a bibliography): kept, found by their
title, shown as having no abstract, and never cited as evidence."""

from __future__ import annotations

import json

import pytest

from bot import PaperBot
from bot.surfaces.export import to_bibtex

GRAPH_BOOK = "Graph Networks for Relational Reasoning: A Handbook"


@pytest.fixture(scope="module")
def bot(tmp_path_factory, embedder, seed_files) -> PaperBot:
    folder = tmp_path_factory.mktemp("title-only")
    library = folder / "library.json"
    library.write_text(json.dumps([
        {"id": "handbook", "type": "book", "title": GRAPH_BOOK, "DOI": "10.1000/HANDBOOK.1",
         "author": [{"family": "Reader", "given": "Ann"}], "issued": {"date-parts": [[2020]]}},
        {"id": "page", "type": "webpage", "title": "Mixture of experts, a web page"},
    ]), encoding="utf-8")
    return PaperBot.from_corpus([*seed_files, library], folder / "index", embedder=embedder)


@pytest.fixture(scope="module")
def seed_files():
    from bot.paperbot import SEED_DIR
    return sorted(SEED_DIR.glob("*.txt"))


def test_they_are_kept_and_counted_in_the_report(bot):
    handbook = bot.get("handbook")
    assert handbook is not None and not handbook.has_abstract and handbook.abstract == ""
    assert bot.report.title_only == 2
    assert "2 without an abstract: found by title, never cited" in bot.report.render()


def test_a_paper_with_a_doi_and_no_arxiv_id_is_named_by_its_doi(bot):
    handbook = bot.get("https://doi.org/10.1000/handbook.1")
    assert handbook is not None and handbook.id == "doi:10.1000/handbook.1"
    assert bot.get("doi:10.1000/handbook.1") == handbook


def test_search_finds_them_by_title(bot):
    hits = bot.search("graph networks relational reasoning handbook", k=5)
    assert GRAPH_BOOK in [h.paper.title for h in hits]
    handbook_hit = next(h for h in hits if h.paper.title == GRAPH_BOOK)
    assert handbook_hit.evidence is None  # no sentence to show


def test_an_answer_never_cites_them(bot):
    for question in ("Which papers use graph networks for relational reasoning?",
                     "What is a mixture of experts?"):
        answer = bot.ask(question, k=10)
        cited = {c.paper.id for c in answer.citations}
        assert not cited & {"doi:10.1000/handbook.1", bot.get("page").id}
        for citation in answer.citations:
            assert citation.quote and citation.quote in citation.paper.abstract


def test_similar_papers_of_one_come_from_its_title(bot):
    titles = [h.paper.title for h in bot.similar("handbook", k=5)]
    assert "Relational inductive biases, deep learning, and graph networks" in titles


def test_exported_without_an_abstract_field(bot):
    text = to_bibtex([bot.get("handbook")])
    assert "abstract" not in text and "10.1000/handbook.1" in text
