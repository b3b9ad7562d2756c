"""A library folder owns only what it wrote, reading never rebuilds, and what goes wrong on
the way is one line: through the real CLI, on small JSONL corpora of a few papers each."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
from conftest import REPO

from bot import PaperBot
from bot.library.store import EMBEDDING_CACHE, JOURNAL, MANIFEST, LibraryStore
from bot.surfaces.cli import main

TOPICS = ["Graph neural networks predict the folding of small proteins from their sequence.",
          "A survey of bird migration tracking with low-power radio tags on songbirds.",
          "Seismic inversion with physics-informed neural operators for subsurface imaging.",
          "Federated learning of keyboard predictions on mobile phones without raw text.",
          "Quantum annealing schedules for spin glasses with thousands of coupled qubits."]
# Names a library's own files once had: the clean-up deleted anything named like them.
USER_FILES = {"papers.jsonl": None, "docs.md": "# my notes\n", "papers.bib": "@article{x}\n",
              "papers.csv": "id,title\n", "lexical.x": "mine\n", ".foo.tmp": "mine too\n"}


def _jsonl(path, topics, start=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": f"2401.{start + i:05}", "title": t.split(" with")[0],
                                        "abstract": t}) + "\n"
                            for i, t in enumerate(topics)), encoding="utf-8")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _user_files(folder):
    """A user's files, among them one named like a library's corpus, and a folder."""
    for name, text in USER_FILES.items():
        if text is None:
            _jsonl(folder / name, TOPICS[:2])
        else:
            (folder / name).write_text(text)
    (folder / "docs.old").mkdir()
    (folder / "docs.old" / "draft.txt").write_text("a draft\n")
    made = [*USER_FILES, "docs.old/draft.txt"]
    return {name: (folder / name).read_bytes() for name in made}


def _still_there(folder, files):
    for name, data in files.items():
        assert (folder / name).read_bytes() == data, f"{name} was changed or deleted"


@pytest.fixture
def seeded_cache(seed_library_dir):
    """Copies the seed library's embedding cache into a folder: its build embeds nothing."""
    def into(folder):
        shutil.copytree(seed_library_dir / EMBEDDING_CACHE, folder / EMBEDDING_CACHE)
        return folder
    return into


# -- 1. a library folder owns only what it wrote ---------------------------------------------

def test_ingest_into_a_folder_of_other_files_is_refused_and_touches_nothing(capsys, tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    files = _user_files(proj)
    _jsonl(proj / "more.jsonl", TOPICS[2:3])
    files = {**files, "more.jsonl": (proj / "more.jsonl").read_bytes()}
    before = sorted(p.name for p in proj.iterdir())
    code, out, err = run(capsys, "ingest", proj / "papers.jsonl", proj / "more.jsonl",
                         "--index", proj)
    assert code == 1 and not out and len(err.strip().splitlines()) == 1
    assert "not a paperchat library" in err and f"--index {proj / 'library'}" in err
    _still_there(proj, files)
    assert sorted(p.name for p in proj.iterdir()) == before  # not even a lock file


def test_files_beside_and_inside_a_library_survive_ingest_search_and_tidy(
        capsys, tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    proj.mkdir()
    beside = _user_files(proj)
    library = proj / "library"
    corpus = _jsonl(tmp_path / "corpus" / "a.jsonl", TOPICS[:3])
    assert run(capsys, "ingest", corpus, "--index", library)[0] == 0
    inside = _user_files(library)  # then the user keeps files in the library's folder
    _jsonl(corpus, TOPICS[:4])
    assert run(capsys, "ingest", corpus, "--index", library)[0] == 0  # re-ingest, changed
    code, out, _ = run(capsys, "search", "bird migration", "--index", library, "-k", "1")
    assert code == 0 and "bird migration" in out
    _still_there(library, inside)
    _jsonl(corpus, TOPICS)

    def killed(*_):  # a build killed while it writes: its files so far stay behind
        raise KeyboardInterrupt
    with monkeypatch.context() as patch:
        patch.setattr("bot.library.lexical.LexicalIndex.write", killed)
        assert run(capsys, "ingest", corpus, "--index", library)[0] == 130
    store = LibraryStore(library)
    left = store.leftovers(store.read_manifest())
    assert any(p.name.startswith("papers.") for p in left) and library / JOURNAL in left
    _jsonl(corpus, TOPICS[:4])  # back to the library's corpus: tidied, not rebuilt
    assert run(capsys, "ingest", corpus, "--index", library)[0] == 0
    assert not store.leftovers(store.read_manifest()) and not (library / JOURNAL).exists()
    manifest = store.read_manifest()
    ours = {MANIFEST, ".lock", EMBEDDING_CACHE, "parse-cache", *manifest.files.values()}
    assert {p.name for p in library.iterdir()} - ours == {*USER_FILES, "docs.old"}
    _still_there(proj, beside)
    _still_there(library, inside)
    assert len(PaperBot.open(library).papers) == 4


def test_a_killed_build_in_a_fresh_process_is_tidied_to_the_last_file(tmp_path):
    library = tmp_path / "library"
    corpus = _jsonl(tmp_path / "a.jsonl", TOPICS[:3])
    PaperBot.from_corpus([corpus], library)
    inside = _user_files(library)
    _jsonl(corpus, TOPICS)
    victim = ("import os, bot.library.store as s\n"
              "real = s.LibraryStore._write_dir\n"
              "def die(self, *a):\n    os.kill(os.getpid(), 9)\n"
              "s.LibraryStore._write_dir = die\n"
              "from bot import PaperBot\n"
              f"PaperBot.from_corpus([{str(corpus)!r}], {str(library)!r})\n")
    result = subprocess.run([sys.executable, "-c", victim], cwd=REPO, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True)
    assert result.returncode == -9
    store = LibraryStore(library)
    assert store.leftovers(store.read_manifest())
    store.tidy(store.read_manifest())
    assert not store.leftovers(store.read_manifest())
    _still_there(library, inside)
    assert len(PaperBot.open(library).papers) == 3  # the build before the kill


# -- 2. reading never rebuilds -----------------------------------------------------------------

def test_a_read_from_another_folder_never_rebuilds_from_what_a_path_names_there(
        capsys, tmp_path, monkeypatch):
    dir_x, dir_y, library = tmp_path / "dirX", tmp_path / "dirY", tmp_path / "L"
    _jsonl(dir_x / "papers.jsonl", TOPICS)
    _jsonl(dir_y / "papers.jsonl", TOPICS[:1], start=50)
    monkeypatch.chdir(dir_x)
    assert run(capsys, "ingest", "papers.jsonl", "--index", library)[0] == 0
    manifest = json.loads((library / MANIFEST).read_text())
    size = (dir_x / "papers.jsonl").stat().st_size
    (dir_x / "papers.jsonl").unlink()
    monkeypatch.chdir(dir_y)
    code, out, err = run(capsys, "search", "bird migration", "--index", library, "-k", "1")
    assert code == 0 and "bird migration" in out
    assert len(err.strip().splitlines()) == 1 and "1 gone" in err
    assert f"paperchat ingest FILES --index {library}" in err
    code, out, _ = run(capsys, "papers", "--json", "--index", library)
    assert code == 0 and len(json.loads(out)) == 5
    result = subprocess.run([sys.executable, "-m", "bot", "papers", "--index", str(library)],
                            cwd=dir_y, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0 and result.stdout.strip().endswith("5 papers")
    assert len(result.stderr.strip().splitlines()) == 1 and "1 gone" in result.stderr
    assert json.loads((library / MANIFEST).read_text()) == manifest  # nothing written
    [entry] = manifest["corpus"]
    assert entry["path"] == str(dir_x / "papers.jsonl")  # absolute
    assert entry["size"] == size and len(entry["sha256"]) == 64


def test_changed_corpus_files_are_reported_and_the_library_answers_as_built(
        capsys, tmp_path):
    library = tmp_path / "L"
    first, second = _jsonl(tmp_path / "a.jsonl", TOPICS[:3]), _jsonl(tmp_path / "b.jsonl",
                                                                      TOPICS[3:], start=3)
    assert run(capsys, "ingest", first, second, "--index", library)[0] == 0
    _jsonl(first, TOPICS[:1])
    for argv in (["search", "bird migration"], ["ask", "bird migration"],
                 ["similar", "bird migration"], ["papers"]):
        code, out, err = run(capsys, *argv, "--index", library)
        assert code == 0 and out, argv
        assert "of the 2 corpus file(s) of this library, 1 changed" in err, argv
        assert len(err.strip().splitlines()) == 1
    assert len(PaperBot.open(library).papers) == 5


def test_serve_without_paths_serves_the_library_as_built(capsys, tmp_path, monkeypatch):
    library = tmp_path / "L"
    corpus = _jsonl(tmp_path / "a.jsonl", TOPICS)
    assert run(capsys, "ingest", corpus, "--index", library)[0] == 0
    _jsonl(corpus, TOPICS[:1])
    served = []
    monkeypatch.setattr("bot.surfaces.web.launch", lambda bot, **_: served.append(bot))
    code, _, err = run(capsys, "serve", "--index", library)
    assert code == 0 and len(served[0].papers) == 5 and "1 changed" in err


def test_an_emptied_corpus_file_leaves_every_read_command_working(capsys, tmp_path):
    library = tmp_path / "L"
    corpus = _jsonl(tmp_path / "a.jsonl", TOPICS)
    assert run(capsys, "ingest", corpus, "--index", library)[0] == 0
    corpus.write_text("")
    code, out, err = run(capsys, "papers", "--index", library)
    assert code == 0 and out.strip().endswith("5 papers") and "1 changed" in err
    code, out, _ = run(capsys, "search", "seismic inversion", "--index", library, "-k", "1")
    assert code == 0 and "Seismic inversion" in out


def test_a_damaged_library_on_read_is_one_line_naming_the_rebuild(capsys, tmp_path):
    library = tmp_path / "L"
    corpus = _jsonl(tmp_path / "a.jsonl", TOPICS)
    assert run(capsys, "ingest", corpus, "--index", library)[0] == 0
    manifest = json.loads((library / MANIFEST).read_text())
    docs = library / manifest["files"]["docs"]
    docs.write_bytes(docs.read_bytes()[:100])
    code, out, err = run(capsys, "search", "bird migration", "--index", library)
    assert code == 1 and not out and len(err.strip().splitlines()) == 1
    assert docs.name in err and "paperchat ingest" in err
    assert docs.stat().st_size == 100  # not rebuilt behind the user's back


def test_a_moved_library_keeps_its_uploads_and_add_works(capsys, tmp_path):
    library = tmp_path / "L"
    corpus = _jsonl(tmp_path / "a.jsonl", TOPICS[:2])
    PaperBot.from_corpus([corpus], library)
    sent = _jsonl(tmp_path / "up" / "u.jsonl", TOPICS[2:3], start=2)
    upload, _ = LibraryStore(library).keep_upload(sent)
    PaperBot.open(library).add([upload])
    moved = tmp_path / "elsewhere" / "L"
    moved.parent.mkdir()
    shutil.move(library, moved)
    code, _, err = run(capsys, "papers", "--index", moved)
    assert code == 0 and not err  # its upload is found where the library is now
    extra = _jsonl(tmp_path / "more.jsonl", TOPICS[3:4], start=3)
    code, out, err = run(capsys, "ingest", "--add", extra, "--index", moved)
    assert code == 0, err
    assert len(PaperBot.open(moved).papers) == 4
    stored = LibraryStore(moved).read_manifest().corpus_paths
    assert stored == [str(corpus), "uploads/u.jsonl", str(extra)]


def test_a_library_of_the_earlier_format_still_opens(capsys, library_copy):
    path = library_copy / MANIFEST
    manifest = json.loads(path.read_text())
    corpus = manifest.pop("corpus")
    path.write_text(json.dumps(manifest | {"corpus_paths": [e["path"] for e in corpus]}))
    code, out, err = run(capsys, "papers", "--index", library_copy)
    assert code == 0 and out.strip().endswith("68 papers") and not err


# -- 2 and 3. the bundled corpus goes only into the default library ---------------------------

def test_a_named_folder_without_a_library_is_an_error_and_stays_untouched(capsys, tmp_path):
    missing, empty = tmp_path / "none", tmp_path / "empty"
    empty.mkdir()
    for folder in (missing, empty):
        for argv in (["papers"], ["search", "x"], ["ask", "x"], ["similar", "x"]):
            code, out, err = run(capsys, *argv, "--index", folder)
            assert code == 1 and not out
            assert err.strip() == (f"paperchat: error: no library in {folder}: build one with "
                                   f"`paperchat ingest FILES --index {folder}`")
    assert not missing.exists() and not list(empty.iterdir())


def test_after_a_failed_ingest_papers_does_not_build_the_demo_library(capsys, tmp_path):
    folder = tmp_path / "mine"
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    assert run(capsys, "ingest", junk, "--index", folder)[0] == 1
    code, out, err = run(capsys, "papers", "--index", folder)
    assert code == 1 and not out and "no library in" in err
    assert not (folder / MANIFEST).exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(("papers.", "docs."))]


def test_the_default_library_is_built_from_the_bundled_corpus(capsys, isolated_home,
                                                              seeded_cache):
    seeded_cache(isolated_home / "library")
    code, out, _ = run(capsys, "papers")
    assert code == 0 and out.strip().endswith("68 papers")


# -- 12. one line, never a traceback -----------------------------------------------------------

def _no_space(*_, **__):
    raise OSError(errno.ENOSPC, "No space left on device")


def _faiss_failed(*_, **__):
    raise RuntimeError("Error in faiss::FileIOWriter::operator() at faiss/impl/io.cpp:102: "
                       "Error: 'ret == (nitems)' failed: write error")


@pytest.mark.parametrize("target", [
    "bot.library.store._save_npy", "bot.library.lexical.LexicalIndex.write",
    "embeddings.VectorIndex.write",
    "embeddings.cache.EmbeddingCache.put", "embeddings.Int8Vectors.save",
    "bot.library.store.LibraryStore._journal"])
def test_a_full_disk_is_one_line_naming_it_and_the_library_answers(
        capsys, library_copy, tmp_path, monkeypatch, target):
    before = sorted(p.name for p in library_copy.iterdir())
    extra = _jsonl(tmp_path / "more.jsonl", TOPICS[:1])
    raising = _faiss_failed if target.endswith("VectorIndex.write") else _no_space
    monkeypatch.setattr(target, raising)
    monkeypatch.setattr("bot.library.store.shutil.disk_usage",
                        lambda _: SimpleNamespace(total=10 << 30, free=20_000))  # 20 KB free
    code, out, err = run(capsys, "ingest", "--add", extra, "--index", library_copy)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.strip() == (f"paperchat: error: no space left on device while writing the "
                           f"library in {library_copy}; free some space and run again — the "
                           f"previous library is intact")
    monkeypatch.undo()
    assert sorted(p.name for p in library_copy.iterdir() if p.name != JOURNAL) == before
    bot = PaperBot.open(library_copy)
    assert len(bot.papers) == 68 and bot.ask("relational reasoning").citations


def test_a_read_only_library_folder_on_add_is_one_line(capsys, library_copy, tmp_path,
                                                       monkeypatch):
    def read_only(self, name, *_, **__):
        raise OSError(errno.EROFS, "Read-only file system", str(self.root / name))
    monkeypatch.setattr("bot.library.store.LibraryStore._write", read_only)
    extra = _jsonl(tmp_path / "more.jsonl", TOPICS[:1])
    code, _, err = run(capsys, "ingest", "--add", extra, "--index", library_copy)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert f"cannot write the library in {library_copy}: Read-only file system" in err
    assert "previous library is intact" in err
    assert len(PaperBot.open(library_copy).papers) == 68


def test_an_index_that_is_a_file_or_proc_self_is_one_line(capsys, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    corpus = _jsonl(tmp_path / "a.jsonl", TOPICS[:1])
    for index in (a_file, "/proc/self"):
        for argv in (["search", "x"], ["papers"], ["ingest", corpus], ["ingest", "--add", corpus]):
            code, out, err = run(capsys, *argv, "--index", index)
            assert code == 1 and not out and len(err.strip().splitlines()) == 1, (argv, err)
            assert err.startswith("paperchat: error: ") and str(index) in err
    assert a_file.read_text() == "mine\n"


def _cli(*argv, **env):
    return subprocess.run([sys.executable, "-m", "bot", *map(str, argv)], cwd=REPO, timeout=120,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})


def test_a_home_that_is_dev_null_is_one_line():
    result = _cli("papers", PAPERCHAT_HOME="/dev/null")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "/dev/null" in result.stderr


def test_a_port_out_of_range_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--port", "99999"])
    assert caught.value.code == 2 and "from 0 to 65535" in capsys.readouterr().err


def test_a_bad_line_in_eval_queries_names_the_file_and_line(capsys, tmp_path):
    dataset = tmp_path / "tiny"
    (dataset / "qrels").mkdir(parents=True)
    (dataset / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "title": "t",
                                                      "text": TOPICS[0]}) + "\n")
    (dataset / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    queries = dataset / "queries.jsonl"
    for line, reason in (("{not json", "not a JSON object"), ("[1, 2]", "not a JSON object"),
                         (json.dumps({"_id": "q2"}), 'no "text"'),
                         ('{"_id": ' + "9" * 5000 + ', "text": "x"}', "not a JSON object")):
        queries.write_text(json.dumps({"_id": "q1", "text": "folding"}) + "\n" + line + "\n")
        code, out, err = run(capsys, "eval", dataset, "--index", tmp_path / "lib")
        assert code == 1 and not out and len(err.strip().splitlines()) == 1
        assert f"{queries}:2: {reason}" in err


def test_an_unexpected_error_is_one_line_and_its_traceback_on_request(capsys, monkeypatch,
                                                                      seed_library_dir):
    def broken(*_, **__):
        raise ValueError("something inside broke\nsecond line")
    monkeypatch.setattr("bot.surfaces.cli.PaperBot.open_or_build", broken)
    code, _, err = run(capsys, "papers", "--index", seed_library_dir)
    assert code == 1 and err.strip() == ("paperchat: error: unexpected ValueError: something "
                                         "inside broke (set PAPERCHAT_DEBUG=1 for the traceback)")
    monkeypatch.setenv("PAPERCHAT_DEBUG", "1")
    code, _, err = run(capsys, "papers", "--index", seed_library_dir)
    assert code == 1 and "Traceback" in err

    def no_file(*_, **__):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/x/y")
    monkeypatch.delenv("PAPERCHAT_DEBUG")
    monkeypatch.setattr("bot.surfaces.cli.PaperBot.open_or_build", no_file)
    code, _, err = run(capsys, "papers", "--index", seed_library_dir)
    assert code == 1 and err.strip() == "paperchat: error: /x/y: No such file or directory"


# -- refused files: named first, exit 3 -----------------------------------------------------

def test_refused_files_are_named_first_and_the_exit_code_is_3(capsys, tmp_path):
    corpus = _jsonl(tmp_path / "a.jsonl", TOPICS[:2])
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    code, out, _ = run(capsys, "ingest", corpus, junk, "--index", tmp_path / "L")
    assert code == 3
    assert out.splitlines()[0].startswith(f"refused  {junk}: no known layout")
    assert "2 distinct papers" in out
    assert LibraryStore(tmp_path / "L").read_manifest().corpus_paths == [str(corpus)]


def test_a_corpus_file_that_cannot_be_read_is_not_called_a_library_write(capsys, tmp_path,
                                                                        monkeypatch):
    corpus = _jsonl(tmp_path / "a.jsonl", TOPICS[:1])

    def denied(path, *_, **__):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(sys.modules["bot.ingest"], "read_file", denied)
    code, _, err = run(capsys, "ingest", corpus, "--index", tmp_path / "L")
    assert code == 1 and err.strip() == f"paperchat: error: {corpus}: Permission denied"
