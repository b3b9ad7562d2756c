"""arXiv's XML: saved API responses (Atom) and OAI-PMH harvests (arXiv, arXivRaw, oai_dc) read
with their named records, every record at its start tag's line, and the hostile or broken
documents refused plainly."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import Layout
from bot.ingest import detect_layout, read_file, read_lines
from bot.ingest.readers import arxiv_xml
from bot.ingest.sighting import Sighting
from tests.helpers.spans import covered_lines

DATA = Path(__file__).parent / "data" / "arxiv-xml"
ATOM = DATA / "arxiv-api-del-maestro.xml"
ARXIV_RAW = DATA / "oai-arxivraw-listrecords.xml"
ARXIV = DATA / "oai-arxiv-listrecords.xml"
DUBLIN_CORE = DATA / "oai-dc-written.xml"
NO_RECORDS = DATA / "oai-error-no-records-match.xml"
SAMPLES = [ATOM, ARXIV_RAW, ARXIV, DUBLIN_CORE, NO_RECORDS]
ATOM_OPEN = '<feed xmlns="http://www.w3.org/2005/Atom">'
OAI_OPEN = '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
BOMB = ['<?xml version="1.0"?>', "<!DOCTYPE feed [", ' <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaa">',
        *(f' <!ENTITY {b} "{("&" + a + ";") * 10}">' for a, b in zip("abcdefgh", "bcdefghi",
                                                                   strict=True)),
        "]>", ATOM_OPEN, "<entry><title>&i;</title><summary>&i;</summary></entry>", "</feed>"]


def _items(path: Path) -> list:
    return list(arxiv_xml.read(read_lines(path), str(path)))


def _read(lines: list[str]) -> list:
    return list(arxiv_xml.read(lines, "inline.xml"))


def _sightings(items: list) -> list[Sighting]:
    return [item for item in items if isinstance(item, Sighting)]


def _chunks(items: list) -> list:
    return [item for item in items if not isinstance(item, Sighting)]




def _nonblank(lines: list[str]) -> set[int]:
    return {n for n, line in enumerate(lines, start=1) if line.strip()}


def _by_id(path: Path) -> dict[str, Sighting]:
    return {s.arxiv_id: s for s in _sightings(_items(path))}


@pytest.mark.parametrize("path", SAMPLES)
def test_saved_responses_are_detected_as_arxiv_xml(path):
    assert detect_layout(read_lines(path)) is Layout.ARXIV_XML


def test_other_files_are_not_taken_for_arxiv_xml():
    assert not arxiv_xml.sniff(['{"id": "2403.05530", "title": "T", "abstract": "A."}'])
    assert not arxiv_xml.sniff(["@article{key,", "title = {T},"])
    assert not arxiv_xml.sniff(["<html>", "<body>Retry after 10 seconds</body>"])
    assert not arxiv_xml.sniff(['<?xml version="1.0"?>', "<rss><channel>"])
    assert arxiv_xml.sniff(['<?xml version="1.0"?>', OAI_OPEN])
    assert arxiv_xml.sniff(["<feed", 'xmlns="http://www.w3.org/2005/Atom">'])
    csl = '[{"id": "a", "type": "book", "title": "T", "issued": {}}]'
    assert detect_layout([csl]) is Layout.CSL_JSON


def test_api_feed_entries_fields():
    entries = _by_id(ATOM)
    assert list(entries) == ["1201.4869", "cond-mat/0412498", "cond-mat/0603029", "1005.5383"]
    luttinger, melting, stripes = (entries[i] for i in
                                   ("1201.4869", "cond-mat/0412498", "cond-mat/0603029"))
    assert (luttinger.source.line, luttinger.last_line) == (10, 48)
    assert luttinger.source.layout is Layout.ARXIV_XML
    assert luttinger.title == "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    assert luttinger.authors == ["Adrian Del Maestro"]
    assert luttinger.date == dt.date(2012, 1, 23)
    assert luttinger.abstract.startswith("As helium-4 is cooled below 2.17 K it undergoes a "
                                         "phase transition to a fundamentally new state")
    assert luttinger.categories == ["cond-mat.mes-hall", "cond-mat.other"]
    assert luttinger.comment == "26 pages, 10 figures"
    assert luttinger.doi == "10.1142/s021797921244002x"
    assert luttinger.venue == "Int. J. Mod. Phys. B, 26, 1244002 (2012)"
    assert luttinger.url == "http://arxiv.org/abs/1201.4869v1"

    assert melting.source.line == 49
    assert melting.authors == ["Adrian Del Maestro", "Subir Sachdev"]
    assert stripes.title == ("From stripe to checkerboard order on the square lattice in the "
                             "presence of quenched disorder")  # wrapped in the file
    assert stripes.categories == ["cond-mat.str-el", "cond-mat.supr-con"]
    assert stripes.comment == "10 pages, 11 figures; added reference"
    assert entries["1005.5383"].last_line == 151  # the last one runs to the closing tag


def test_api_feed_header_says_the_query_matched_more_than_the_file_holds():
    header = _chunks(_items(ATOM))[0]
    assert (header.line, header.lines) == (1, 9)
    assert "matched 31 papers" in header.reason and "1 to 10" in header.reason


def test_the_date_is_the_first_versions_not_the_latest():
    feed = [ATOM_OPEN, "<entry>", "<id>http://arxiv.org/abs/1111.2011v2</id>",
            "<updated>2012-04-02T12:38:54Z</updated>",
            "<published>2011-11-08T18:48:36Z</published>",
            "<title>Quantum Criticality for Extended Nodes</title>", "<summary>S.</summary>",
            "</entry>", "</feed>"]
    assert _sightings(_read(feed))[0].date == dt.date(2011, 11, 8)
    farkas = _by_id(ARXIV_RAW)["0704.0874"]  # three versions, the last in 2014
    assert farkas.date == dt.date(2007, 4, 6)


def test_arxiv_raw_records_fields():
    records = _by_id(ARXIV_RAW)
    assert list(records) == ["0704.0471", "0704.0716", "0704.0874", "0704.1109"]
    shetty, richard = records["0704.0471"], records["0704.0716"]
    assert (shetty.source.line, shetty.last_line) == (6, 31)
    assert shetty.title == ("Density dependence of the symmetry energy and the nuclear equation "
                            "of state: A Dynamical and Statistical model perspective")
    assert shetty.authors == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    assert shetty.date == dt.date(2007, 4, 3)
    assert shetty.categories == ["nucl-ex", "nucl-th"]
    assert shetty.comment == "16 pages, 14 figures"
    assert shetty.doi == "10.1103/physrevc.76.024606"  # the first of the two it lists
    assert shetty.venue == "Phys.Rev.C76:024606,2007; Erratum-ibid.C76:039902,2007"
    assert shetty.abstract.startswith("The density dependence of the symmetry energy")
    assert '" stiff "' in shetty.abstract  # &quot; read as a quote
    assert shetty.url == "https://arxiv.org/abs/0704.0471"

    assert richard.source.line == 32
    assert richard.authors == ["Christoph Richard"]
    assert richard.date == dt.date(2007, 4, 5)  # v1 of four
    assert richard.comment == ("54 pages, 2 figures; v2 updated and slightly expanded; v3 "
                               "changes in some proofs; v4 slightly expanded")
    assert richard.doi is None


def test_resumption_token_is_reported_with_the_size_of_the_harvest():
    token = _chunks(_items(ARXIV_RAW))[-1]
    assert (token.line, token.lines) == (96, 3)
    assert "726959|1001" in token.reason and "58,011" in token.reason


def test_arxiv_format_records_fields():
    records = _by_id(ARXIV)
    kochen = records["1412.8544"]
    assert kochen.source.line == 6
    assert kochen.title == "A Kochen-Specker system has at least 22 vectors (extended abstract)"
    assert kochen.authors == ["Sander Uijlen", "Bas Westerbaan"]
    assert kochen.organisations == ["Radboud Universiteit"]
    assert kochen.date == dt.date(2014, 12, 29)
    assert kochen.categories == ["cs.DM"]
    assert kochen.comment == "In Proceedings QPL 2014, arXiv:1412.8102"
    assert kochen.venue == "EPTCS 172, 2014, pp. 154-164"
    assert kochen.doi == "10.4204/eptcs.172.11"
    assert kochen.abstract.startswith("At the heart of the Conway-Kochen Free Will theorem")
    planck = records["hep-th/9504118"]
    assert planck.source.line == 31
    assert planck.authors == ["M. Requardt"]
    assert planck.date == dt.date(1995, 4, 24)


def test_dublin_core_records_fields_accents_and_deleted_record():
    items = _items(DUBLIN_CORE)
    lyapunov, written = _sightings(items)
    assert lyapunov.arxiv_id == "acc-phys/9411001" and lyapunov.source.line == 6
    assert lyapunov.title == "Symplectic Computation of Lyapunov Exponents"
    assert lyapunov.authors == ["Salman Habib", "Robert D. Ryne"]
    assert lyapunov.date == dt.date(1994, 10, 31)
    assert lyapunov.comment == "12 pages, uuencoded PostScript (figures included)"
    assert lyapunov.abstract.startswith("A recently developed method for the calculation")
    assert lyapunov.keywords == ["Accelerator Physics"]

    assert written.source.line == 41
    assert written.authors == ["Balázs Szegedy", "Anna Müller"]  # TeX accents decoded
    assert written.date == dt.date(2024, 3, 8)  # the first of its versions' dates
    assert written.doi == "10.48550/arxiv.2403.05530"

    deleted = [chunk for chunk in _chunks(items) if "deleted" in chunk.reason]
    assert [(chunk.line, chunk.lines) for chunk in deleted] == [(34, 7)]
    assert "oai:arXiv.org:acc-phys/9502001" in deleted[0].reason


def test_no_records_match_error_is_reported_plainly():
    sightings, report = read_file(NO_RECORDS)
    assert sightings == []
    error = report.rejected[-1]
    assert error.line == 5
    assert error.reason.startswith("the OAI-PMH server found no records matching the request")
    assert "noRecordsMatch" in error.reason and "'moo'" in error.reason


@pytest.mark.parametrize("path", SAMPLES)
def test_every_record_is_at_its_start_tag_and_the_counts_add_up(path):
    lines = list(read_lines(path))
    items = _items(path)
    for sighting in _sightings(items):
        assert lines[sighting.source.line - 1].strip().startswith(("<entry>", "<record>"))
    assert _nonblank(lines) <= covered_lines(items)
    sightings, report = read_file(path)
    assert report.layout is Layout.ARXIV_XML
    assert report.records == len(sightings) == len(_sightings(items))
    assert report.rejected_count == len(_chunks(items))
    units = sum(line.strip().startswith(("<entry>", "<record>", "<resumptionToken", "<error"))
                for line in lines)
    assert report.records + report.rejected_count == units + 1  # and the header


def test_a_malformed_document_keeps_the_records_before_the_error():
    lines = list(read_lines(ATOM))
    broken = lines[:]
    broken[99] = broken[99] + "</wrong>"  # inside the third entry
    items = _read(broken)
    assert [s.arxiv_id for s in _sightings(items)] == ["1201.4869", "cond-mat/0412498"]
    failure = _chunks(items)[-1]
    assert (failure.line, failure.lines) == (81, len(lines) - 80)  # from the third entry on
    assert failure.reason.startswith("not well-formed XML at line 100")
    assert "mismatched tag" in failure.reason
    assert _nonblank(broken) <= covered_lines(items)


def test_a_truncated_document_is_reported_as_cut_short():
    lines = list(read_lines(ARXIV_RAW))[:60]  # a download cut inside the third record
    items = _read(lines)
    assert [s.arxiv_id for s in _sightings(items)] == ["0704.0471", "0704.0716"]
    assert _sightings(items)[1].last_line == 52
    failure = _chunks(items)[-1]
    assert (failure.line, failure.lines) == (53, 8)
    assert "cut short" in failure.reason


def test_an_entity_bomb_is_refused_unexpanded():
    started = time.perf_counter()
    items = _read(BOMB)
    assert time.perf_counter() - started < 1
    assert len(items) == 1
    chunk = items[0]
    assert (chunk.line, chunk.lines) == (1, len(BOMB))
    assert chunk.reason.startswith("a DTD (document type declaration) at line 2: refused")
    external = ['<?xml version="1.0"?>', '<!DOCTYPE feed SYSTEM "http://example.org/x.dtd">',
                ATOM_OPEN, "<entry><title>T</title></entry>", "</feed>"]
    assert [chunk.reason.split(":")[0] for chunk in _read(external)] == [
        "a DTD (document type declaration) at line 2"]


def test_limits_on_size_and_depth(monkeypatch):
    deep = [OAI_OPEN + "<a>" * 40 + "</a>" * 40 + "</OAI-PMH>"]
    assert [c.reason for c in _read(deep)] == [f"XML nested more than {arxiv_xml.MAX_DEPTH} deep"]
    monkeypatch.setattr(arxiv_xml, "MAX_BYTES", 2000)
    items = _items(ATOM)
    assert [s.arxiv_id for s in _sightings(items)] == []
    assert "larger than" in _chunks(items)[-1].reason
    assert _nonblank(list(read_lines(ATOM))) <= covered_lines(items)


def test_title_without_abstract_is_kept_and_neither_is_rejected(tmp_path):
    path = tmp_path / "harvest.xml"
    path.write_text("\n".join([
        OAI_OPEN, "<ListRecords>",
        "<record><header><identifier>oai:arXiv.org:0704.1000</identifier></header>",
        '<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>0704.1000</id>',
        "<created>2007-04-999</created><title>Only a title</title></arXiv></metadata>",
        "</record>",
        "<record><header><identifier>oai:arXiv.org:0704.1001</identifier></header>",
        '<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>0704.1001</id></arXiv>',
        "</metadata></record>", "</ListRecords>", "</OAI-PMH>"]))
    sightings, report = read_file(path)
    assert [(s.title, s.abstract, s.source.line) for s in sightings] == [("Only a title", "", 3)]
    assert [(r.line, r.reason) for r in report.rejected] == [
        (1, "the OAI-PMH response's header (its date and request): no paper in it"),
        (7, "no title and no abstract")]
    assert report.warnings[0].reason == "date '2007-04-999' ignored: not a readable date"


def test_api_errors_other_formats_and_empty_responses_are_reported():
    api_error = [ATOM_OPEN, "<entry>",
                 "<id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345v3</id>",
                 "<title>Error</title>", "<summary>incorrect id format for 1234.12345v3</summary>",
                 "</entry>", "</feed>"]
    assert _chunks(_read(api_error))[-1].reason == (
        "the arXiv API answered with an error: incorrect id format for 1234.12345v3")
    marc = [OAI_OPEN, "<GetRecord><record><header/><metadata><marc/></metadata></record>",
            "</GetRecord></OAI-PMH>"]
    assert "'marc' format" in _chunks(_read(marc))[-1].reason
    empty = [ATOM_OPEN, '<opensearch:totalResults xmlns:opensearch="x">0</opensearch:totalResults>',
             "</feed>"]
    assert [(c.line, c.lines, c.reason) for c in _read(empty)] == [
        (1, 3, "an arXiv API feed with no entries: the query matched nothing")]
    identifiers = [OAI_OPEN, '<request verb="ListIdentifiers">x</request>',
                   "<ListIdentifiers><header><identifier>i</identifier></header></ListIdentifiers>",
                   "</OAI-PMH>"]
    assert "ListIdentifiers response: no records" in _read(identifiers)[0].reason
    assert "neither an arXiv API feed nor an OAI-PMH response" in _read(["<html></html>"])[0].reason


def test_records_on_one_line_share_it():
    one_line = [OAI_OPEN + "<GetRecord>" + "".join(
        f"<record><header/><metadata><arXivRaw xmlns='http://arxiv.org/OAI/arXivRaw/'>"
        f"<id>2403.0553{n}</id><title>T{n}</title><abstract>A{n}.</abstract>"
        "<authors>Bal\\'azs Szegedy and A. Other</authors></arXivRaw></metadata></record>"
        for n in range(3)) + "</GetRecord></OAI-PMH>"]
    sightings = _sightings(_read(one_line))
    assert [(s.arxiv_id, s.source.line, s.last_line) for s in sightings] == [
        ("2403.05530", 1, 1), ("2403.05531", 1, 1), ("2403.05532", 1, 1)]
    assert sightings[0].authors == ["Balázs Szegedy", "A. Other"]


SEED_LINES = [line for path in SAMPLES for line in path.read_text(encoding="utf-8").splitlines()]


@settings(max_examples=100, deadline=2000,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=st.lists(st.one_of(st.sampled_from(SEED_LINES), st.text(max_size=80).map(
    lambda s: s.replace("\n", " ").replace("\r", " "))), max_size=40))
def test_any_lines_are_read_or_rejected_and_every_line_accounted_for(lines):
    items = _read(lines)
    assert _nonblank(lines) <= covered_lines(items)
    for item in items:
        first = item.source.line if isinstance(item, Sighting) else item.line
        assert 1 <= first <= len(lines)
