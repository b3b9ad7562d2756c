"""CSL-JSON bibliographies (Zotero, Better BibTeX): detection, fields, lines, refusals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bot import Layout
from bot.ingest import detect_layout, read_file, read_lines
from bot.ingest.readers import csl_json, json_values
from bot.ingest.sighting import Sighting

DATA = Path(__file__).parent / "data" / "csl-json"
LIBRARY = DATA / "zotero-my-library.json"
BETTER_BIBTEX = DATA / "better-bibtex-pandoc-citation.json"


def _read(path: Path) -> list:
    return list(csl_json.read(read_lines(path), str(path)))


def _nonblank(path: Path) -> set[int]:
    return {n for n, line in enumerate(read_lines(path), start=1) if line.strip()}


def _covered(items: list) -> set[int]:
    covered = set()
    for item in items:
        if isinstance(item, Sighting):
            covered.update(range(item.source.line, max(item.last_line, item.source.line) + 1))
        else:
            covered.update(range(item.line, item.line + item.lines))
    return covered


def test_exports_are_detected_as_csl_json_and_json_lines_still_as_json_lines():
    for path in (LIBRARY, BETTER_BIBTEX):
        assert detect_layout(read_lines(path)) is Layout.CSL_JSON
    one_line = json.dumps([{"id": "a", "type": "book", "title": "T", "issued": {}}])
    assert detect_layout([one_line]) is Layout.CSL_JSON
    jsonl = ['{"id": "2503.11742", "title": "T", "abstract": "A.", "type": "x"}'] * 2
    assert detect_layout(jsonl) is Layout.JSONL
    assert not csl_json.sniff(['[{"_id": "1", "title": "only one CSL key"}]'])


def test_named_items_fields():
    items = _read(LIBRARY)
    vaswani, he, smith = items
    assert (vaswani.source.line, vaswani.last_line) == (1, 33)
    assert vaswani.source.layout is Layout.CSL_JSON
    assert vaswani.title == "Attention Is All You Need"
    assert vaswani.authors == ["Ashish Vaswani", "Noam Shazeer"]
    assert vaswani.date == dt.date(2017, 6, 12)
    assert vaswani.doi == "10.48550/arxiv.1706.03762"
    assert vaswani.arxiv_id == "1706.03762"
    assert vaswani.cite_key == "vaswaniAttentionAllYou2017"
    assert vaswani.entry_type == "article"
    assert vaswani.url == "http://arxiv.org/abs/1706.03762"
    assert vaswani.keywords == ["Computer Science - Computation and Language",
                                "Computer Science - Machine Learning"]
    assert vaswani.abstract.startswith("We propose a network architecture")

    assert he.source.line == 34
    assert he.authors == ["Kaiming He", "Microsoft Research"]
    assert he.date == dt.date(2016, 1, 1)
    assert he.doi == "10.1109/cvpr.2016.90"
    assert he.arxiv_id is None
    assert he.venue.startswith("Proceedings of the IEEE Conference on Computer Vision")
    assert he.entry_type == "paper-conference"

    # A titled item without an abstract is kept: found by title, never cited.
    assert (smith.title, smith.abstract, smith.source.line) == (
        "A report without an abstract", "", 59)
    assert smith.date == dt.date(2020, 3, 4)


def test_counts_add_up_and_every_line_is_accounted_for():
    for path in (LIBRARY, BETTER_BIBTEX):
        items = _read(path)
        assert _nonblank(path) <= _covered(items)
        sightings, report = read_file(path)
        assert report.layout is Layout.CSL_JSON
        assert len(sightings) + len(report.rejected) == len(items)
    better_bibtex = _read(BETTER_BIBTEX)
    assert [s.source.line for s in better_bibtex] == [1, 54, 88, 111]
    assert {s.abstract for s in better_bibtex} == {""}
    assert better_bibtex[0].title == ("The physical volcanology of the 1600 eruption of "
                                      "Huaynaputina, southern Peru")


def test_markup_in_titles_is_dropped(tmp_path):
    item = {"id": "x", "type": "book", "title": "On <i>Prouerbia</i> and <b>X</b>",
            "abstract": "Text."}
    (sighting,) = csl_json.read([json.dumps([item])], "x.json")
    assert sighting.title == "On Prouerbia and X"


def test_a_malformed_document_is_reported_with_its_line(tmp_path):
    lines = LIBRARY.read_text(encoding="utf-8").splitlines()
    lines[40] = lines[40].rstrip(",")  # a missing comma on line 41
    (chunk,) = csl_json.read(lines, "broken.json")
    assert "not valid JSON at line 42" in chunk.reason
    assert (chunk.line, chunk.lines) == (1, len(lines))


def test_items_that_are_not_papers_are_rejected_with_their_line():
    lines = ["[", '  "a string",', '  {"id": "empty", "type": "book"},',
             '  {"title": "T", "abstract": "A.", "issued": {"date-parts": [[1066]]}}', "]"]
    string, empty, old = csl_json.read(lines, "odd.json")
    assert (string.line, string.reason) == (1, "a JSON string, not a CSL item")
    assert (empty.line, empty.reason) == (3, "a CSL item with no title and no abstract")
    assert old.source.line == 4 and old.last_line == 5
    assert old.date is None and old.doubts == ["date '1066' ignored: before 1450"]
    (empty_list,) = csl_json.read(["[", "]"], "none.json")
    assert empty_list.reason == "an empty list: no CSL items" and empty_list.lines == 2
    (not_list,) = csl_json.read(['{"title": "T"}'], "obj.json")
    assert not_list.reason == "a JSON object, not a list of CSL items"


def test_deep_nesting_and_size_are_refused(monkeypatch):
    deep = "[" * 40 + "]" * 40
    (chunk,) = csl_json.read([deep], "deep.json")
    assert "nested more than" in chunk.reason
    monkeypatch.setattr(json_values, "MAX_DOCUMENT_BYTES", 10)
    (chunk,) = csl_json.read(["[", '  {"title": "long enough"}', "]"], "big.json")
    assert chunk.reason.startswith("a CSL-JSON document larger than")
