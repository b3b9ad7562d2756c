"""Ingest on the real seed files, every layout, merging, and broken input."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from bot import IngestError, Layout, ingest
from bot.ingest import detect_layout, read_file, read_lines, readers
from bot.ingest.names import split_title_authors
from bot.paperbot import SEED_DIR
from bot.reporting import Reporter


@pytest.fixture(scope="module")
def seed():
    return ingest([SEED_DIR])


def _paper(corpus, title_start):
    found = [p for p in corpus.papers if p.title and p.title.startswith(title_start)]
    assert len(found) == 1, f"{len(found)} papers titled {title_start!r}…"
    return found[0]


def test_seed_counts_per_file_and_layout(seed):
    rows = [(f.file.rsplit("/", 1)[-1][:3], f.layout, f.records, len(f.rejected))
            for f in seed.report.files]
    assert rows == [
        ("000", Layout.LISTING, 15, 0),
        ("001", Layout.LISTING, 17, 0),
        ("002", Layout.LISTING, 34, 0),
        ("003", Layout.ABSTRACT_LINES, 10, 0),
        ("004", Layout.ARXIV_LISTING, 10, 0),
    ]
    assert seed.report.records == 86
    assert seed.report.merged == 18
    assert seed.report.papers == len(seed.papers) == 68
    assert not any(f.warnings for f in seed.report.files)


def test_every_listing_byline_splits_into_title_and_plausible_authors(seed_files):
    for path in seed_files[:3]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for byline in lines[1::3]:
            split = split_title_authors(byline)
            assert split is not None, byline
            title, authors = split
            assert title + authors == byline


@pytest.mark.parametrize(("title", "first_author"), [
    ("Gemini 2.5: Pushing the Frontier with Advanced Reasoning, Multimodality, Long Context, "
     "and Next Generation Agentic Capabilities", "Gheorghe Comanici"),
    ('Is coding a relevant metaphor for building AI? A commentary on "Is coding a relevant '
     'metaphor for the brain?", by Romain Brette', "Adam Santoro"),
    ("Creating Multimodal Interactive Agents with Imitation and Self-Supervised Learning",
     "DeepMind Interactive Agents Team"),
    ("Gemini: A Family of Highly Capable Multimodal Models", "Gemini Team"),
    ("Balancing Constraints and Rewards with Meta-Gradient D4PG", "Dan A. Calian"),
    ("A maximum-entropy approach to off-policy evaluation in average-reward MDPs",
     "Nevena Lazic"),
    ("Rotting Bandits", "Nir Levine"),
])
def test_title_author_split_on_hard_cases(seed, title, first_author):
    paper = _paper(seed, title)
    assert paper.title == title
    assert paper.authors[0] == first_author


def test_author_list_details(seed):
    gemini25 = _paper(seed, "Gemini 2.5")
    assert gemini25.authors == ["Gheorghe Comanici", "Eric Bieber", "Mike Schaekermann"]
    assert gemini25.authors_truncated
    assert gemini25.organisations == ["amazon-science", "baidu"]
    assert gemini25.categories == ["cs.CL"]
    assert str(gemini25.date) == "2025-07-07"
    rotting = _paper(seed, "Rotting Bandits")
    assert not rotting.authors_truncated and rotting.categories == ["stat.ML"]
    assert _paper(seed, "Relational inductive biases").has_code
    assert not _paper(seed, "Mixture-of-Depths").has_code


def test_gemini_15_seen_three_times_is_one_paper(seed):
    paper = _paper(seed, "Gemini 1.5")
    assert paper.id == paper.arxiv_id == "2403.05530"
    assert [s.file.rsplit("/", 1)[-1][:3] for s in paper.sources] == ["001", "003", "004"]
    assert len(paper.all_abstracts()) == 2
    assert any(a.startswith("In this report, we introduce the Gemini 1.5 family")
               for a in paper.all_abstracts())
    assert any(a.startswith("In this report, we present the latest model of the Gemini family")
               for a in paper.all_abstracts())
    assert len(paper.authors) > 100 and not paper.authors_truncated  # the full list from 004
    assert paper.arxiv_url == "https://arxiv.org/abs/2403.05530"


def test_gemini_10_near_identical_abstracts_merge(seed):
    paper = _paper(seed, "Gemini: A Family of Highly Capable Multimodal Models")
    assert len(paper.sources) == 2 and len(paper.abstract_versions) == 1


def test_papers_sharing_opening_sentences_stay_apart(seed):
    creating = _paper(seed, "Creating Multimodal Interactive Agents")
    imitating = _paper(seed, "Imitating Interactive Intelligence")
    assert creating.id != imitating.id
    for paper in (creating, imitating):
        assert paper.abstract.startswith("A common vision from science fiction")


def test_arxiv_listing_comments_are_not_abstracts(seed):
    by_id = {p.arxiv_id: p for p in seed.papers if p.arxiv_id}
    assert by_id["2104.01655"].comment == "Published at ICLR 2021"
    assert by_id["2203.17138"].comment.startswith("30 pages, 9 figures")
    assert by_id["2110.10819"].comment == "DeepMind Tech Report, 16 pages, 4 figures"
    assert by_id["2102.10264"].comment == "Pre-print"
    for paper in by_id.values():
        assert len(paper.abstract) > 300
        assert paper.comment is None or paper.comment not in paper.abstract


def test_untitled_papers_are_named_honestly(seed):
    untitled = [p for p in seed.papers if not p.title]
    assert untitled
    for paper in untitled:
        shown = paper.display_title
        assert shown.startswith(("arXiv:", 'Untitled — "'))
    assert any(p.display_title == "arXiv:2306.11706" for p in untitled)


def test_sources_point_at_file_and_line(seed):
    paper = _paper(seed, "Synthetic Returns for Long-Term Credit Assignment")
    locations = {(s.file.rsplit("/", 1)[-1][:3], s.line) for s in paper.sources}
    assert locations == {("000", 13), ("002", 37)}


def test_layout_detection_and_override(tmp_path, seed_files):
    assert [detect_layout(p.read_text(encoding="utf-8").splitlines()) for p in seed_files] == [
        Layout.LISTING, Layout.LISTING, Layout.LISTING, Layout.ABSTRACT_LINES,
        Layout.ARXIV_LISTING]
    sightings, report = read_file(seed_files[3], Layout.LISTING)
    assert not sightings and report.rejected  # wrong override: reported, nothing invented


def test_every_layout_has_one_reader_and_every_surface_names_it():
    assert sorted(r.layout for r in readers.READERS) == sorted(Layout)
    assert readers.layout_choices() == [x.value for x in Layout]
    assert readers.expected() == ("BibTeX, RIS, CSL-JSON, CSV, a JSON document of papers, JSON "
                                  "Lines, arXiv XML, an arXiv mailing, an arXiv page, an arXiv "
                                  "listing, a paper listing or 'Abstract:' lines")
    accepted = readers.accepted()
    assert all(r.described in accepted for r in readers.READERS)
    assert readers.upload_suffixes() == [".bib", ".ris", ".txt", ".json", ".csv", ".tsv",
                                         ".jsonl", ".xml", ".atom", ".eml", ".gz"]


def test_malformed_listing_blocks_are_reported_with_file_and_line(tmp_path, seed_files):
    lines = seed_files[0].read_text(encoding="utf-8").splitlines()
    broken = lines[:3] + ["stray text from a scraper"] + lines[3:5] + lines[6:]
    path = tmp_path / "broken.txt"
    path.write_text("\n".join(broken), encoding="utf-8")
    corpus = ingest([path])
    rejected = corpus.report.files[0].rejected
    assert [(r.line, r.reason.split(":")[0]) for r in rejected] == [
        (4, "1 line(s) outside any record (expected a category+date line such as 'LGJun 4, "
            "2018')"),
        (5, "record cut short")]
    assert all(str(r).startswith(f"{path}:") for r in rejected)
    assert [r.lines for r in rejected] == [1, 2]  # the cut-short record keeps its title line
    assert corpus.report.records == 14  # 15 records, the damaged one rejected
    assert "rejected" in corpus.report.render()


def test_jsonl_arxiv_and_beir_styles_gzipped_or_not(tmp_path):
    arxiv = {"id": "2503.11742", "title": "Safe  Vision-Language\n Models",
             "abstract": "Vision-language models inherit biases.\nWe fix it. Code: "
                         "https://github.com/x/y", "authors": ["Moreno D'Incà", "Elia Peruzzo"],
             "categories": ["cs.CV", "cs.AI"], "comment": "Work in progress",
             "listing_date": "2025-03-18"}
    beir = {"_id": "4983", "title": "", "text": "Alterations of white matter.", "metadata": {}}
    path = tmp_path / "papers.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(arxiv) + "\n" + json.dumps(beir) + "\n" + "{not json\n" + "[1]\n")
    corpus = ingest([path])
    first, second = corpus.papers
    assert first.id == "2503.11742" and first.title == "Safe Vision-Language Models"
    assert first.categories == ["cs.CV", "cs.AI"] and first.has_code
    assert str(first.date) == "2025-03-18" and first.authors[0] == "Moreno D'Incà"
    assert second.id == "4983" and second.title is None and second.arxiv_id is None
    assert [(r.line, r.reason.split(" (")[0]) for r in corpus.report.rejected] == [
        (3, "not valid JSON"), (4, "a JSON list, not an object")]


def test_a_large_gzipped_jsonl_streams_with_a_progress_bar(tmp_path, capsys):
    records = [{"id": f"2401.{i:05d}", "title": f"Paper {i}",
                "abstract": f"Abstract number {i} says something new. " * 20}
               for i in range(5000)]
    path = tmp_path / "big.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    sightings, report = read_file(path, reporter=Reporter.terminal())
    assert report.records == 5000 and sightings[-1].title == "Paper 4999"
    err = capsys.readouterr().err
    assert "reading big.jsonl.gz" in err and "100%" in err  # bytes read against the file size

    # Cut off its end: the first records still come out, so nothing held the whole file.
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    lines = read_lines(cut)
    assert json.loads(next(lines))["id"] == "2401.00000"
    lines.close()
    with pytest.raises(IngestError, match="cut.jsonl.gz: gzip data that is not a valid gzip "
                                          r"stream \(cut short"):
        read_file(cut)


def test_real_arxiv_slice_and_beir_corpus_read_cleanly(tmp_path):
    shared = SEED_DIR.parents[1].parent / "shared"
    arxiv = shared / "corpora" / "arxiv-cs-75k.jsonl.gz"
    scifact = shared / "eval" / "scifact" / "corpus.jsonl"
    if not arxiv.exists() or not scifact.exists():
        pytest.skip("../shared is not beside this checkout")
    head = tmp_path / "head.jsonl"
    with gzip.open(arxiv, "rt", encoding="utf-8") as fh:
        head.write_text("".join(next(fh) for _ in range(300)), encoding="utf-8")
    corpus = ingest([head])
    assert corpus.report.records == 300 and not corpus.report.rejected
    assert all(p.arxiv_id and p.title and p.date and p.categories for p in corpus.papers)
    sightings, report = read_file(scifact)
    assert report.records == 5183 and not report.rejected
    assert all(s.source_id and not s.arxiv_id for s in sightings)


def test_crlf_and_byte_order_mark(tmp_path, seed_files):
    text = seed_files[3].read_text(encoding="utf-8")
    path = tmp_path / "windows.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    corpus = ingest([path])
    assert corpus.report.records == 10 and not corpus.report.rejected
    assert not corpus.papers[0].abstract.endswith("\r")


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"\n\n   \n", "the file is empty"),
    (b"Dear diary,\ntoday nothing happened.\n", "no known layout"),
    (b"\x00\x9f\xff\xfe binary \x81\n", "binary data"),
])
def test_broken_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as caught:
        ingest([path])
    assert str(path) in str(caught.value)


def test_a_line_in_another_encoding_is_read_and_reported(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes("Abstract:Caf\u00e9 cr\u00e8me in UTF-8.\n".encode()
                     + b"Abstract:caf\xe9 au lait in Windows-1252 \x93quoted\x94.\n")
    corpus = ingest([path])
    assert [p.abstract for p in corpus.papers] == [
        "Caf\u00e9 cr\u00e8me in UTF-8.", "caf\u00e9 au lait in Windows-1252 \u201cquoted\u201d."]
    (warning,) = corpus.report.files[0].warnings
    assert warning.line == 2 and "not UTF-8" in warning.reason


def test_missing_path_and_empty_corpus(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        ingest([tmp_path / "nope.txt"])
    only_rejects = tmp_path / "rejects.txt"
    only_rejects.write_text("Abstract:\nAbstract:   \n", encoding="utf-8")
    with pytest.raises(IngestError, match="the corpus is empty"):
        ingest([only_rejects])


def test_an_unchanged_file_is_read_from_the_parse_cache_as_it_was_parsed(
        tmp_path, seed_files, monkeypatch, caplog):
    import importlib

    from bot.ingest import ParseCache

    ingest_module = importlib.import_module("bot.ingest")  # `bot.ingest` is also the function

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in seed_files:
        (corpus / path.name).write_bytes(path.read_bytes())
    cache = ParseCache(tmp_path / "parse-cache")
    parsed = ingest([corpus], parse_cache=cache)
    assert len(list(cache.folder.glob("*.json"))) == len(seed_files)

    parses = []
    real_read_file = ingest_module.read_file
    monkeypatch.setattr(ingest_module, "read_file",
                        lambda path, *a, **k: parses.append(path.name) or real_read_file(
                            path, *a, **k))
    again = ingest([corpus], parse_cache=cache)
    assert parses == []  # every file came from the cache
    assert again.papers == parsed.papers and again.report == parsed.report
    assert again.papers == ingest([corpus]).papers  # and equals a read without one
    parses.clear()

    # A changed file is parsed again; the entry of its old bytes is dropped.
    changed = sorted(corpus.iterdir())[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    ingest([corpus], parse_cache=cache)
    assert parses == [changed.name]
    assert len(list(cache.folder.glob("*.json"))) == len(seed_files)

    # A damaged entry is parsed again, with a warning, and rewritten.
    entry = next(cache.folder.glob("*.json"))
    entry.write_bytes(b'{"report": {"file": 3}, "sightings": [[')
    parses.clear()
    ingest([corpus], parse_cache=cache)
    assert len(parses) == 1 and "parsing" in caplog.text and "unusable" in caplog.text
    assert cache.get(entry.stem) is not None


def test_abstract_keys_are_the_same_in_every_process(tmp_path):
    """The keys merging compares abstracts by are kept in the parse cache, so they must not
    depend on the process (Python's own string hash is salted per process)."""
    import subprocess
    import sys

    from bot.ingest.merge import add_abstract_keys
    from bot.ingest.sighting import Sighting
    from bot.records import Source

    abstract = ("We propose a sparse mixture of experts that routes each token to two of "
                "sixty-four feed-forward networks, matching dense quality at a third of the cost.")
    reworded = abstract.replace("We propose", "We introduce")
    sightings = [Sighting(source=Source(file="x", line=1, layout="jsonl"), abstract=text)
                 for text in (abstract, reworded, "Too short.")]
    add_abstract_keys(sightings)
    keys = [s.abstract_keys for s in sightings]
    assert all(len(k.sketch) == 4 for k in keys[:2]) and len(keys[2].sketch) == 1
    assert set(keys[0].sketch) & set(keys[1].sketch)  # a rewording shares min-hash keys
    assert keys[0].words != keys[1].words

    script = ("import sys; from bot.ingest.merge import add_abstract_keys; "
              "from bot.ingest.sighting import Sighting; from bot.records import Source; "
              "s = [Sighting(source=Source(file='x', line=1, layout='jsonl'), "
              "abstract=sys.argv[1])]; "
              "add_abstract_keys(s); print(s[0].abstract_keys.words, *s[0].abstract_keys.sketch)")
    for seed in ("1", "2"):
        printed = subprocess.run([sys.executable, "-c", script, abstract], check=True,
                                 capture_output=True, text=True,
                                 env={**os.environ, "PYTHONHASHSEED": seed}).stdout.split()
        assert printed == [keys[0].words, *map(str, keys[0].sketch)]


@pytest.mark.parametrize(("raw", "doi"), [
    ("10.1038/nature14539", "10.1038/nature14539"),
    ("https://doi.org/10.1145/3292500.3330701", "10.1145/3292500.3330701"),
    ("http://dx.doi.org/10.1000/ABC.def.", "10.1000/abc.def"),
    ("doi: 10.48550/arXiv.1706.03762", "10.48550/arxiv.1706.03762"),
    ("not a doi", None), ("10.12/x", None), ("", None), (None, None),
])
def test_dois_are_normalised_as_resolvers_read_them(raw, doi):
    from bot.ingest.sighting import normalise_doi

    assert normalise_doi(raw) == doi


def _sighting(line: int, abstract: str, **fields):
    from bot.ingest.sighting import Sighting
    from bot.records import Source

    return Sighting(source=Source(file="refs.bib", line=line, layout=Layout.JSONL),
                    abstract=abstract, **fields)


def test_one_doi_is_one_paper_and_two_dois_are_never_merged():
    from bot.ingest.merge import build_paper, group_sightings

    sightings = [
        _sighting(1, "We study deep learning at length.", title="Deep learning",
                  doi="10.1038/nature14539", venue="Nature", cite_key="lecun2015"),
        _sighting(9, "A different wording of what deep learning does.",
                  doi="10.1038/nature14539", url="https://www.nature.com/articles/nature14539",
                  keywords=["neural networks"]),
        # The same title, another DOI: another paper (an erratum, a reprint), never merged.
        _sighting(20, "We study deep learning at length.", title="Deep learning",
                  doi="10.1000/other"),
    ]
    groups = group_sightings(sightings)
    assert groups == [[0, 1], [2]]
    paper = build_paper([sightings[i] for i in groups[0]])
    assert (paper.doi, paper.venue, paper.cite_key) == ("10.1038/nature14539", "Nature",
                                                       "lecun2015")
    assert paper.url == "https://www.nature.com/articles/nature14539"
    assert paper.keywords == ["neural networks"]
    assert [s.line for s in paper.sources] == [1, 9]


def test_one_paper_from_a_bib_a_csl_json_file_and_an_arxiv_dump_is_one_record(tmp_path):
    abstract = ("The dominant sequence transduction models are based on complex recurrent "
                "networks. We propose the Transformer, based solely on attention.")
    (tmp_path / "refs.bib").write_text(
        "@inproceedings{vaswani2017attention,\n  title = {Attention Is All You Need},\n"
        "  author = {Vaswani, Ashish and Shazeer, Noam},\n  booktitle = {NeurIPS},\n"
        "  year = {2017},\n  doi = {10.5555/3295222.3295349},\n  eprint = {1706.03762},\n"
        "  archivePrefix = {arXiv},\n  abstract = {" + abstract + "}\n}\n", encoding="utf-8")
    (tmp_path / "My Library.json").write_text(json.dumps([{
        "id": "http://zotero.org/users/1/items/ABC", "type": "paper-conference",
        "title": "Attention is all you need", "DOI": "https://doi.org/10.5555/3295222.3295349",
        "author": [{"family": "Vaswani", "given": "Ashish"}],
        "issued": {"date-parts": [[2017, 12]]}, "abstract": abstract}], indent=2),
        encoding="utf-8")
    (tmp_path / "arxiv.jsonl").write_text(json.dumps({
        "id": "1706.03762", "title": "Attention Is All You Need", "authors": "Ashish Vaswani",
        "abstract": abstract + " (v7)", "categories": "cs.CL"}) + "\n", encoding="utf-8")
    corpus = ingest([tmp_path])
    assert [f.layout for f in corpus.report.files] == [Layout.CSL_JSON, Layout.JSONL,
                                                       Layout.BIBTEX]
    assert len(corpus.papers) == 1
    paper = corpus.papers[0]
    assert (paper.arxiv_id, paper.doi) == ("1706.03762", "10.5555/3295222.3295349")
    assert paper.venue == "NeurIPS" and paper.cite_key is not None
    assert sorted(s.layout for s in paper.sources) == sorted(
        [Layout.JSONL, Layout.CSL_JSON, Layout.BIBTEX])
