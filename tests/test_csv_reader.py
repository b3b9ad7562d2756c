"""CSV tables of papers: a real Zotero CSV export and a small written table, semicolon
separated, with a multi-line field and malformed rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot import Layout
from bot.ingest import detect_layout, read_file, read_lines
from bot.ingest.readers import csv_table

DATA = Path(__file__).parent / "data" / "csv"
ZOTERO = DATA / "semantic-bibtool-zotero.csv"
WRITTEN = DATA / "written-malformed.csv"


def uncovered(path: Path) -> list[int]:
    """The non-blank lines that no record's and no rejected chunk's span holds."""
    sightings, report = read_file(path)
    covered = {n for s in sightings for n in range(s.source.line, s.last_line + 1)}
    covered |= {n for r in report.rejected for n in range(r.line, r.line + r.lines)}
    return [n for n, line in enumerate(read_lines(path), start=1)
            if line.strip() and n not in covered]


def by_key(path: Path) -> dict:
    return {s.cite_key: s for s in read_file(path)[0]}


def test_tables_with_title_and_abstract_columns_are_detected_as_csv():
    for path in (ZOTERO, WRITTEN):
        assert detect_layout(read_lines(path)) is Layout.CSV
    assert csv_table.sniff(["ARTICLE TITLE\tDescription\tYear"])
    assert csv_table.sniff(['"Title","Abstract Note"'])
    assert not csv_table.sniff(["title,authors,year"])  # no abstract column
    assert not csv_table.sniff(["TY  - JOUR"])


def test_a_zotero_preprint_is_a_record_with_its_fields():
    sightings, report = read_file(ZOTERO)
    assert report.layout is Layout.CSV and report.rejected == [] and report.warnings == []
    mqf2 = sightings[0]
    assert (mqf2.source.line, mqf2.last_line) == (2, 2)
    assert mqf2.cite_key == "Q5BGEGIZ"
    assert mqf2.title == "Multivariate Quantile Function Forecaster"
    assert mqf2.authors == ["Kelvin Kan", "François-Xavier Aubet", "Tim Januschowski",
                            "Youngsuk Park", "Konstantinos Benidis", "Lars Ruthotto",
                            "Jan Gasthaus"]
    assert mqf2.date == dt.date(2022, 2, 23)
    assert mqf2.arxiv_id == "2202.11316"
    assert mqf2.url == "http://arxiv.org/abs/2202.11316"
    assert mqf2.entry_type == "preprint"
    assert mqf2.keywords == ["Computer Science - Machine Learning", "Statistics - Machine Learning"]
    assert mqf2.abstract.startswith("We propose Multivariate Quantile Function Forecaster (MQF2)")


def test_zotero_dois_venues_and_arxiv_ids_from_each_place_they_are_given():
    papers = by_key(ZOTERO)
    assert (papers["3IJUCEMP"].doi, papers["3IJUCEMP"].arxiv_id) == (
        "10.48550/arxiv.2206.06292", "2206.06292")
    survey = papers["YXBAMMQ4"]
    assert (survey.doi, survey.venue, survey.arxiv_id) == (
        "10.1145/3447582", "ACM Computing Surveys", None)
    assert survey.title == ("A Comprehensive Survey of Neural Architecture Search: "
                            "Challenges and Solutions")
    assert survey.date == dt.date(2022, 5, 31)


def test_titled_zotero_items_without_abstracts_are_kept_with_empty_abstracts():
    papers = by_key(ZOTERO)
    bounds, root_sgd = papers["VJ4K7QK9"], papers["4CZUH8JU"]
    assert bounds.title == "Generalization Bounds via Convex Analysis"
    assert bounds.abstract == "" and root_sgd.abstract == ""
    assert bounds.authors == ["Gergely Neu", "Gábor Lugosi"]
    # Google Scholar's venue for a preprint names its arXiv id.
    assert (bounds.venue, bounds.arxiv_id) == ("arXiv preprint arXiv:2202.04985", "2202.04985")
    assert (root_sgd.venue, root_sgd.entry_type) == ("Conference on Learning Theory",
                                                      "conferencePaper")


def test_every_line_is_in_a_record_or_a_rejected_chunk_and_the_counts_add_up():
    for path in (ZOTERO, WRITTEN):
        assert uncovered(path) == [1], path  # the header: the table's own, not a record
    assert len(read_file(ZOTERO)[0]) == len(list(read_lines(ZOTERO))) - 1 == 8
    sightings, report = read_file(WRITTEN)
    assert len(sightings) + len(report.rejected) == 5  # rows under the header


def test_a_multi_line_row_is_read_at_the_line_it_starts_on():
    notes = by_key(WRITTEN)["smith2021"]
    assert (notes.source.line, notes.last_line) == (2, 4)
    assert notes.title == "Notes on Transformers"
    assert notes.abstract == "We study how transformers learn. They learn slowly; and then quickly."
    assert notes.authors == ["A. Smith", "B. Jones", "C. Lee"] and notes.authors_truncated
    assert notes.arxiv_id == "2104.01234"
    assert notes.date == dt.date(2021, 3, 1)
    assert notes.venue == "Written Journal"
    assert notes.keywords == ["transformers", "logic"]


def test_malformed_rows_are_reported_with_their_lines_and_the_rest_is_read():
    sightings, report = read_file(WRITTEN)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (5, "a row of 8 fields where the header names 9"),
        (7, "a row with no title and no abstract")]
    assert report.rejected[0].text.startswith("A row with a field too few")
    titled = by_key(WRITTEN)["sound2019"]
    assert (titled.title, titled.abstract) == ("A Titled Row Without an Abstract", "")
    assert titled.authors == ["Ann Smith", "Bob Jones"]
    assert (titled.doi, titled.venue, titled.date) == ("10.1000/abc.1", "Written Proceedings",
                                                       dt.date(2019, 1, 1))
    undated = sightings[-1]
    assert (undated.source.line, undated.date, undated.arxiv_id) == (8, None, "2001.00001")
    assert [(w.line, w.reason) for w in report.warnings] == [
        (8, "Published 'the year of the comet' ignored: not a readable date")]


def test_a_field_too_large_is_rejected_and_the_rows_after_it_are_read(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_table, "MAX_FIELD_CHARS", 100)
    path = tmp_path / "papers.tsv"
    path.write_text("Title\tAbstract\tExtra\n"
                    f"Huge\t{'x' * 200}\t\n"
                    "Small\tFine.\tarXiv: 1706.03762\n")
    sightings, report = read_file(path)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "a field longer than 100 characters: the row is not read")]
    assert [(s.title, s.source.line, s.arxiv_id) for s in sightings] == [
        ("Small", 3, "1706.03762")]


def test_a_table_without_the_columns_is_one_rejected_chunk(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,age\nAnn,40\n\nBob,41\n")
    sightings, report = read_file(path, Layout.CSV)
    assert sightings == []
    assert [(r.line, r.lines) for r in report.rejected] == [(1, 4)]
