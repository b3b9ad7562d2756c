"""JSON documents (arrays of papers, Semantic Scholar and OpenAlex answers) and the Kaggle arXiv
snapshot: detection, the fields of named records, lines, counts, refusals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bot import Layout
from bot.ingest import detect_layout, read_file, read_lines
from bot.ingest.readers import json_document, json_record, json_values, jsonl
from bot.ingest.readers.json_values import parse_date
from bot.ingest.sighting import Sighting
from bot.records import RejectedChunk

DATA = Path(__file__).parent / "data"
SNAPSHOT = DATA / "jsonl" / "arxiv-metadata-oai-snapshot.json"
OPENALEX_WORK = DATA / "jsonl" / "openalex-W2741809807.json"
S2_BATCH = DATA / "json" / "semanticscholar-paper-batch.json"
S2_MATCH = DATA / "json" / "semanticscholar-search-match.json"
S2_EMPTY = DATA / "json" / "semanticscholar-empty-search.json"
OPENALEX_PAGE = DATA / "json" / "openalex-works-page.json"


def _snapshot_records() -> list[dict]:
    return [json.loads(line) for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()]


def _read(reader, lines: list[str], path: str = "papers.json") -> list:
    return list(reader.read(lines, path))


def _covered(items: list) -> set[int]:
    covered = set()
    for item in items:
        if isinstance(item, Sighting):
            covered.update(range(item.source.line, max(item.last_line, item.source.line) + 1))
        else:
            covered.update(range(item.line, item.line + item.lines))
    return covered


def _nonblank(lines: list[str]) -> set[int]:
    return {n for n, line in enumerate(lines, start=1) if line.strip()}


def test_each_file_is_detected_as_what_it_is():
    assert detect_layout(read_lines(SNAPSHOT)) is Layout.JSONL  # JSON Lines named .json
    assert detect_layout(read_lines(OPENALEX_WORK)) is Layout.JSONL  # one paper on one line
    for path in (S2_BATCH, S2_MATCH, S2_EMPTY, OPENALEX_PAGE):
        assert detect_layout(read_lines(path)) is Layout.JSON, path
    pretty_array = json.dumps(_snapshot_records(), indent=2).splitlines()
    assert detect_layout(pretty_array) is Layout.JSON
    assert detect_layout(['{"data": [', '  {"paperId": "x", "title": "T"}', "]}"]) is Layout.JSON
    two_papers = [json.dumps({"title": "T", "abstract": "A."})] * 2
    assert detect_layout(two_papers) is Layout.JSONL
    assert detect_layout(['{"title": "A"}{"title": "B"}']) is Layout.JSONL


def test_the_kaggle_snapshot_named_records():
    sightings, report = read_file(SNAPSHOT)
    assert report.layout is Layout.JSONL and report.records == 9 and not report.rejected
    by_id = {s.arxiv_id: s for s in sightings}
    first = by_id["0704.0001"]
    assert first.title == ("Calculation of prompt diphoton production cross sections at "
                           "Tevatron and LHC energies")
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]
    assert first.date == dt.date(2007, 4, 2)  # its first version, not its 2008 update
    assert first.doi == "10.1103/physrevd.76.013009"
    assert first.venue == "Phys.Rev.D76:013009,2007"
    assert first.comment == "37 pages, 15 figures; published version"
    assert first.categories == ["hep-ph"]
    assert first.abstract.startswith("A fully differential calculation in perturbative quantum")
    assert by_id["0704.0002"].categories == ["math.CO", "cs.CG"]
    assert by_id["0704.0025"].authors == ["A. S. Mishchenko", "N. Nagaosa"]
    assert by_id["0704.0062"].authors == ["Rastislav Šrámek", "Broňa Brejová", "Tomáš Vinař"]
    assert by_id["0704.0073"].title == "A transcendental approach to Kollár's injectivity theorem"
    # Accents decoded in abstracts and titles, math kept as written.
    assert "Djoković's and Winkler's relations" in by_id["0704.0010"].abstract
    assert by_id["0704.0002"].abstract.startswith(r"We describe a new algorithm, the $(k,\ell)$")
    assert by_id["0704.0005"].title == r"From dyadic $\Lambda_{\alpha}$ to $\Lambda_{\alpha}$"
    assert [s.source.line for s in sightings] == list(range(1, 10))


def test_the_snapshot_authors_string_serves_when_authors_parsed_is_missing():
    records = {r["id"]: r for r in _snapshot_records()}
    for record in records.values():
        del record["authors_parsed"]
    lines = [json.dumps(records[key]) for key in ("0704.0001", "0704.0025", "0704.0062")]
    balazs, mishchenko, sramek = _read(jsonl, lines)
    assert balazs.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]
    assert mishchenko.authors == ["A. S. Mishchenko", "N. Nagaosa"]  # affiliations left out
    assert sramek.authors == ["Rastislav Šrámek", "Broňa Brejová", "Tomáš Vinař"]


def test_the_date_forms_paper_metadata_writes():
    assert parse_date("Mon, 2 Apr 2007 19:18:42 GMT") == dt.date(2007, 4, 2)
    assert parse_date("8 Mar 2024") == dt.date(2024, 3, 8)
    assert parse_date("2024-03-08") == dt.date(2024, 3, 8)
    assert parse_date("2024-03-08T17:59:59Z") == dt.date(2024, 3, 8)


def test_the_snapshot_as_one_pretty_printed_array_gives_each_item_its_first_line():
    lines = json.dumps(_snapshot_records(), indent=2).splitlines()
    items = _read(json_document, lines)
    opening = [n for n, line in enumerate(lines, start=1) if line == "  {"]
    assert [s.source.line for s in items] == [1, *opening[1:]]
    assert [s.last_line for s in items] == [*(n - 1 for n in opening[1:]), len(lines)]
    assert all(s.source.layout is Layout.JSON for s in items)
    assert items[0].authors[0] == "C. Balázs" and items[0].date == dt.date(2007, 4, 2)
    assert _nonblank(lines) <= _covered(items)


def test_a_semantic_scholar_batch_answer():
    items = _read(json_document, list(read_lines(S2_BATCH)))
    missing, bertrand, microfinance, audits = items
    assert isinstance(missing, RejectedChunk)
    assert (missing.line, missing.reason) == (1, "a JSON null, not a paper")
    assert bertrand.title == "How Much Should We Trust Differences-in-Differences Estimates?"
    assert bertrand.source_id == "c31c87c591a25c64fbaa82e8ac6a81831b6ac7ce"
    assert bertrand.doi == "10.2139/ssrn.288970" and bertrand.arxiv_id is None
    assert bertrand.authors == ["Marianne Bertrand", "E. Duflo", "S. Mullainathan"]
    assert bertrand.date == dt.date(2001, 10, 1)
    assert bertrand.venue == "Experimental & Empirical Studies eJournal"  # "venue" is empty
    assert bertrand.keywords == ["Psychology", "Economics", "Mathematics"]
    assert bertrand.url.endswith("/c31c87c591a25c64fbaa82e8ac6a81831b6ac7ce")
    assert bertrand.abstract.startswith("Most Difference-in-Difference (DD) papers rely on")
    assert microfinance.title.startswith("The Miracle of Microfinance?")
    assert audits.authors[0] == "E. Duflo"
    sightings, report = read_file(S2_BATCH)
    assert report.layout is Layout.JSON
    assert report.records == 3 and report.rejected_count == 1


def test_a_title_without_abstract_is_kept_and_an_item_with_neither_is_rejected():
    (match,), report = read_file(S2_MATCH)
    assert report.layout is Layout.JSON and not report.rejected
    assert match.title == "Mining association rules between sets of items in large databases"
    assert match.abstract == "" and match.source_id == "6fe8c5bf8dddaadf10c765133d38dfef5714347f"
    (chunk,) = _read(jsonl, ['{"id": "x", "title": "", "abstract": "  "}'])
    assert chunk.reason == "no title and no abstract"


def test_an_openalex_works_page():
    lines = list(read_lines(OPENALEX_PAGE))
    items = _read(json_document, lines)
    work, title_only, empty = items
    assert (work.source.line, work.last_line) == (1, 389)
    assert work.source_id == "W2741809807" and work.arxiv_id is None
    assert work.doi == "10.7717/peerj.4375"
    assert work.title.startswith("The state of OA: a large-scale analysis")
    assert work.date == dt.date(2018, 2, 13)
    assert work.authors[:3] == ["Heather Piwowar", "Jason Priem", "Vincent Larivière"]
    assert work.venue == "PeerJ" and work.entry_type == "article"
    assert work.url == "https://doi.org/10.7717/peerj.4375"
    assert work.keywords[0] == "Scholarly Communication"
    index = json.loads("\n".join(lines))["results"][0]["abstract_inverted_index"]
    words = work.abstract.split()
    assert words[:8] == ["Despite", "growing", "interest", "in", "Open", "Access", "(OA)", "to"]
    assert len(words) == sum(len(positions) for positions in index.values())
    assert all(words[p] == word for word, positions in index.items() for p in positions)
    assert (title_only.source.line, title_only.abstract) == (390, "")
    assert title_only.date == dt.date(2021, 5, 4) and title_only.authors == ["Ana Example"]
    assert (empty.line, empty.lines, empty.reason) == (410, 14, "no title and no abstract")
    assert _nonblank(lines) <= _covered(items)
    sightings, report = read_file(OPENALEX_PAGE)
    assert report.records == 2 and report.rejected_count == 1


def test_the_single_openalex_work_on_one_line_reads_as_json_lines():
    (work,), report = read_file(OPENALEX_WORK)
    assert report.layout is Layout.JSONL and not report.rejected and not report.warnings
    assert work.source_id == "W2741809807" and work.abstract.startswith("Despite growing")


def test_inverted_index_order_and_bound(monkeypatch):
    (sighting,) = _read(jsonl, [json.dumps({"display_name": "T", "abstract_inverted_index":
                                            {"b": [1], "a": [0, 2], "c": ["x", True]}})])
    assert sighting.abstract == "a b a"
    monkeypatch.setattr(json_record, "MAX_INDEX_POSITIONS", 2)
    (bounded,) = _read(jsonl, [json.dumps({"title": "T", "abstract_inverted_index":
                                           {"a": [0, 1, 2]}})])
    assert bounded.abstract == "" and bounded.doubts == ["abstract index of more than 2 words "
                                                         "ignored"]


def test_answers_that_hold_no_papers_are_one_chunk_saying_what_they_look_like():
    sightings, report = read_file(S2_EMPTY)
    assert report.layout is Layout.JSON and not sightings
    (chunk,) = report.rejected
    assert chunk.reason == "a JSON object with keys 'total', 'offset': no list of papers"
    (error,) = _read(json_document, ['{"error": "Paper not found", "message": "Not found"}'])
    assert error.reason == "a JSON object with keys 'error', 'message': no list of papers"
    (empty,) = _read(json_document, ["{", '  "data": []', "}"])
    assert empty.reason == "a JSON object whose 'data' is an empty list: no papers"
    assert (empty.line, empty.lines) == (1, 3)
    (nothing,) = _read(json_document, ["[]"])
    assert nothing.reason == "an empty JSON list: no papers"
    assert detect_layout(['{"error": "Paper with id 0 not found"}']) is Layout.JSON


def test_objects_run_together_on_one_line_each_count():
    a, b = (json.dumps({"id": f"2401.0000{i}", "title": f"T{i}", "abstract": "A."}) for i in (1, 2))
    lines = [a + b, f"{a} {b}  ", a, f"{a} not json"]
    items = _read(jsonl, lines)
    assert [getattr(item, "arxiv_id", None) for item in items] == [
        "2401.00001", "2401.00002", "2401.00001", "2401.00002", "2401.00001", None]
    assert [item.source.line for item in items[:5]] == [1, 1, 2, 2, 3]
    assert items[-1].line == 4 and items[-1].reason.startswith("not valid JSON")
    (deep,) = _read(jsonl, ['{"a": 1}' + "[" * 5000 + "]" * 5000])
    assert deep.reason.startswith("not valid JSON")


def test_too_many_objects_on_one_line_are_refused(monkeypatch):
    monkeypatch.setattr(jsonl, "MAX_VALUES_PER_LINE", 3)
    (chunk,) = _read(jsonl, ['{"title": "T"}' * 5])
    assert chunk.reason == "more than 3 JSON values on one line"
    assert len(_read(jsonl, ['{"title": "T"}' * 3])) == 3


def test_a_malformed_document_is_one_chunk_naming_its_line(monkeypatch):
    lines = list(read_lines(OPENALEX_PAGE))
    lines[9] = lines[9] + ","  # a stray comma after the first result's opening brace, line 10
    (chunk,) = _read(json_document, lines)
    assert chunk.reason.startswith("not valid JSON at line 10")
    assert (chunk.line, chunk.lines) == (1, len(lines))
    (deep,) = _read(json_document, ["[" * 40 + "]" * 40])
    assert "nested more than" in deep.reason
    monkeypatch.setattr(json_values, "MAX_DOCUMENT_BYTES", 10)
    (big,) = _read(json_document, ["[", '  {"title": "long enough"}', "]"])
    assert big.reason.startswith("a JSON document larger than")


def test_arxiv_api_and_semantic_scholar_citation_shapes():
    api = {"id": "http://arxiv.org/abs/2403.05530v2", "title": "Gemini 1.5",
           "summary": "We present\n  Gemini.", "published": "2024-03-08T17:59:59Z",
           "authors": [{"name": "Petko Georgiev"}], "arxiv_comment": "Code: https://github.com/x/y"}
    cited = {"contexts": [], "citingPaper": {"paperId": "p1", "title": "T", "abstract": "A.",
                                             "externalIds": {"ArXiv": "2405.19561"}, "year": 2024}}
    gemini, citing = _read(jsonl, [json.dumps(api), json.dumps(cited)])
    assert gemini.arxiv_id == "2403.05530" and gemini.abstract == "We present Gemini."
    assert gemini.date == dt.date(2024, 3, 8) and gemini.authors == ["Petko Georgiev"]
    assert gemini.has_code
    assert citing.arxiv_id == "2405.19561" and citing.date == dt.date(2024, 1, 1)


def test_accents_decoded_outside_math_only():
    assert json_record.decode_accents(r"Bal\'azs, {\"o}, \v{S}r\'amek, \ss") == (
        "Balázs, ö, Šrámek, ß")
    kept = r"$\'x + \bar{y}$ and \(\v{x}\) at 50% of \$5"
    assert json_record.decode_accents(kept) == kept
