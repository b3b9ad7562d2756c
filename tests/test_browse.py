"""Finding papers on the Papers tab: the forgiving search (bot/surfaces/browse.py), the
table's sorting and count, and an opened paper's Markdown (bot/surfaces/web/paper_view.py)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot import PaperBot
from bot.records import Layout, Paper, Source
from bot.surfaces.browse import PaperSearch, typos_allowed, words_of
from bot.surfaces.web.paper_view import NO_ABSTRACT, paper_markdown
from bot.surfaces.web.papers import PapersTab, headers, next_sort, sorted_papers

MOD = "Mixture-of-Depths: Dynamically allocating compute in transformer-based language models"


@pytest.fixture(scope="module")
def seed_papers() -> list[Paper]:
    from bot.paperbot import SEED_DIR

    return PaperBot.preview(sorted(SEED_DIR.glob("*.txt"))).papers


@pytest.fixture(scope="module")
def search(seed_papers) -> PaperSearch:
    return PaperSearch(seed_papers)


def titles(papers: list[Paper]) -> list[str]:
    return [p.display_title for p in papers]


# -- the search ------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["mixture of depths", "Mixture-of-Depths", "MIXTURE OF DEPTHS",
                                   "depths mixture", "mixtre of depth", "mxiture of depths",
                                   "mixture depths 2024"])
def test_mixture_of_depths_is_found_however_it_is_typed(search, query):
    found = search.search(query)
    assert titles(found)[:1] == [MOD], titles(found)[:3]


def test_an_authors_surname_finds_every_paper_of_theirs_and_only_those(search, seed_papers):
    found = search.search("raposo")
    theirs = [p for p in seed_papers if any(a.endswith("Raposo") for a in p.authors)]
    assert len(theirs) >= 5
    assert {p.id for p in found} == {p.id for p in theirs}


def test_a_year_finds_that_years_papers_first_and_never_the_next_year(search, seed_papers):
    found = search.search("2018")
    of_2018 = [p for p in seed_papers if p.year == 2018]
    assert len(of_2018) >= 5
    assert {p.id for p in found[:len(of_2018)]} == {p.id for p in of_2018}
    # A number is matched exactly: 2019 is not a typo of 2018.
    assert all(p.year == 2018 or "2018" in p.abstract for p in found)


def test_an_author_and_a_year_together_narrow_the_list(search):
    found = search.search("Santoro 2018")
    assert found and all(p.year == 2018 and any("Santoro" in a for a in p.authors)
                         for p in found)


def test_gibberish_finds_nothing(search):
    assert search.search("xqzvkw") == []
    assert search.search("qqzx vvbnm") == []


def test_no_query_lists_every_paper_in_the_librarys_order(search, seed_papers):
    assert search.search("") == seed_papers
    assert search.search("  -- ") == seed_papers


def test_a_title_match_ranks_above_one_in_the_abstract_only(search):
    found = search.search("reinforcement")
    in_title = ["reinforcement" in words_of(p.title or "") for p in found]
    assert any(in_title) and not all(in_title)
    assert in_title == sorted(in_title, reverse=True)  # every title match first


def test_an_arxiv_id_finds_its_paper(search):
    assert [p.id for p in search.search("2403.05530")] == ["2403.05530"]


def test_latex_in_a_title_is_searched_as_the_words_it_marks():
    paper = Paper(id="x", title=r"\textit{Relational} memory in D\k{a}browski's models",
                  abstract="About memory.")
    assert PaperSearch([paper]).search("relational dąbrowski memory") == [paper]
    assert PaperSearch([paper]).search("Dabrowski") == [paper]  # accents folded
    assert words_of("Mixture-of-Depths: D\\k{a}browski") == ["mixture", "of", "depths",
                                                             "dabrowski"]


def test_short_words_are_taken_as_typed_longer_ones_forgive_typos():
    assert [typos_allowed(w) for w in ("of", "img", "depth", "mixture", "gpt4")] == [0, 1, 1, 2, 0]
    image = Paper(id="i", title="Image models", abstract="Pictures.")
    assert PaperSearch([image]).search("img") == []  # "img" is two typos from "image"


def test_a_long_library_is_searched_quickly():
    import time

    papers = [Paper(id=f"p{n}", title=f"Paper {n} on topic {n % 97} of the survey",
                    authors=[f"Author{n % 311} Surname{n % 53}"],
                    abstract=f"Words {n} and more words about subject{n % 1000}.")
              for n in range(5000)]
    search = PaperSearch(papers)
    search.search("warm the index")
    started = time.perf_counter()
    found = search.search("surname7 topic 12")
    assert time.perf_counter() - started < 1.0
    assert found and all("Surname7" in p.authors[0] for p in found)


# -- the table -------------------------------------------------------------------------------

def test_a_header_sorts_ascending_then_descending_then_back_to_the_search_order():
    assert next_sort(None, "year") == ("year", False)
    assert next_sort(("year", False), "year") == ("year", True)
    assert next_sort(("year", True), "year") is None
    assert next_sort(("year", True), "title") == ("title", False)
    assert headers(("year", True))[:3] == ["title", "authors", "year ▼"]


def test_papers_without_a_value_sort_last_either_way_and_ties_keep_their_order():
    def paper(n, year):
        return Paper(id=n, title=n, abstract="x",
                     date=dt.date(year, 1, 1) if year else None)

    papers = [paper("a", 2020), paper("b", None), paper("c", 2018), paper("d", 2020)]
    assert [p.id for p in sorted_papers(papers, ("year", False))] == ["c", "a", "d", "b"]
    assert [p.id for p in sorted_papers(papers, ("year", True))] == ["a", "d", "c", "b"]
    assert sorted_papers(papers, None) == papers


def test_the_listing_counts_and_downloads_what_the_search_finds(seed_papers):
    tab = PapersTab(SimpleNamespace(bot=SimpleNamespace(papers=seed_papers)))
    table, bibtex, csl_json, csv = tab.list("mixture of depths")
    assert table.label == f"1 of {len(seed_papers)} papers"
    assert [row[0] for row in table.value["data"]] == [MOD]
    assert Path(bibtex).read_text().count("@") == 1
    everything, *_ = tab.list("")  # as the Add papers tab calls it
    assert everything.label == f"{len(seed_papers)} papers"
    assert len(everything.value["data"]) == len(seed_papers)
    by_year, *_ = tab.list("", ("year", True))
    assert by_year.value["headers"][2] == "year ▼"
    assert by_year.value["data"][0][2] == max(p.year for p in seed_papers if p.year)


# -- an opened paper -------------------------------------------------------------------------

def _hostile_paper(**fields) -> Paper:
    return Paper(**{
        "id": "2401.00001", "arxiv_id": "2401.00001", "doi": "10.1002/(sici)1097-4571<x>#1",
        "title": "A <img src=x onerror=alert(1)> [link](javascript:alert(2)) \\textit{study}",
        "authors": ["Alice <b>Bold</b>", "Bob *Star*"], "venue": "Journal of <i>Things</i>",
        "url": "javascript:alert(3)", "categories": ["cs.LG"],
        "abstract": "We use [this](javascript:alert(4)) and https://evil.example/x <script>.",
        "sources": [Source(file="/srv/secret/folder/upload.bib", line=7, layout=Layout.BIBTEX)],
        **fields})


def test_an_opened_paper_shows_its_text_as_text_and_only_links_the_app_builds():
    shown = paper_markdown(_hostile_paper())
    links = re.findall(r"(?<!\\)\]\(([^)]*)\)", shown)
    assert links == ["https://doi.org/10.1002/%28sici%291097-4571%3Cx%3E%231",
                     "https://arxiv.org/abs/2401.00001"]
    assert not re.search(r"(?<!\\)<", shown)  # no tag from the paper
    assert "`https://evil.example/x`" in shown  # an address in the abstract is a code span
    assert "A \\<img" in shown and "study" in shown and "textit" not in shown
    assert "Alice \\<b\\>Bold\\</b\\>, Bob \\*Star\\*" in shown


def test_an_opened_paper_names_its_sources_by_file_and_line_not_server_paths():
    shown = paper_markdown(_hostile_paper())
    assert "upload.bib:7" in shown and "/srv/secret" not in shown


def test_a_paper_without_an_abstract_says_so():
    shown = paper_markdown(_hostile_paper(abstract=""))
    assert NO_ABSTRACT in shown


def test_an_opened_paper_names_its_first_authors_and_counts_the_rest():
    authors = [f"Author {n}" for n in range(100)]
    shown = paper_markdown(_hostile_paper(authors=authors))
    assert "Author 39 and 60 more" in shown and "Author 40" not in shown
