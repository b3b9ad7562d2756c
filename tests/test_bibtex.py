"""BibTeX bibliographies: a real homepage's papers.bib and a small written one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot import Layout
from bot.ingest import detect_layout, read_file

DATA = Path(__file__).parent / "data" / "bibtex"
AL_FOLIO = DATA / "al-folio-papers.bib"
WRITTEN = DATA / "written-malformed.bib"


def test_bibliographies_are_detected_as_bibtex():
    for path in (AL_FOLIO, WRITTEN):
        assert detect_layout(path.read_text(encoding="utf-8").splitlines()) == Layout.BIBTEX


def test_an_entry_with_an_abstract_is_a_record_with_its_fields():
    sightings, report = read_file(AL_FOLIO)
    assert report.layout == Layout.BIBTEX
    (epr,) = [s for s in sightings if s.abstract]
    assert epr.cite_key == "PhysRev.47.777"
    assert epr.title == ("Can Quantum-Mechanical Description of Physical Reality Be "
                         "Considered Complete?")
    assert epr.authors == ["A. Einstein", "B. Podolsky", "N. Rosen"]
    assert epr.date == dt.date(1935, 5, 1)
    assert epr.doi == "10.1103/physrev.47.777"
    assert epr.venue == "Phys. Rev."  # the file's `journal = {Phys. Rev.,}`
    assert epr.entry_type == "article"
    assert epr.abstract.startswith("In a complete theory there is an element")
    assert (epr.source.line, epr.last_line) == (28, 48)


def test_entries_without_abstract_are_kept_by_title_and_the_counts_add_up():
    sightings, report = read_file(AL_FOLIO)
    title_only = [s for s in sightings if not s.abstract]
    assert [s.source.line for s in title_only] == [6, 15, 50, 61, 71, 77]
    assert report.title_only == 6
    assert all(s.title for s in title_only)
    entries = sum(line.startswith(("@book", "@article")) for line in
                  AL_FOLIO.read_text(encoding="utf-8").splitlines())
    assert len(sightings) == entries == 7
    # The Jekyll front matter is reported, not dropped silently.
    assert [(r.line, r.reason) for r in report.rejected] == [
        (1, "text outside any BibTeX entry")]


def test_latex_accents_arxiv_eprint_and_the_rest_of_the_record():
    sightings, _ = read_file(WRITTEN)
    notes = next(s for s in sightings if s.cite_key == "mueller2021notes")
    assert notes.title == "Notes on Transformers for Gödel Numbering"
    assert notes.authors == ["Jörg Müller", "François Le Guérin"]
    assert notes.authors_truncated
    assert notes.arxiv_id == "2103.00020"
    assert notes.date == dt.date(2021, 3, 1)
    assert notes.keywords == ["transformers", "logic", "numbering"]
    assert notes.abstract == ("We study how transformers learn Gödel numberings. "
                              "They learn them slowly.")


def test_a_malformed_entry_is_reported_with_its_line_and_the_rest_read():
    sightings, report = read_file(WRITTEN)
    assert [s.cite_key for s in sightings] == ["mueller2021notes", "sound2019"]
    (broken,) = report.rejected
    assert broken.line == 15 and broken.reason.startswith("malformed BibTeX entry")
    assert broken.text.startswith("@article{broken2020")
    sound = sightings[1]
    assert (sound.venue, sound.doi, sound.arxiv_id) == (
        "Proceedings of the Workshop on Sound Entries", "10.1000/xyz.123", "1901.00001")
    assert sound.authors == ["Ann Smith", "Bob Jones"]
    assert sound.date == dt.date(2019, 1, 1)
