"""BibTeX and CSV exports parse back to what was exported."""

from __future__ import annotations

import csv
import io

import bibtexparser
import pytest

from bot.surfaces.export import CSV_COLUMNS, to_bibtex, to_csv


def test_bibtex_of_the_seed_corpus_parses_back_with_unique_keys(seed_bot):
    library = bibtexparser.parse_string(to_bibtex(seed_bot.papers))
    assert not library.failed_blocks
    assert len(library.entries) == len(seed_bot.papers)
    assert len({e.key for e in library.entries}) == len(seed_bot.papers)
    gemini = next(e for e in library.entries if "2403.05530" in e.fields_dict.get(
        "eprint", bibtexparser.model.Field("eprint", "")).value)
    assert gemini.fields_dict["archiveprefix"].value == "arXiv"
    assert gemini.fields_dict["url"].value == "https://arxiv.org/abs/2403.05530"


def test_bibtex_escapes_latex_specials_and_marks_cut_author_lists(seed_bot):
    paper = seed_bot.papers[0].model_copy(update={
        "title": "Q&A at 100% with {braces} and x_1", "authors": ["Ada Lovelace"],
        "authors_truncated": True})
    entry = bibtexparser.parse_string(to_bibtex([paper])).entries[0]
    assert entry.fields_dict["title"].value == "{Q\\&A at 100\\% with braces and x\\_1}"
    assert entry.fields_dict["author"].value == "Ada Lovelace and others"


def test_csv_has_a_row_per_paper_with_every_column(seed_bot):
    rows = list(csv.reader(io.StringIO(to_csv(seed_bot.papers))))
    assert rows[0] == CSV_COLUMNS
    assert len(rows) == len(seed_bot.papers) + 1
    assert {row[0] for row in rows[1:]} == {p.id for p in seed_bot.papers}


@pytest.mark.parametrize("hostile", ["=HYPERLINK(\"http://evil.example\",\"click\")",
                                     "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)",
                                     "\t=1+1", "\r=1+1"])
def test_no_csv_cell_can_start_a_spreadsheet_formula(seed_bot, hostile):
    paper = seed_bot.papers[0].model_copy(update={
        "id": hostile, "title": hostile, "authors": [hostile], "abstract": hostile})
    row = list(csv.reader(io.StringIO(to_csv([paper]))))[1]
    for column in ("id", "title", "authors", "abstract"):
        cell = row[CSV_COLUMNS.index(column)]
        assert cell == "'" + hostile  # text to the spreadsheet, the value still readable
