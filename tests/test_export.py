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


def test_bibtex_keeps_a_papers_cite_key_type_doi_venue_and_url(seed_bot):
    paper = seed_bot.papers[0].model_copy(update={
        "cite_key": "lecun2015deep", "entry_type": "article", "doi": "10.1038/nature14539",
        "venue": "Nature", "url": "https://www.nature.com/articles/nature14539",
        "keywords": ["deep learning", "review"]})
    twin = paper.model_copy(update={"id": "other"})  # the same key twice: the second lettered
    odd = paper.model_copy(update={"id": "odd", "cite_key": "has space,{brace}",
                                   "entry_type": "weird", "venue": "Proc. X"})
    entries = bibtexparser.parse_string(to_bibtex([paper, twin, odd])).entries
    first = entries[0]
    assert (first.key, first.entry_type) == ("lecun2015deep", "article")
    fields = {name: field.value for name, field in first.fields_dict.items()}
    assert fields["doi"] == "10.1038/nature14539" and fields["journal"] == "{Nature}"
    assert fields["url"] == "https://www.nature.com/articles/nature14539"
    assert fields["keywords"] == "deep learning, review"
    assert entries[1].key != "lecun2015deep"
    assert entries[2].entry_type == "misc" and " " not in entries[2].key
    assert entries[2].fields_dict["howpublished"].value == "{Proc. X}"


def test_csv_carries_doi_venue_and_the_papers_own_url(seed_bot):
    paper = seed_bot.papers[0].model_copy(update={
        "doi": "10.1/x", "venue": "Nature", "url": "https://example.org/p"})
    row = dict(zip(CSV_COLUMNS, list(csv.reader(io.StringIO(to_csv([paper]))))[1], strict=True))
    assert (row["doi"], row["venue"], row["url"]) == ("10.1/x", "Nature", "https://example.org/p")


def test_csl_json_is_what_zotero_and_pandoc_read(seed_bot):
    import json

    from bot.surfaces.export import to_csl_json

    paper = seed_bot.papers[0].model_copy(update={
        "cite_key": "lecun2015deep", "entry_type": "article", "doi": "10.1038/nature14539",
        "venue": "Nature", "authors": ["Yann LeCun", "Yoshua Bengio", "Prince"],
        "keywords": ["deep learning"]})
    items = json.loads(to_csl_json([paper, *seed_bot.papers[1:]]))
    assert len(items) == len(seed_bot.papers)
    assert len({i["id"] for i in items}) == len(items)
    first = items[0]
    assert (first["id"], first["type"], first["DOI"]) == ("lecun2015deep", "article-journal",
                                                          "10.1038/nature14539")
    assert first["author"] == [{"family": "LeCun", "given": "Yann"},
                               {"family": "Bengio", "given": "Yoshua"}, {"literal": "Prince"}]
    assert first["container-title"] == "Nature" and first["keyword"] == "deep learning"
    assert first["abstract"] == paper.abstract
    gemini = next(i for i in items if i.get("number") == "arXiv:2403.05530")
    assert gemini["URL"] == "https://arxiv.org/abs/2403.05530"
    assert gemini["issued"]["date-parts"][0][0] == 2024


def test_the_cli_prints_the_library_in_each_export_format(seed_library_dir, capsys):
    import json

    from bot.surfaces.cli import main

    assert main(["papers", "--index", str(seed_library_dir), "--format", "csl-json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 68
    assert main(["papers", "--index", str(seed_library_dir), "--format", "bibtex",
                 "--year-from", "2024"]) == 0
    entries = bibtexparser.parse_string(capsys.readouterr().out).entries
    assert entries and all(int(e.fields_dict["year"].value) >= 2024 for e in entries)
