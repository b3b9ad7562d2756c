"""The `paperchat` command: output, --json, and exit codes 0 / 1 / 2 (and 3, refused files)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.paperbot import SEED_DIR
from bot.surfaces.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_papers_json_lists_the_68_seed_papers(capsys, seed_library_dir):
    code, out, _ = run(capsys, "papers", "--json", "--index", str(seed_library_dir))
    assert code == 0
    papers = json.loads(out)
    assert len(papers) == 68 and len({p["id"] for p in papers}) == 68


def test_papers_table_with_a_filter(capsys, seed_library_dir):
    code, out, _ = run(capsys, "papers", "--index", str(seed_library_dir), "--has-code")
    assert code == 0 and out.strip().endswith("3 papers")


def test_ask_prints_answer_and_sources(capsys, seed_library_dir):
    code, out, _ = run(capsys, "ask", "Which papers study credit assignment over long delays?",
                       "--index", str(seed_library_dir))
    assert code == 0
    assert "[1]" in out and "Synthetic Returns for Long-Term Credit Assignment" in out


def test_ask_json_is_the_answer_model(capsys, seed_library_dir):
    code, out, _ = run(capsys, "ask", "relational reasoning", "--json", "-k", "2",
                       "--index", str(seed_library_dir))
    answer = json.loads(out)
    assert code == 0 and set(answer) >= {"text", "citations", "abstained", "nearest"}
    assert 1 <= len(answer["citations"]) <= 2
    assert all(c["quote"] in c["paper"]["abstract"] for c in answer["citations"])


def test_search_and_similar_json(capsys, seed_library_dir):
    code, out, _ = run(capsys, "search", "graph networks", "-k", "3", "--json",
                       "--index", str(seed_library_dir))
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3 and hits[0]["score"] >= hits[-1]["score"]
    code, out, _ = run(capsys, "similar", "arXiv:2403.05530", "--json",
                       "--index", str(seed_library_dir), "--year-from", "2020")
    hits = json.loads(out)
    assert code == 0 and hits and all(h["paper"]["id"] != "2403.05530" for h in hits)
    assert all(h["paper"]["date"] >= "2020" for h in hits)


def test_search_filters_from_flags(capsys, seed_library_dir):
    code, out, _ = run(capsys, "search", "learning", "--author", "Nir Levine", "-k", "50",
                       "--json", "--index", str(seed_library_dir))
    hits = json.loads(out)
    assert code == 0 and len(hits) == 8
    assert all(any("Nir Levine" in a for a in h["paper"]["authors"]) for h in hits)


def test_ingest_prints_the_report(capsys, tmp_path):
    code, out, _ = run(capsys, "ingest", str(SEED_DIR), "--index", str(tmp_path / "lib"))
    assert code == 0
    assert "86" in out and "68 distinct papers" in out and "arxiv-listing" in out


def test_domain_errors_exit_1_with_one_line(capsys, seed_library_dir, tmp_path):
    code, out, err = run(capsys, "ask", "   ", "--index", str(seed_library_dir))
    assert code == 1 and err.startswith("paperchat: error: the question is empty")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    missing = tmp_path / "missing.txt"
    code, _, err = run(capsys, "ingest", str(missing), "--index", str(tmp_path / "lib"))
    assert code == 1 and "no such file" in err
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    code, _, err = run(capsys, "ingest", str(junk), "--index", str(tmp_path / "lib"))
    assert code == 1 and "no known layout" in err


@pytest.mark.parametrize("argv", [
    [], ["frobnicate"], ["search"], ["search", "x", "-k", "many"],
    ["ask", "x", "--year-from", "2020", "--year-to", "2010"],
    ["ingest", "x", "--layout", "pdf"],
])
def test_bad_arguments_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_installed_command_and_python_m_bot(seed_library_dir, tmp_path):
    """The real entry points, in fresh processes."""
    env = {**os.environ, "PAPERCHAT_HOME": str(tmp_path)}
    exe = shutil.which("paperchat", path=os.path.dirname(sys.executable)) or shutil.which(
        "paperchat")
    assert exe, "the paperchat console script is not installed"
    out = subprocess.run([exe, "papers", "--json", "--index", str(seed_library_dir)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 68
    out = subprocess.run([sys.executable, "-m", "bot", "search", "", "--index",
                          str(seed_library_dir)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    out = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "serve" in out.stdout and "similar" in out.stdout


def test_dry_run_reports_the_seed_corpus_and_writes_nothing(capsys, tmp_path):
    index = tmp_path / "library"
    code, out, _ = run(capsys, "ingest", str(SEED_DIR), "--dry-run", "--index", str(index))
    assert code == 0
    assert "68 distinct papers" in out and "dry run: nothing embedded, nothing written" in out
    assert f"{'total':<44} {'':<15} {86:>7}" in out  # the 86 records of the five listings
    assert not index.exists()


def test_dry_run_json_has_the_shape_the_readme_gives(capsys, tmp_path):
    data = Path(__file__).parent / "data"
    bib, csl = data / "bibtex" / "al-folio-papers.bib", data / "csl-json" / "zotero-my-library.json"
    nowhere = tmp_path / "missing.ris"
    code, out, _ = run(capsys, "ingest", str(bib), str(csl), str(nowhere), "--dry-run", "--json")
    assert code == 3  # a file was refused, as for `ingest`
    preview = json.loads(out)
    report, papers = preview["report"], preview["papers"]
    assert {"files", "refused", "papers", "title_only"} <= report.keys()
    assert [f["layout"] for f in report["files"]] == ["bibtex", "csl-json"]
    file_keys = {"file", "layout", "records", "title_only", "merged", "rejected", "warnings"}
    assert file_keys <= report["files"][0].keys()
    assert {"file", "line", "lines", "reason", "text", "count"} <= (
        report["files"][0]["rejected"][0].keys())
    assert report["refused"][0]["file"] == str(nowhere)
    assert report["papers"] == len(papers) == 7 + 3
    assert set(papers[0]) == {"id", "title", "authors", "date", "doi", "arxiv_id", "venue",
                              "cite_key", "entry_type", "has_abstract", "sources"}
    epr = next(p for p in papers if p["cite_key"] == "PhysRev.47.777")
    assert epr["id"] == "doi:10.1103/physrev.47.777" and epr["date"] == "1935-05-01"
    assert epr["has_abstract"] and epr["sources"] == [f"{bib}:28"]
    assert report["title_only"] == sum(not p["has_abstract"] for p in papers) == 7


def test_json_without_dry_run_is_a_usage_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["ingest", str(SEED_DIR), "--json"])
    assert exit_.value.code == 2


def test_chat_answers_follow_ups_from_stdin(seed_library_dir):
    lines = ("Which papers train agents from human demonstrations?\n"
             "what about the second one?\n\n"
             "and in 2018?\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--json", "--index", str(seed_library_dir)],
        input=lines, capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    first, second, fresh = (json.loads(line) for line in done.stdout.splitlines())
    assert second["context"] == "a follow-up about one paper of the previous answer"
    assert [c["paper"]["id"] for c in second["citations"]] == [
        first["citations"][1]["paper"]["id"]]
    assert fresh["context"] is None  # the empty line started a new conversation
