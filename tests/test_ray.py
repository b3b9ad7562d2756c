"""`--engine ray`: the same library as the local engine, an interrupted run resumed from the
embedding cache, a dead worker retried. Real Ray, in local mode, on real arXiv papers.

Without Ray installed these tests are skipped, unless PAPERCHAT_REQUIRE_RAY=1 (as in CI),
where that is a failure. Ray starts in a few seconds, so the slices are small.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from bot import LibraryError, PaperBot
from bot.library.store import LibraryStore
from bot.surfaces.cli import main
from embeddings import EmbeddingCache

CORPUS = REPO.parent / "shared" / "corpora" / "arxiv-cs-75k.jsonl.gz"
QUERIES = ["graph neural networks for molecules", "reinforcement learning with sparse rewards",
           "adversarial robustness of image classifiers", "speech recognition"]


def _ray_installed() -> bool:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


needs_ray = pytest.mark.skipif(
    not _ray_installed() and os.environ.get("PAPERCHAT_REQUIRE_RAY") != "1",
    reason="Ray is not installed (pip install '.[ray]')")


def _slice(tmp_path: Path, start: int, count: int) -> Path:
    """`count` papers of the shared arXiv corpus, gzipped like the original."""
    if not CORPUS.exists():
        pytest.skip("../shared is not beside this checkout")
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        lines = list(itertools.islice(fh, start, start + count))
    path = tmp_path / f"arxiv-{start}-{count}.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.writelines(lines)
    return path


def _cache(index_dir: Path, embedder) -> EmbeddingCache:
    return LibraryStore(index_dir).embedding_cache(embedder.identity, embedder.dim)


def _cached_count(index_dir: Path, embedder) -> int:
    with contextlib.closing(_cache(index_dir, embedder)) as cache:
        return len(cache)


@needs_ray
def test_ray_builds_the_same_library_as_the_local_engine(tmp_path, embedder, capsys):
    import ray

    corpus = _slice(tmp_path, 0, 200)
    local = PaperBot.from_corpus([corpus], tmp_path / "local", embedder=embedder)
    assert not ray.is_initialized()
    assert main(["ingest", str(corpus), "--index", str(tmp_path / "ray"), "--engine", "ray"]) == 0
    assert f"{local.last_embedded} texts embedded" in capsys.readouterr().out
    assert not ray.is_initialized()  # the local Ray it started is stopped again

    local = PaperBot.open(tmp_path / "local", embedder=embedder)
    distributed = PaperBot.open(tmp_path / "ray", embedder=embedder)
    assert len(local.papers) == 200
    assert [p.model_dump() for p in distributed.papers] == [p.model_dump() for p in local.papers]
    rows = np.arange(len(local.papers))
    np.testing.assert_allclose(distributed.library.doc_index.vectors(rows),
                               local.library.doc_index.vectors(rows), atol=1e-5)
    np.testing.assert_allclose(np.asarray(distributed.library.sentence_vectors),
                               np.asarray(local.library.sentence_vectors), atol=1e-5)
    np.testing.assert_array_equal(distributed.library.sentence_spans,
                                  local.library.sentence_spans)
    for query in QUERIES:
        ours, theirs = distributed.search(query, k=10), local.search(query, k=10)
        assert [h.paper.id for h in ours] == [h.paper.id for h in theirs]
        assert [h.evidence for h in ours] == [h.evidence for h in theirs]
        np.testing.assert_allclose([h.score for h in ours], [h.score for h in theirs], atol=1e-5)


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the tests below; the engine uses a Ray it finds and leaves it up."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=256 * 1024**2)
    yield ray
    ray.shutdown()


@needs_ray
def test_an_interrupted_ray_ingest_resumes_without_re_embedding(tmp_path, embedder, local_ray,
                                                                monkeypatch):
    from embeddings import cache
    from embeddings.ray_engine import RayEngine

    monkeypatch.setattr(cache, "CHUNK", 32)  # several chunks from a small slice
    corpus = _slice(tmp_path, 1000, 30)
    index = tmp_path / "library"
    stream = RayEngine.stream
    sent: list[list[str]] = []

    def stopped_after_three_chunks(self, texts, chunk):
        sent.append(list(texts))
        with contextlib.closing(stream(self, texts, chunk)) as chunks:
            for number, item in enumerate(chunks):
                if number == 3:
                    raise KeyboardInterrupt  # as Ctrl-C in the middle of the run
                yield item

    monkeypatch.setattr(RayEngine, "stream", stopped_after_three_chunks)
    with pytest.raises(KeyboardInterrupt):
        PaperBot.from_corpus([corpus], index, embedder=embedder, engine="ray")
    assert _cached_count(index, embedder) == 3 * 32  # each chunk that came back is committed

    def recorded(self, texts, chunk):
        sent.append(list(texts))
        yield from stream(self, texts, chunk)

    monkeypatch.setattr(RayEngine, "stream", recorded)
    bot = PaperBot.from_corpus([corpus], index, embedder=embedder, engine="ray")
    first, second = sent
    assert bot.last_embedded == len(second) == len(first) - 3 * 32
    assert _cached_count(index, embedder) == len(first)
    # Nothing committed before the interruption went to the workers again.
    with contextlib.closing(_cache(index, embedder)) as stored:
        resumed = stored.get([cache.text_digest(t) for t in second])
    assert len(resumed) == len(second) and len(set(first) - set(second)) == 3 * 32
    assert len(bot.papers) == 30 and bot.search("neural networks", k=3)


@needs_ray
def test_a_worker_that_dies_mid_batch_is_replaced_and_its_batch_retried(tmp_path, embedder,
                                                                          local_ray):
    from ray import cloudpickle

    from embeddings.ray_engine import EncoderActor, RayEngine

    marker = tmp_path / "died-once"
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests

    class DiesOnce(EncoderActor):
        def __call__(self, batch):
            if not marker.exists():
                marker.touch()
                os._exit(1)  # the process dies, as in a crash or an out-of-memory kill
            return super().__call__(batch)

    texts = [f"Sentence number {i} about transformers and attention." for i in range(24)]
    engine = RayEngine(embedder, actor=DiesOnce)
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for rows, chunk in engine.stream(texts, 8):
        vectors[rows] = chunk
    assert marker.exists()
    np.testing.assert_allclose(vectors, embedder.embed_documents(texts), atol=1e-5)


def test_without_ray_the_engine_says_how_to_install_it(tmp_path, seed_files, monkeypatch,
                                                       capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(LibraryError, match=r"pip install 'paperchat\[ray\]'"):
        PaperBot.from_corpus(seed_files[:1], tmp_path / "a", engine="ray")
    assert main(["ingest", str(seed_files[0]), "--index", str(tmp_path / "b"),
                 "--engine", "ray"]) == 1
    err = capsys.readouterr().err
    assert "paperchat[ray]" in err and "Traceback" not in err
    assert not (tmp_path / "b" / "manifest.json").exists()
    monkeypatch.setenv("PAPERCHAT_EMBEDDING__ENGINE", "ray")  # the setting, without the flag
    assert main(["ingest", str(seed_files[0]), "--index", str(tmp_path / "c")]) == 1
    assert "paperchat[ray]" in capsys.readouterr().err


def test_an_address_needs_the_ray_engine(seed_files, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", str(seed_files[0]), "--address", "ray://head:10001"])
    assert exit_info.value.code == 2
    assert "--address needs --engine ray" in capsys.readouterr().err


@needs_ray
def test_workers_with_another_model_fail_the_run_with_a_clear_message(tmp_path, local_ray,
                                                                       seed_files, embedder):
    from embeddings.onnx_int8 import OnnxInt8Encoder

    class Elsewhere(OnnxInt8Encoder):  # as if the driver had other weights than the nodes
        identity = "0" * 64 + ":onnx-int8"

    with pytest.raises(LibraryError, match="install the same paperchat on every node"):
        PaperBot.from_corpus(seed_files[:1], tmp_path / "library",
                             embedder=Elsewhere(embedder.spec), engine="ray")
    assert not (tmp_path / "library" / "manifest.json").exists()
