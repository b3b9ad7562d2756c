"""The library folder: round trips without re-embedding, incremental rebuilds, damage."""

from __future__ import annotations

import errno
import json
import shutil

import numpy as np
import pytest

from bot import LibraryError, PaperBot
from bot.library.contents import FORMAT_VERSION
from bot.library.store import EMBEDDING_CACHE, JOURNAL, MANIFEST, PARSE_CACHE, LibraryStore
from bot.paperbot import SEED_DIR


class _NoEmbedding:
    def __init__(self, real):
        self.real = real
        self.weights_sha256 = real.weights_sha256
        self.identity = real.identity
        self.earlier_identity = real.earlier_identity
        self.kind = real.kind
        self.revision, self.revision_note = real.revision, real.revision_note
        self.name = real.name
        self.dim = real.dim

    def embed_documents(self, texts, **_):
        raise AssertionError(f"re-embedded {len(texts)} texts")

    def embed_query(self, text):
        return self.real.embed_query(text)

    def warm_up(self):
        self.real.warm_up()

    def known_words(self):
        return self.real.known_words()


def test_open_and_reload_never_re_embed(library_copy, embedder):
    guard = _NoEmbedding(embedder)
    bot = PaperBot.open(library_copy, embedder=guard)
    assert len(bot.papers) == 68
    assert bot.search("relational reasoning", k=3)
    again = PaperBot.from_corpus(None, library_copy, embedder=guard)  # same corpus: load
    assert again.last_embedded == 0 and len(again.papers) == 68


def test_manifest_records_model_corpus_and_counts(seed_library_dir, embedder):
    manifest = json.loads((seed_library_dir / MANIFEST).read_text())
    assert manifest["model_name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["model_sha256"] == embedder.weights_sha256
    assert manifest["dim"] == 384 and manifest["papers"] == 68 and manifest["sentences"] > 400
    assert manifest["encoder"] == "onnx-int8"
    assert manifest["format_version"] == FORMAT_VERSION
    assert len(manifest["corpus_fingerprint"]) == 64
    files = {p.name for p in seed_library_dir.iterdir()}
    assert set(manifest["files"].values()) <= files
    assert not any(name.endswith(".pkl") or name.endswith(".tmp") for name in files)


def test_changed_corpus_rebuilds_embedding_only_what_is_new(library_copy, tmp_path, embedder,
                                                            seed_files):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_DIR, corpus)
    extra = corpus / "005_extra.txt"
    extra.write_text("Abstract:We study how tiny robots learn to juggle flaming torches "
                     "with model-based reinforcement learning.\n", encoding="utf-8")
    bot = PaperBot.from_corpus([corpus], library_copy, embedder=embedder)
    assert len(bot.papers) == 69
    assert bot.last_embedded == 1  # one new text: the untitled abstract is its only sentence
    reopened = PaperBot.open(library_copy, embedder=embedder)
    assert len(reopened.papers) == 69
    assert reopened.search("juggling robots", k=1)[0].paper.abstract.startswith("We study how")
    # Only the new generation's files remain.
    manifest = json.loads((library_copy / MANIFEST).read_text())
    data_files = {p.name for p in library_copy.iterdir()
                  if p.name not in (MANIFEST, ".lock", EMBEDDING_CACHE, PARSE_CACHE)}
    assert data_files == set(manifest["files"].values())


def test_added_files_join_the_corpus(library_copy, tmp_path, embedder):
    extra = tmp_path / "more.txt"
    extra.write_text("Abstract:Graph neural networks for predicting protein folding.\n",
                     encoding="utf-8")
    bot = PaperBot.open(library_copy, embedder=embedder).add([extra])
    assert len(bot.papers) == 69 and bot.last_embedded == 1


def test_adding_to_a_library_whose_files_are_gone_refuses_rather_than_drops_papers(
        tmp_path, seed_files, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in seed_files:
        (corpus / f.name).write_bytes(f.read_bytes())
    bot = PaperBot.from_corpus([corpus], tmp_path / "library", embedder=embedder)
    (corpus / seed_files[0].name).unlink()
    extra = tmp_path / "more.txt"
    extra.write_text("Abstract:Graph neural networks for protein folding.\n", encoding="utf-8")
    with pytest.raises(LibraryError, match="are gone"):
        bot.add([extra])
    assert len(PaperBot.open(tmp_path / "library", embedder=embedder).papers) == 68


def test_an_upload_is_kept_once_and_a_namesake_gets_its_own_name(tmp_path):
    store = LibraryStore(tmp_path / "library")
    first, second = tmp_path / "a" / "p.jsonl", tmp_path / "b" / "p.jsonl"
    for path, text in ((first, "one"), (second, "two")):
        path.parent.mkdir()
        path.write_text(text)
    kept, created = store.keep_upload(first)
    assert created and kept.read_text() == "one"
    assert store.keep_upload(first) == (kept, False)  # kept once; not this call's to remove
    other, created = store.keep_upload(second)
    assert created and other.name == "p-2.jsonl" and other.read_text() == "two"


@pytest.mark.parametrize("damage", ["manifest-garbage", "manifest-missing-file", "papers",
                                    "docs", "sentences", "counts"])
def test_damaged_library_is_a_clear_error_naming_the_fix(library_copy, embedder, damage):
    manifest_path = library_copy / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    if damage == "manifest-garbage":
        manifest_path.write_text("{ not json")
    elif damage == "manifest-missing-file":
        (library_copy / manifest["files"]["docs"]).unlink()
    elif damage == "counts":
        manifest["papers"] = 67
        manifest_path.write_text(json.dumps(manifest))
    else:
        target = library_copy / manifest["files"][damage]
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    with pytest.raises(LibraryError, match="paperchat ingest"):
        PaperBot.open(library_copy, embedder=embedder)


def test_damaged_library_is_rebuilt_from_its_corpus_without_re_embedding(library_copy,
                                                                        embedder):
    manifest = json.loads((library_copy / MANIFEST).read_text())
    (library_copy / manifest["files"]["papers"]).write_text("[]")
    bot = PaperBot.from_corpus(None, library_copy, embedder=_NoEmbedding(embedder))
    assert len(bot.papers) == 68 and bot.last_embedded == 0  # every vector came from the cache


def test_interrupted_build_resumes_from_the_embedding_cache(tmp_path, embedder, monkeypatch):
    calls = []

    def embed_then_crash(texts, **kwargs):
        calls.append(len(texts))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the second chunk
        return embedder.real_embed(texts, **kwargs)

    monkeypatch.setattr(embedder, "real_embed", embedder.embed_documents, raising=False)
    monkeypatch.setattr(embedder, "embed_documents", embed_then_crash)
    with pytest.raises(KeyboardInterrupt):
        PaperBot.from_corpus(None, tmp_path / "lib", embedder=embedder)
    assert not (tmp_path / "lib" / MANIFEST).exists()  # nothing half-built is ever loaded
    monkeypatch.setattr(embedder, "embed_documents", embedder.real_embed)
    bot = PaperBot.from_corpus(None, tmp_path / "lib", embedder=embedder)
    total = calls[0] + bot.last_embedded
    assert calls[0] == 512 and 0 < bot.last_embedded < total - 500  # only the rest embedded
    assert len(bot.papers) == 68


def test_missing_library_says_how_to_build_one(tmp_path, embedder):
    with pytest.raises(LibraryError, match="no library at .*paperchat ingest"):
        PaperBot.open(tmp_path / "nothing-here", embedder=embedder)


def test_second_writer_fails_clearly_and_first_write_survives(library_copy, seed_bot):
    store = LibraryStore(library_copy)
    with store.writing():
        with pytest.raises(LibraryError, match="being written by another paperchat process"):
            with LibraryStore(library_copy).writing():
                pass
    assert len(store.load().papers) == 68


def test_crash_before_manifest_swap_keeps_previous_library(library_copy, seed_bot, monkeypatch):
    store = LibraryStore(library_copy)
    before = json.loads((library_copy / MANIFEST).read_text())

    names = {p.name for p in library_copy.iterdir()}

    def crash(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("bot.library.store._save_npy", crash)
    with pytest.raises(LibraryError, match="no space left on device while writing the library"):
        store.save(seed_bot.library)
    assert json.loads((library_copy / MANIFEST).read_text()) == before
    assert {p.name for p in library_copy.iterdir()} - names <= {JOURNAL}  # its files removed
    library = store.load()
    assert len(library.papers) == 68
    np.testing.assert_array_equal(library.sentence_spans, seed_bot.library.sentence_spans)


def test_an_earlier_embedding_cache_moves_over_and_nothing_is_re_embedded(tmp_path, embedder):
    import sqlite3

    from bot.library.store import LEGACY_EMBEDDING_CACHE

    built = tmp_path / "built"
    PaperBot.from_corpus(None, built, embedder=embedder)
    cache = LibraryStore(built).embedding_cache(embedder.identity, embedder.dim)
    digests = [d for (d,) in cache._db.execute("SELECT digest FROM keys")]
    vectors = cache.get(digests)
    cache.close()
    # The same vectors in the layout of earlier versions, beside a library to rebuild.
    target = tmp_path / "library"
    target.mkdir()
    legacy = sqlite3.connect(target / LEGACY_EMBEDDING_CACHE[0])
    legacy.execute("CREATE TABLE vectors (model TEXT, digest BLOB, vector BLOB, "
                   "PRIMARY KEY (model, digest)) WITHOUT ROWID")
    with legacy:
        legacy.executemany("INSERT INTO vectors VALUES (?, ?, ?)",
                           [(embedder.identity, d, v.tobytes()) for d, v in vectors.items()])
    legacy.close()
    bot = PaperBot.from_corpus(None, target, embedder=_NoEmbedding(embedder))
    assert bot.last_embedded == 0 and len(bot.papers) == 68
    assert not (target / LEGACY_EMBEDDING_CACHE[0]).exists()


def test_a_rebuild_reuses_the_unchanged_papers_and_equals_a_build_from_scratch(
        tmp_path, embedder, monkeypatch):
    import bot.library.build

    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_DIR, corpus)
    PaperBot.from_corpus([corpus], tmp_path / "grown", embedder=embedder)
    (corpus / "005_extra.txt").write_text(
        "Abstract:We study how tiny robots learn to juggle. Their hands are soft and slow.\n",
        encoding="utf-8")
    split = []
    real_split = bot.library.build.split_sentences
    monkeypatch.setattr(bot.library.build, "split_sentences",
                        lambda text: split.append(text) or real_split(text))
    grown = PaperBot.from_corpus([corpus], tmp_path / "grown", embedder=embedder)
    # Only the new paper was split and embedded: its two sentences and its whole (untitled) text.
    assert len(split) == 1 and grown.last_embedded == 3
    fresh = PaperBot.from_corpus([corpus], tmp_path / "fresh", embedder=embedder)
    a, b = grown.library, fresh.library
    assert [p.id for p in a.papers] == [p.id for p in b.papers] and len(a.papers) == 69
    assert np.array_equal(a.sentence_spans, b.sentence_spans)
    rows = np.arange(len(a.papers))
    np.testing.assert_allclose(a.doc_index.vectors(rows), b.doc_index.vectors(rows), atol=1e-6)
    np.testing.assert_allclose(np.asarray(a.sentence_vectors), np.asarray(b.sentence_vectors),
                               atol=1e-6)
    np.testing.assert_allclose(a.hubness, b.hubness, atol=1e-6)
    for query in ("juggling robots with soft hands", "credit assignment", "the"):
        np.testing.assert_allclose(a.lexical.scores(query), b.lexical.scores(query), atol=1e-5)
    np.testing.assert_allclose(a.lexical.similarity_of_paper(3)[1],
                               b.lexical.similarity_of_paper(3)[1], atol=1e-5)


def test_adding_papers_to_a_graph_index_inserts_them_instead_of_rebuilding(
        tmp_path, embedder, monkeypatch):
    import bot.library.build
    import embeddings.index

    monkeypatch.setattr(embeddings.index, "EXACT_LIMIT", 10)  # the seed corpus as a graph
    built = PaperBot.from_corpus(None, tmp_path / "lib", embedder=embedder)
    assert built.library.doc_index.approximate
    grown_calls = []
    real_grown = bot.library.build.grown_hubness
    monkeypatch.setattr(bot.library.build, "grown_hubness",
                        lambda *a: grown_calls.append(1) or real_grown(*a))
    extra = tmp_path / "more.txt"
    extra.write_text("Abstract:Juggling robots learn to catch balls with soft hands.\n",
                     encoding="utf-8")
    grown = built.add([extra])
    assert grown_calls and grown.library.doc_index.approximate
    assert grown.library.doc_index.count == len(grown.papers) == 69
    assert grown.search("juggling robots", k=1)[0].paper.abstract.startswith("Juggling robots")
    np.testing.assert_allclose(grown.library.doc_index.vectors(np.arange(68)),
                               built.library.doc_index.vectors(np.arange(68)))
    reopened = PaperBot.open(tmp_path / "lib", embedder=embedder)
    assert reopened.library.doc_index.count == 69
    # Hubness as a full computation would give it (this small graph's search is exhaustive).
    full = bot.library.build.hubness(reopened.library.doc_index,
                               reopened.library.doc_index.vectors(np.arange(69)))
    np.testing.assert_allclose(reopened.library.hubness, full, atol=1e-5)


def test_a_paper_keeps_its_own_row_when_another_has_the_same_text(seed_bot):
    from types import SimpleNamespace

    from bot.library.build import unchanged_rows

    first = seed_bot.papers[0]
    twin = first.model_copy(update={"id": "twin"})  # another id, the same title and abstract
    previous = SimpleNamespace(papers=[first, twin])
    appended = seed_bot.papers[1]
    assert unchanged_rows([first, twin, appended], previous).tolist() == [0, 1, -1]
    assert unchanged_rows([twin], previous).tolist() in ([0], [1])  # any row of its text
