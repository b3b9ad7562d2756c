"""arXiv text as people receive or paste it: the daily mailing (two of arXiv's own saved
mailings), a /list page and a search-results page copied from a browser, and arXiv's dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot import Layout
from bot.ingest import detect_layout, read_file
from bot.ingest.readers import arxiv_mailing, arxiv_page
from bot.ingest.readers.json_values import parse_date

DATA = Path(__file__).parent / "data" / "arxiv-text"
MAILING_CP = DATA / "mailing-q-fin-CP.txt"
MAILING_OA = DATA / "mailing-math-OA.txt"
LIST_NEW = DATA / "list-new-q-fin-CP.txt"
LIST_RECENT = DATA / "list-recent-q-fin-CP.txt"
SEARCH = DATA / "search-q-fin.txt"
SEED = Path(__file__).parent.parent.parent / "shared" / "corpus" / "seed"


def _covered(sightings, report) -> set[int]:
    covered = set()
    for s in sightings:
        covered.update(range(s.source.line, max(s.last_line, s.source.line) + 1))
    for r in report.rejected:
        covered.update(range(r.line, r.line + r.lines))
    return covered


def _nonblank(path: Path) -> set[int]:
    return {n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if line.strip()}


@pytest.mark.parametrize(("path", "layout"), [
    (MAILING_CP, Layout.ARXIV_MAILING), (MAILING_OA, Layout.ARXIV_MAILING),
    (LIST_NEW, Layout.ARXIV_PAGE), (LIST_RECENT, Layout.ARXIV_PAGE), (SEARCH, Layout.ARXIV_PAGE)])
def test_each_form_is_detected_and_every_line_accounted_for(path, layout):
    assert detect_layout(path.read_text(encoding="utf-8").splitlines()) == layout
    sightings, report = read_file(path)
    assert report.layout == layout
    assert _nonblank(path) <= _covered(sightings, report)


def test_the_seed_corpus_is_not_taken_by_the_arxiv_text_sniffs():
    for path in sorted(SEED.glob("*.txt")):
        sample = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                  if line.strip()][:50]
        assert not arxiv_mailing.sniff(sample) and not arxiv_page.sniff(sample), path


def test_a_mailing_record_with_its_fields():
    sightings, report = read_file(MAILING_CP)
    assert [s.arxiv_id for s in sightings] == ["2303.08968", "2303.09406"]
    first = sightings[0]
    assert first.title == ("A parsimonious neural network approach to solve portfolio "
                           "optimization problems without using dynamic programming")
    assert first.authors == ["Pieter M. van Staden", "Peter A. Forsyth", "Yuying Li"]
    assert first.categories == ["q-fin.CP"]
    assert first.date == dt.date(2023, 3, 15)
    assert first.abstract.startswith("We present a parsimonious neural network approach, which")
    assert first.abstract.endswith("(GAN)-generated synthetic asset returns.")
    assert (first.source.line, first.last_line) == (16, 50)
    cross = sightings[1]  # a cross-list: its own submission date
    assert cross.date == dt.date(2023, 3, 7)
    assert cross.categories == ["q-fin.ST", "cs.LG", "q-fin.CP"]
    # The e-mail's heading is reported, not read as a paper; the counts add up.
    assert [(r.line, r.lines, r.reason) for r in report.rejected] == [
        (1, 15, arxiv_mailing.HEADING)]
    assert report.records + report.rejected_count == 3


def test_mailing_replacements_are_records_without_abstract_and_tex_is_decoded():
    sightings, report = read_file(MAILING_OA)
    assert [s.arxiv_id for s in sightings] == ["2306.04713", "2204.01445", "2206.02587"]
    cross, shifted, spectral = sightings
    assert cross.comment == "7 pages, no figures"
    assert cross.date == dt.date(2023, 6, 7)
    assert shifted.title == ("Shifted Substitution in Non-Commutative Multivariate Power "
                             "Series with a View Toward Free Probability")
    assert shifted.authors == ["Kurusch Ebrahimi-Fard", "Frédéric Patras", "Nikolas Tapia",
                               "Lorenzo Zambotti"]
    assert shifted.abstract == "" and shifted.date is None  # the revision's date, not the paper's
    assert (shifted.venue, shifted.doi) == ("SIGMA 19 (2023), 038, 17 pages",
                                            "10.3842/sigma.2023.038")
    assert spectral.authors == ["Ludwik Dąbrowski", "Andrzej Sitarz", "Paweł Zalecki"]
    assert [(r.line, r.reason) for r in report.rejected] == [
        (1, arxiv_mailing.HEADING), (61, arxiv_mailing.CLOSING_NOTES)]


def test_a_damaged_mailing_reports_what_it_cannot_read(tmp_path):
    text = MAILING_CP.read_text(encoding="utf-8").splitlines()
    damaged = text[:17] + ["Date: sometime in March"] + text[18:50] + ["a stray note"] \
        + text[50:]
    path = tmp_path / "mail.eml"
    path.write_text("\n".join(damaged), encoding="utf-8")
    sightings, report = read_file(path)
    assert sightings[0].date is None
    assert [(w.line, w.reason) for w in report.warnings] == [
        (16, "unreadable date 'sometime in March'")]
    assert (51, arxiv_mailing.BETWEEN) in [(r.line, r.reason) for r in report.rejected]
    assert _nonblank(path) <= _covered(sightings, report)


def test_a_list_page_entry_with_abstract_and_the_page_text_rejected():
    sightings, report = read_file(LIST_NEW)
    assert [s.arxiv_id for s in sightings] == ["2303.08968", "2303.09406"]
    first, cross = sightings
    assert first.title.startswith("A parsimonious neural network approach")
    assert first.authors == ["Pieter M. van Staden", "Peter A. Forsyth", "Yuying Li"]
    assert first.categories == ["q-fin.CP"]
    assert first.abstract.startswith("We present a parsimonious neural network approach")
    assert first.date is None  # a /list page shows none
    assert cross.categories == ["q-fin.ST", "cs.LG", "q-fin.CP"]
    assert [(r.line, r.reason, r.text) for r in report.rejected] == [
        (1, arxiv_page.BEFORE, "Skip to main content"),
        (24, arxiv_page.AFTER, "Cross submissions (showing 1 of 1 entries )"),
        (33, arxiv_page.AFTER, "Total of 2 entries")]
    assert report.records == 2 and report.rejected_count == 3


def test_a_recent_page_gives_records_without_abstracts():
    sightings, report = read_file(LIST_RECENT)
    assert [(s.arxiv_id, s.abstract) for s in sightings] == [("2303.08968", ""),
                                                             ("2303.09406", "")]
    assert sightings[1].title == ("Stock Price Prediction Using Temporal Graph Model with "
                                  "Value Chain Data")
    assert sightings[1].authors == ["Chang Liu", "Sandra Paterlini"]
    assert [r.reason for r in report.rejected] == [arxiv_page.BEFORE, arxiv_page.AFTER]


def test_a_search_result_with_the_full_abstract_and_its_first_version_date():
    sightings, report = read_file(SEARCH)
    bayes, parsimonious = sightings
    assert bayes.arxiv_id == "2303.08867"
    assert bayes.title == "A Bayesian derivation of the square root law of market impact"
    assert bayes.authors == ["Louis Saddier", "Matteo Marsili"]
    assert bayes.categories == ["q-fin.TR", "cond-mat.stat-mech"]
    assert bayes.comment == "16 pages, 5 figures"
    assert bayes.date == dt.date(2023, 3, 15)
    assert bayes.abstract.startswith("We show that the main empirical findings")
    assert bayes.abstract.endswith("originating from meta-orders.")
    assert "▽" not in bayes.abstract and "△" not in bayes.abstract and "…" not in bayes.abstract
    # Only the short abstract shown: kept, with a warning; the date is v1's, not the latest.
    assert parsimonious.date == dt.date(2023, 3, 15)
    assert parsimonious.abstract.endswith("…")
    assert [w.reason for w in report.warnings] == [arxiv_page.CUT_SHORT]
    assert [(r.line, r.reason) for r in report.rejected] == [(1, arxiv_page.BEFORE),
                                                             (31, arxiv_page.AFTER)]


def test_an_entry_with_neither_title_nor_abstract_is_rejected(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text("[1] arXiv:2303.08968 [pdf, other]\nSubjects: Computational Finance "
                    "(q-fin.CP)\n\n[2] arXiv:2303.09406 [pdf]\nTitle: Stock Price Prediction\n"
                    "Subjects: Statistical Finance (q-fin.ST)\n", encoding="utf-8")
    sightings, report = read_file(path)
    assert [s.arxiv_id for s in sightings] == ["2303.09406"]
    assert [(r.line, r.lines, r.reason) for r in report.rejected] == [
        (1, 2, arxiv_page.NEITHER)]


@pytest.mark.parametrize(("text", "date"), [
    ("8 Mar 2024", dt.date(2024, 3, 8)), ("8 March, 2024", dt.date(2024, 3, 8)),
    ("Fri, 8 Mar 2024 12:00:00 GMT", dt.date(2024, 3, 8)), ("2024-03-08", dt.date(2024, 3, 8)),
    ("Wed, 15 Mar 2023 22:37:33 GMT   (1742kb,D)", dt.date(2023, 3, 15)),
    ("30 Feb 2024", None), ("8 Foo 2024", None), ("Mon, 2 Apr 0 01:01:01 GMT", None),
    ("March 2024", None)])
def test_arxiv_date_forms(text, date):
    assert parse_date(text) == date


def test_a_created_line_in_arxivs_forms_and_an_unreadable_one_warned(tmp_path):
    path = tmp_path / "listing.txt"
    path.write_text("We study one thing at length, in an abstract of some words.\n\n"
                    "arXiv:2403.05530\nCreated: 8 Mar 2024\n\n"
                    "We study another thing at length, in an abstract of some words.\n\n"
                    "arXiv:2306.11706\nCreated: the day before\n", encoding="utf-8")
    sightings, report = read_file(path)
    assert report.layout == Layout.ARXIV_LISTING
    assert [s.date for s in sightings] == [dt.date(2024, 3, 8), None]
    assert [(w.line, w.reason) for w in report.warnings] == [
        (6, "unreadable date 'the day before'")]
