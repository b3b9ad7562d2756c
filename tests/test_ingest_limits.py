"""Ingest under hostile input: each bad line, date or file costs only itself, and what a
report keeps of rejected input stays small."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from bot import IngestError, ingest
from bot.ingest import MAX_LINE_BYTES, ParseCache, read_file, readers
from bot.ingest.tally import OTHER_REASONS
from bot.paperbot import SEED_DIR

GOOD = {"id": "2401.00001", "title": "A good paper", "abstract": "We study good things.",
        "listing_date": "2024-01-02"}
OTHER = {"id": "2401.00002", "title": "Another good paper", "abstract": "We study others.",
         "listing_date": "2024-01-03"}


def _jsonl(path: Path, *lines: str | dict) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
                    encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_hang():
    """A FIFO opened by mistake would wait for a writer for ever: fail instead."""
    def expire(*_):
        raise TimeoutError("ingest hung")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# -- JSON Lines with limits per line ------------------------------------------------------


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_a_line_nested_1000_deep_is_rejected_and_the_rest_read(tmp_path, opener):
    closer = "]" if opener == "[" else "}"
    deep = '{"abstract": "Deep.", "x": ' + opener * 1000 + "1" + closer * 1000 + "}"
    corpus = ingest([_jsonl(tmp_path / "deep.jsonl", GOOD, deep, OTHER)])
    assert [p.id for p in corpus.papers] == ["2401.00001", "2401.00002"]
    (rejected,) = corpus.report.rejected
    assert (rejected.line, rejected.reason) == (2, "JSON nested more than 32 deep")
    assert len(rejected.text) <= 120


@pytest.mark.parametrize("field", ["id", "title", "abstract", "authors", "categories",
                                   "listing_date", "has_code", "versions"])
def test_a_5000_digit_number_in_any_field_rejects_only_its_line(tmp_path, field):
    line = json.dumps({**GOOD, "id": "2401.09999", field: "@@"}).replace('"@@"', "7" * 5000)
    corpus = ingest([_jsonl(tmp_path / "numbers.jsonl", GOOD, line, OTHER)])
    assert [p.id for p in corpus.papers] == ["2401.00001", "2401.00002"]
    (rejected,) = corpus.report.rejected
    assert rejected.line == 2 and rejected.reason.startswith("not valid JSON (number")


@pytest.mark.parametrize("date", ["99999999999999999999:18:42", "0000-03-08", "99999-03-08",
                                  "1066-10-14", "2999-01-01", "Mon, 2 Apr 99999 19:18:42 GMT",
                                  "Mon, 2 Apr 0 19:18:42 GMT"])
@pytest.mark.parametrize("where", ["listing_date", "versions"])
def test_a_date_that_cannot_be_real_is_ignored_with_a_warning(tmp_path, date, where):
    record = ({**GOOD, "listing_date": date} if where == "listing_date"
              else {**GOOD, "listing_date": None, "versions": [{"created": date}]})
    corpus = ingest([_jsonl(tmp_path / "dates.jsonl", record, OTHER)])
    first, second = corpus.papers
    assert first.id == "2401.00001" and first.date is None
    assert str(second.date) == "2024-01-03"
    (warning,) = corpus.report.files[0].warnings
    assert warning.line == 1 and "ignored" in warning.reason and date[:20] in warning.reason
    assert not corpus.report.rejected


def test_absurd_dates_in_the_text_layouts_are_ignored_with_a_warning(tmp_path):
    seed = sorted(SEED_DIR.glob("*.txt"))
    listing = seed[0].read_text(encoding="utf-8").splitlines()
    header = listing[0]  # "XXMon D, YYYY": the year replaced
    listing[0] = header[:-4] + "0001" if not header.endswith("Code") else header
    listing[3] = listing[3].replace(listing[3][-4:], "9999") if listing[3][-1].isdigit() else ""
    (tmp_path / "listing.txt").write_text("\n".join(listing), encoding="utf-8")
    arxiv = seed[4].read_text(encoding="utf-8")
    arxiv = (arxiv.replace("Created: 2024-03-08", "Created: 0000-03-08")
             .replace("Created: 2023-06-20", "Created: 99999-06-20"))
    (tmp_path / "arxiv.txt").write_text(arxiv, encoding="utf-8")
    corpus = ingest([tmp_path])
    warnings = {(Path(w.file).name, w.line): w.reason for f in corpus.report.files
                for w in f.warnings}
    assert warnings == {
        ("arxiv.txt", 1): "unreadable date '0000-03-08'",
        ("arxiv.txt", 9): "unreadable date '99999-06-20'",
        ("listing.txt", 1): f"date {header[2:-4] + '0001'!r} ignored: before 1450",
        ("listing.txt", 4): f"date {listing[3][2:]!r} ignored: in the future",
    }
    assert corpus.report.records == 25 and not corpus.report.rejected
    assert all(p.date is None or 1450 <= p.date.year <= 2100 for p in corpus.papers)


def ingest_traced(path):
    """The corpus of one file, and the peak of the memory Python allocated reading it."""
    tracemalloc.start()
    try:
        corpus = ingest([path])
        return corpus, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_line_past_the_length_limit_costs_only_itself(tmp_path):
    path = tmp_path / "long.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(GOOD) + "\n")
        fh.write('{"abstract": "' + "word " * (10 * MAX_LINE_BYTES // 5) + '"}\n')  # 10x the cap
        fh.write(json.dumps(OTHER) + "\n")
    corpus, peak = ingest_traced(path)
    assert [p.id for p in corpus.papers] == ["2401.00001", "2401.00002"]
    (rejected,) = corpus.report.rejected
    assert rejected.line == 2 and rejected.reason == (
        f"a line longer than {MAX_LINE_BYTES:,} bytes: not read")
    assert rejected.text.startswith('{"abstract": "word word')
    assert peak < 4 * MAX_LINE_BYTES  # never held whole: it is 10 times the cap


# -- arXiv listings whose records lost their id lines -------------------------------------


def test_abstracts_without_their_arxiv_line_are_rejected_never_merged(tmp_path):
    """The seed's arXiv listing with the id lines of four records removed (one of them
    with its `Created:` line too, one the first record with its title, one the last)."""
    seed = sorted(SEED_DIR.glob("*.txt"))[4]
    removed = {"arXiv:2403.05530", "arXiv:2303.03982", "Created: 2023-03-07",
               "arXiv:2110.10819", "arXiv:2102.10264"}
    path = tmp_path / "no-ids.txt"
    path.write_text("\n".join(line for line in seed.read_text(encoding="utf-8").splitlines()
                              if line not in removed) + "\n", encoding="utf-8")
    original = {s.arxiv_id: s for s in read_file(seed)[0]}
    sightings, report = read_file(path)

    assert [(s.source.line, s.arxiv_id) for s in sightings] == [
        (8, "2306.11706"), (13, "2305.10912"), (21, "2210.14215"), (26, "2205.06175"),
        (31, "2203.17138"), (44, "2104.01655")]
    for s in sightings:  # each id keeps its own abstract, comment and date; no title glued on
        kept = original[s.arxiv_id]
        assert (s.abstract, s.comment, s.date, s.title) == (
            kept.abstract, kept.comment, kept.date, None)
    orphan = "abstract with no 'arXiv:ID' line after it"
    assert [(r.line, r.lines, r.reason, r.text[:40]) for r in report.rejected] == [
        (1, 6, orphan, "In this report, we present the latest mo"),  # with the Gemini title
        (18, 1, orphan, "Structured state space sequence (S4) mod"),
        (38, 5, orphan, "The recent phenomenal success of languag"),
        (51, 5, orphan, "Modern policy gradient algorithms, notab"),
    ]
    assert not report.warnings
    text = path.read_text(encoding="utf-8")
    assert all(chunk.text in text for chunk in report.rejected)


def test_a_title_is_only_a_short_line_followed_by_authors(tmp_path):
    authors = "Ada Lovelace, Charles Babbage"
    abstract = ("We describe an engine that computes tables of numbers, and show that it can "
                "be programmed with punched cards to follow any sequence of operations. ") * 3
    path = tmp_path / "titles.txt"
    path.write_text(f"The Analytical Engine\n{authors}\n\n{abstract}\n\narXiv:1843.00001\n\n"
                    f"A title with nobody after it\n\n{abstract}\n\narXiv:1843.00002\n",
                    encoding="utf-8")
    sightings, report = read_file(path)
    assert [(s.title, s.authors) for s in sightings] == [
        ("The Analytical Engine", ["Ada Lovelace", "Charles Babbage"]), (None, [])]
    (rejected,) = report.rejected
    assert rejected.line == 8 and rejected.reason.startswith("a short line, neither a title")


# -- rejected input is bounded; files that give nothing are refused -----------------------


def test_300k_broken_lines_cost_a_small_report_and_little_memory(tmp_path):
    path = tmp_path / "upload.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(GOOD) + "\n")
        fh.write("{x}\n" * 300_000)
    corpus, peak = ingest_traced(path)
    report = corpus.report
    assert len(corpus.papers) == 1
    assert len(report.model_dump_json()) < 100_000
    assert peak < 30 * 2**20
    assert report.rejected_count == 300_000
    listed, counted = report.rejected[:-1], report.rejected[-1]
    assert [r.line for r in listed] == [2, 3, 4, 5, 6] and all(r.count == 1 for r in listed)
    assert (counted.line, counted.count) == (7, 299_995)
    assert counted.reason == listed[0].reason
    assert "(and 299,994 more like it from this line on)" in report.render()
    assert "300000" in report.render().splitlines()[2].replace(" ", "")  # the table's count


def test_many_kinds_of_doubt_are_capped_per_file(tmp_path):
    """300 records, each with a warning of its own reason: 100 listed, 100 reasons counted,
    the rest counted together."""
    path = tmp_path / "ids.txt"
    path.write_text("".join(f"Abstract {i} is long enough to be read as an abstract paragraph, "
                            f"not a title.\n\narXiv:bad-{i}\n\n" for i in range(300)),
                    encoding="utf-8")
    corpus = ingest([path])
    (report,) = corpus.report.files
    assert report.records == 300 and report.warning_count == 300
    assert len(report.warnings) == 201
    assert [w.reason for w in report.warnings[:2]] == [
        "'bad-0' is not an arXiv id", "'bad-1' is not an arXiv id"]
    assert (report.warnings[100].reason, report.warnings[100].line) == (
        "'bad-100' is not an arXiv id", 401)
    assert (report.warnings[-1].reason, report.warnings[-1].count) == (OTHER_REASONS, 100)


def test_warnings_are_bounded_too(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"".join(b"Abstract:caf\xe9 number %d.\n" % i for i in range(50_000)))
    corpus = ingest([path])
    (report,) = corpus.report.files
    assert report.records == 50_000 and len(report.warnings) == 6
    assert report.warning_count == 50_000 and report.warnings[-1].count == 49_995


def _bad_files(folder: Path) -> dict[str, str]:
    """Files that give no record, each with the start of the reason it is refused for."""
    rng = random.Random(16)
    (folder / "random.bin").write_bytes(b"\x00" + rng.randbytes(200_000))
    (folder / "broken.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00" + rng.randbytes(5000))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "diary.txt").write_bytes(b"Dear diary,\x1b[31m today nothing happened.\n")
    _jsonl(folder / "rejects.jsonl", "{x}", "{x}", "[1]")
    return {
        "broken.jsonl.gz": "gzip data that is not a valid gzip stream (damaged)",
        "diary.txt": "no known layout: the first line looks like 'Dear diary,\ufffd[31m "
                     f"today nothing happened.' (expected {readers.expected()}). Name the "
                     "layout with --layout if it is one of these.",
        "empty.txt": "the file is empty",
        "random.bin": "binary data, not a text listing",
        "rejects.jsonl": "no record could be read (jsonl): 3 chunk(s) rejected (line 1: not "
                         "valid JSON (unexpected character, expected a string key); line 2: "
                         "not valid JSON (unexpected character, expected a string key); line "
                         "3: a JSON list, not an object)",
    }


def test_files_that_give_no_record_are_refused_and_the_rest_read(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    expected = _bad_files(folder)
    good = _jsonl(folder / "good.jsonl", GOOD)
    corpus = ingest([folder])
    assert [p.id for p in corpus.papers] == ["2401.00001"]
    assert corpus.files == [good]
    assert [f.file for f in corpus.report.files] == [str(good)]
    assert {Path(r.file).name: r.reason for r in corpus.report.refused} == expected
    assert all(r.reason.isprintable() for r in corpus.report.refused)  # no raw bytes echoed
    rendered = corpus.report.render().splitlines()
    assert [line.split(":")[0] for line in rendered[:5]] == [
        f"refused  {folder / name}" for name in sorted(expected)]


def test_when_no_file_gives_a_paper_the_message_says_why(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    expected = _bad_files(folder)
    with pytest.raises(IngestError) as caught:
        ingest([folder])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("the corpus is empty: no paper could be read from 5 file(s): ")
    for name in sorted(expected)[:3]:
        assert f"{folder / name}: {expected[name]}" in message
    assert message.endswith("; and 2 more file(s)")


def test_the_parse_cache_keeps_counts_and_refusals(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    _bad_files(folder)
    _jsonl(folder / "good.jsonl", GOOD, *["{x}"] * 50)
    cache = ParseCache(tmp_path / "parse-cache")
    first = ingest([folder], parse_cache=cache)
    again = ingest([folder], parse_cache=cache)
    assert again.report == first.report == ingest([folder]).report
    assert again.report.files[0].rejected[-1].count == 45


# -- smaller: ids, subfolders, files that are not files -----------------------------------


def test_colliding_ids_all_stay_distinct(tmp_path):
    # Two records of one source id but different titles are two papers (merging never
    # mixes titles), so both come out as `x`.
    rows = [{"_id": "x", "title": "First", "text": "First text about colliding identifiers."},
            {"_id": "x", "title": "Second", "text": "Second, different text about nothing."},
            {"_id": "x~2", "title": "Third", "text": "Third text, whose id looks like a suffix."}]
    corpus = ingest([_jsonl(tmp_path / "ids.jsonl", *rows)])
    assert [p.id for p in corpus.papers] == ["x", "x~3", "x~2"]


def test_a_subfolder_is_reported_not_skipped_silently(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "old").mkdir(parents=True)
    _jsonl(folder / "old" / "papers.jsonl", OTHER)
    good = _jsonl(folder / "papers.jsonl", GOOD)
    corpus = ingest([folder])
    assert [p.id for p in corpus.papers] == ["2401.00001"] and corpus.files == [good]
    assert [str(r) for r in corpus.report.refused] == [
        f"{folder / 'old'}: a folder inside a given folder: not read (name it to read its "
        "files)"]


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return "not a regular file (a FIFO)"


def _socket(path: Path) -> str:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return "not a regular file (a socket)"


def _loop(path: Path) -> str:
    path.symlink_to(path.name)
    return "a symbolic link loop"


def _broken_link(path: Path) -> str:
    path.symlink_to("nowhere.jsonl")
    return "a broken symbolic link"


@pytest.mark.parametrize("make", [_fifo, _socket, _loop, _broken_link])
def test_a_path_that_is_not_a_readable_file_costs_only_itself(tmp_path, make):
    folder = tmp_path / "c"
    folder.mkdir()
    good = _jsonl(folder / "good.jsonl", GOOD)
    odd = folder / "odd.jsonl"
    reason = make(odd)
    for given in ([folder], [good, odd]):
        corpus = ingest(given)
        assert [p.id for p in corpus.papers] == ["2401.00001"] and corpus.files == [good]
        assert [str(r) for r in corpus.report.refused] == [f"{odd}: {reason}"]
    with pytest.raises(IngestError, match=re.escape(f"from 1 file(s): {odd}: {reason}") + "$"):
        ingest([odd])


_WITHOUT_ROOTS_READ = """
import json, sys
from bot import ingest
corpus = ingest([sys.argv[1]])
print(json.dumps([[p.id for p in corpus.papers], [str(r) for r in corpus.report.refused]]))
"""


def test_a_file_without_read_permission_costs_only_itself(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    _jsonl(folder / "good.jsonl", GOOD)
    secret = _jsonl(folder / "secret.jsonl", OTHER)
    secret.chmod(0o000)
    try:
        if os.geteuid():
            corpus = ingest([folder])
            ids, refused = [p.id for p in corpus.papers], [str(r) for r in corpus.report.refused]
        else:  # root reads any file: run the ingest without the capabilities that let it
            if not shutil.which("setpriv"):
                pytest.skip("needs setpriv (util-linux) to drop root's read-anything right")
            out = subprocess.run(
                ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", sys.executable,
                 "-c", _WITHOUT_ROOTS_READ, str(folder)],
                capture_output=True, text=True, timeout=120, check=False)
            assert out.returncode == 0, out.stderr
            ids, refused = json.loads(out.stdout)
    finally:
        secret.chmod(0o600)
    assert ids == ["2401.00001"]
    assert refused == [f"{secret}: permission denied"]


def test_copies_of_a_megabyte_abstract_do_not_hang_the_merge(tmp_path):
    """A scraper that lost its newlines glues an abstract line to itself; four such lines
    took the near-duplicate check 456 s (`no_hang` turns a hang into a failure)."""
    seed = (SEED_DIR / "003_a83d08e7c93eea48.txt").read_bytes().split(b"\n")
    glued = (max(seed, key=len) * 2000)[:2**20]
    path = tmp_path / "glued.txt"
    path.write_bytes(b"\n".join(seed[:3] + [glued] * 4 + seed[3:]))
    corpus = ingest([path])
    assert len(corpus.papers) == len([line for line in seed if line.strip()]) + 1
