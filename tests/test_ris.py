"""RIS and Web of Science tagged exports: a real Zotero export, a real Web of Science export
and a small written one with malformed entries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot import Layout
from bot.ingest import detect_layout, read_file, read_lines
from bot.ingest.readers import ris

DATA = Path(__file__).parent / "data" / "ris"
ZOTERO = DATA / "asreview-pubmed-zotero.ris"
WOS = DATA / "rispy-web-of-science.txt"
WRITTEN = DATA / "written-malformed.ris"


def uncovered(path: Path) -> list[int]:
    """The non-blank lines that no record's and no rejected chunk's span holds."""
    sightings, report = read_file(path)
    covered = {n for s in sightings for n in range(s.source.line, s.last_line + 1)}
    covered |= {n for r in report.rejected for n in range(r.line, r.line + r.lines)}
    return [n for n, line in enumerate(read_lines(path), start=1)
            if line.strip() and n not in covered]


def test_exports_are_detected_as_ris():
    for path in (ZOTERO, WOS, WRITTEN):
        assert detect_layout(read_lines(path)) is Layout.RIS
    # A database's banner may come first, a few lines of it.
    assert ris.sniff(["Record #1 of 2", "Provider: Provider", "1.", "TY  - JOUR"])
    assert not ris.sniff(["@article{key,", "title = {A}", "year = 2020", "note = {x}", "}",
                          "TY  - JOUR"])
    assert not ris.sniff(["title,abstract"])


def test_a_zotero_entry_is_a_record_with_its_fields():
    sightings, report = read_file(ZOTERO)
    assert report.layout is Layout.RIS and report.rejected == [] and report.warnings == []
    obesity = sightings[1]
    assert (obesity.source.line, obesity.last_line) == (26, 48)
    assert obesity.title == ("Outcomes of inflammatory bowel disease surgery in obese versus "
                             "non-obese patients: a meta-analysis.")
    assert obesity.authors == ["G. Hicks", "A. Abdulaal", "A. A. P. Slesser", "Y. Mohsen"]
    assert obesity.date == dt.date(2019, 10, 1)  # DA  - 2019/10//undefined
    assert obesity.doi == "10.1007/s10151-019-02080-0"
    assert obesity.venue == "Techniques in coloproctology"
    assert obesity.entry_type == "jour"
    assert obesity.keywords == ["Inflammatory bowel disease", "Obesity",
                                "Perioperative outcomes", "Surgery"]
    assert obesity.abstract.startswith("BACKGROUND: Obesity is considered a risk factor")
    assert sightings[0].date == dt.date(2019, 1, 1)  # DA  - 2019///
    assert sightings[3].date == dt.date(2019, 7, 24)  # DA  - 2019/07/24/


def test_a_web_of_science_record_is_a_record_with_its_fields():
    sightings, report = read_file(WOS)
    # FN, VR and EF are the file's own lines: nothing to report.
    assert report.layout is Layout.RIS and report.rejected == []
    first, second = sightings
    assert (first.source.line, first.last_line, second.source.line) == (3, 110, 112)
    assert first.title == ("Interactions stabilizing the structure of the core light-harvesting "
                           "complex (LHl) of photosynthetic bacteria and its subunit (B820)")
    assert first.authors == ["PS Parkes-Loach", "AP Majeed", "CJ Law", "PA Loach"]
    assert first.date == dt.date(2004, 6, 8)  # PY 2004, PD JUN 8
    assert first.doi == "10.1021/bi049798f"
    assert first.venue == "BIOCHEMISTRY"
    assert first.entry_type == "article"
    assert first.source_id == "WOS:000221807500019"
    assert first.keywords[:2] == ["CHEMICALLY SYNTHESIZED POLYPEPTIDES", "IN-VITRO RECONSTITUTION"]
    assert first.abstract.startswith("Reconstitution experiments with a chemically synthesized")
    assert second.title.startswith("Proximal and distal influences on ligand binding kinetics")


def test_every_line_is_in_a_record_or_a_rejected_chunk_and_the_counts_add_up():
    assert uncovered(ZOTERO) == uncovered(WRITTEN) == []
    # Web of Science's FN and VR header and EF footer are the file's own, not records.
    wos_lines = list(read_lines(WOS))
    assert [wos_lines[n - 1][:2] for n in uncovered(WOS)] == ["FN", "VR", "EF"]
    for path in (ZOTERO, WOS, WRITTEN):
        sightings, report = read_file(path)
        openings = sum(line.startswith(("TY  - ", "PT ")) for line in read_lines(path))
        entries = [r for r in report.rejected if "outside" not in r.reason]
        assert len(sightings) + len(entries) == openings, path
    assert len(read_file(ZOTERO)[0]) == 6


def test_an_arxiv_preprint_with_a_wrapped_abstract():
    sightings, _ = read_file(WRITTEN)
    attention = sightings[0]
    assert attention.title == "Attention Is All You Need"
    assert attention.authors == ["Ashish Vaswani", "Noam Shazeer"]
    assert attention.arxiv_id == "1706.03762"
    assert attention.url == "http://arxiv.org/abs/1706.03762"
    assert attention.date == dt.date(2017, 6, 12)
    assert attention.cite_key == "vaswani2017"
    assert attention.abstract == ("The dominant sequence transduction models are based on "
                                  "complex recurrent or convolutional neural networks.")


def test_malformed_entries_are_reported_with_their_lines_and_the_rest_is_read():
    sightings, report = read_file(WRITTEN)
    assert [s.source.line for s in sightings] == [4, 21, 34]
    assert [(r.line, r.lines, r.reason) for r in report.rejected] == [
        (1, 2, "text outside any RIS entry"),
        (17, 3, "RIS entry not closed by an ER line before the next one opens"),
        (30, 3, "a RIS entry with no title and no abstract"),
        (42, 3, "RIS entry not closed by an ER line before the file ends")]
    assert report.rejected[1].text == "TY  - JOUR"


def test_a_titled_entry_without_an_abstract_is_kept_with_an_empty_abstract():
    sightings, _ = read_file(WRITTEN)
    untitled = sightings[1]
    assert untitled.title == "A Titled Paper Without an Abstract"
    assert untitled.abstract == ""
    assert untitled.authors == ["Ann Smith", "Bob Jones"]
    assert untitled.venue == "Proceedings of the Workshop on Written Samples"
    assert untitled.doi == "10.1000/xyz.123"
    assert untitled.date == dt.date(2019, 1, 1)


def test_an_impossible_year_is_a_warning_and_an_arxiv_venue_gives_the_id():
    sightings, report = read_file(WRITTEN)
    goedel = sightings[2]
    assert goedel.date is None and goedel.arxiv_id == "2103.00020"
    assert goedel.authors == ["Jörg Müller"]
    assert [(w.line, w.reason) for w in report.warnings] == [(34, "PY '1066' ignored: before 1450")]


def test_an_entry_too_large_is_rejected_unread_and_the_next_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(ris, "MAX_ENTRY_BYTES", 1000)
    path = tmp_path / "large.ris"
    long_entry = ["TY  - JOUR", "TI  - Huge", *[f"N1  - note {n} " + "x" * 40 for n in range(50)],
                  "ER  - "]
    path.write_text("\n".join([*long_entry, "TY  - JOUR", "TI  - Small", "AB  - Fine.", "ER  - "]))
    sightings, report = read_file(path)
    assert [(r.line, r.lines, r.reason) for r in report.rejected] == [
        (1, 53, "a RIS entry larger than 1,000 bytes: not read")]
    assert [(s.title, s.source.line) for s in sightings] == [("Small", 54)]
