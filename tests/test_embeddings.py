"""The bundled model and the FAISS index, with no knowledge of papers."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import typing

import numpy as np
import pytest

from bot.paperbot import encoder_for  # the real one: conftest puts the session's in its place
from bot.settings import EmbeddingSettings, get_settings
from embeddings import (
    BUNDLED_WEIGHTS_SHA256,
    ENCODERS,
    CacheError,
    EmbeddingCache,
    EncoderKind,
    EncoderSpec,
    IndexFileError,
    ModelUnavailable,
    VectorIndex,
    bundled_model_path,
)
from embeddings.cache import text_digest
from embeddings.model_files import pooling_mode
from embeddings.onnx_int8 import OnnxInt8Encoder


def test_bundled_weights_are_the_upstream_revision():
    weights = bundled_model_path() / "model.safetensors"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == BUNDLED_WEIGHTS_SHA256
    assert BUNDLED_WEIGHTS_SHA256 == (
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")


def test_documents_and_queries_become_unit_vectors(embedder):
    docs = embedder.embed_documents(["Relational reasoning with neural networks.",
                                     "A recipe for chocolate cake."])
    query = embedder.embed_query("neural networks that reason about relations")
    assert docs.shape == (2, 384) and docs.dtype == np.float32 and query.shape == (384,)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert docs[0] @ query > docs[1] @ query + 0.3
    assert embedder.embed_documents([]).shape == (0, 384)


def test_embeddings_package_never_imports_bot():
    code = ("import sys, embeddings.index, embeddings.registry, embeddings.ray_engine; "
            "sys.exit(any(m == 'bot' or m.startswith('bot.') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_model_loads_with_no_network(tmp_path):
    """The model is read from its folder only: a hub lookup would fail here, and the
    library leaves the process's environment as it found it (no HF_HUB_OFFLINE)."""
    code = ("import os; from embeddings import EncoderSpec, make_encoder; "
            "e = make_encoder(EncoderSpec()); "
            "v = e.embed_query('x'); assert 'HF_HUB_OFFLINE' not in os.environ; print(v.shape)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HOME": str(tmp_path / "hf"),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "(384,)" in out.stdout


def test_index_search_respects_allowed_ids_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(8)
    index.add(vectors, np.arange(50))
    scores, ids = index.search(vectors[7], 3)
    assert ids[0, 0] == 7 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    _, ids = index.search(vectors[7], 5, allowed_ids=np.array([1, 2, 3]))
    assert set(ids[0][ids[0] >= 0]) == {1, 2, 3} and list(ids[0][3:]) == [-1, -1]
    _, ids = index.search(vectors[7], 5, allowed_ids=np.array([], dtype=np.int64))
    assert (ids == -1).all()
    index.write(tmp_path / "v.faiss")
    again = VectorIndex.read(tmp_path / "v.faiss")
    assert again.count == 50 and again.dim == 8
    np.testing.assert_array_equal(again.vectors(np.array([3, 4])), vectors[[3, 4]])


def test_large_indexes_are_hnsw_graphs_with_the_same_interface(tmp_path, monkeypatch):
    """Above the exact limit the index is approximate; it finds what exact search finds,
    honours filters (a narrow one exactly), reconstructs vectors and round-trips to disk."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, 32))
    vectors = (centres[rng.integers(0, 40, 3000)] + 0.5 * rng.normal(size=(3000, 32)))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    exact = VectorIndex.build(vectors, np.arange(3000))
    graph = VectorIndex.build(vectors, np.arange(3000), exact_limit=1000)
    assert graph.approximate and not exact.approximate
    queries = vectors[:100]
    _, truth = exact.search(queries, 10)
    _, found = graph.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.95
    allowed = np.arange(0, 3000, 7)
    _, filtered = graph.search(queries[:5], 10, allowed_ids=allowed)
    _, filtered_truth = exact.search(queries[:5], 10, allowed_ids=allowed)
    np.testing.assert_array_equal(filtered, filtered_truth)  # narrow filter: searched exactly
    import embeddings.index

    monkeypatch.setattr(embeddings.index, "EXACT_FILTER_LIMIT", 100)
    for _ in range(3):  # a broad filter goes through the graph, its selector kept alive
        _, broad = graph.search(queries[:20], 10, allowed_ids=np.arange(1, 3000))
        assert (broad >= 1).all()
    np.testing.assert_array_equal(graph.vectors(np.array([5, 9])), vectors[[5, 9]])
    graph.write(tmp_path / "g.faiss")
    again = VectorIndex.read(tmp_path / "g.faiss")
    assert again.approximate and again.count == 3000


def test_damaged_index_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.faiss"
    path.write_bytes(b"this is not an index")
    with pytest.raises(IndexFileError, match="broken.faiss"):
        VectorIndex.read(path)


def test_int8_onnx_encoder_agrees_with_torch(embedder):
    """The fast path stays within the accuracy bar: mean cosine >= 0.98 to full precision."""
    from bot.ingest import ingest
    from bot.library.contents import document_text
    from bot.paperbot import SEED_DIR
    from embeddings import EncoderSpec, make_encoder

    assert embedder.kind == "onnx-int8"
    texts = [document_text(p) for p in ingest([SEED_DIR]).papers[:40]]
    texts += ["credit assignment over long delays", "a", "ünïcödé ∑ math $k$ tokens"]
    fast = embedder.embed_documents(texts)
    exact = make_encoder(EncoderSpec(kind="torch")).embed_documents(texts)
    cosine = (fast * exact).sum(axis=1)
    assert cosine.mean() >= 0.98 and cosine.min() >= 0.95
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # Queries are embedded the same way, one at a time.
    np.testing.assert_allclose(embedder.embed_query(texts[0]), fast[0], atol=1e-5)


def test_long_texts_are_truncated_to_the_model_window(embedder):
    long = "relational reasoning " * 1000
    vector = embedder.embed_documents([long, long + " and more words at the end"])
    assert vector.shape == (2, 384)
    np.testing.assert_allclose(vector[0], vector[1], atol=1e-6)  # only the first 256 tokens count


def test_int8_vectors_keep_cosines_and_read_rows_as_an_array_would(tmp_path):
    from embeddings import Int8Vectors

    vectors = _unit_vectors(40, dim=384, seed=3)
    vectors[7] = 0.0  # a zero row stays zero
    stored = Int8Vectors.quantize(vectors)
    assert stored.shape == (40, 384) and len(stored) == 40
    stored.save(tmp_path / "v.npy")
    mapped = Int8Vectors.open(tmp_path / "v.npy")
    rows = np.array([5, 6, 7, 2, 3, 39, 0])
    np.testing.assert_array_equal(mapped[rows], stored[rows])
    np.testing.assert_allclose(mapped[rows], vectors[rows], atol=np.abs(vectors).max() / 127)
    assert not mapped[np.array([7])].any()
    query = _unit_vectors(1, dim=384, seed=4)[0]
    assert np.abs(np.asarray(mapped) @ query - vectors @ query).max() < 2e-3
    np.testing.assert_array_equal(mapped[10:14], stored[np.arange(10, 14)])
    assert mapped[np.array([], dtype=np.int64)].shape == (0, 384)
    copy = Int8Vectors.zeros(3, 384)  # rows copied as stored: quantized once, never again
    copy.put([2, 0], mapped.take([5, 6]))
    np.testing.assert_array_equal(copy[[2, 0]], mapped[[5, 6]])
    with pytest.raises(IndexError):
        mapped[np.array([40])]
    (tmp_path / "short.npy").write_bytes((tmp_path / "v.npy").read_bytes()[:-10])
    with pytest.raises(ValueError):
        Int8Vectors.open(tmp_path / "short.npy")
    np.save(tmp_path / "f32.npy", vectors)
    with pytest.raises(ValueError, match="not packed int8"):
        Int8Vectors.open(tmp_path / "f32.npy")


def _unit_vectors(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_cache_embeds_each_text_once_and_keeps_models_apart(tmp_path):
    calls: list[int] = []

    def embed(texts):
        calls.append(len(texts))
        return _unit_vectors(len(texts), seed=len(calls))

    cache = EmbeddingCache(tmp_path / "cache", "model-a", 8)
    first, embedded = cache.embed(["a", "b", "a"], embed)
    assert embedded == 2 and np.array_equal(first[0], first[2])
    again, embedded = cache.embed(["b", "a", "c"], embed)
    assert embedded == 1 and np.array_equal(again[0], first[1]) and np.array_equal(
        again[1], first[0])
    cache.close()
    other = EmbeddingCache(tmp_path / "cache", "model-b", 8)
    assert other.get([text_digest("a")]) == {}  # another model's vectors never leak in
    with pytest.raises(CacheError, match="8-dimensional"):
        EmbeddingCache(tmp_path / "cache", "model-a", 16)


def test_cache_survives_a_torn_write_and_keys_past_the_end(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache", "m", 8)
    cache.put([text_digest("a"), text_digest("b")], _unit_vectors(2))
    # A crash mid-write left half a row; the next write cuts it off and lines up again.
    with cache.vectors_path.open("ab") as fh:
        fh.write(b"\0" * 10)
    cache.put([text_digest("c")], _unit_vectors(1, seed=3))
    assert np.allclose(cache.get([text_digest("c")])[text_digest("c")], _unit_vectors(1, seed=3))
    # A vector file cut short: the keys past its end count as not cached, to be re-embedded.
    with cache.vectors_path.open("r+b") as fh:
        fh.truncate(8 * 4 * 2)
    assert set(cache.get([text_digest(t) for t in "abc"])) == {text_digest("a"),
                                                              text_digest("b")}


def test_garbage_cache_keys_are_a_clear_error(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "keys.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(CacheError, match="keys.sqlite"):
        EmbeddingCache(tmp_path / "cache", "m", 8)


def test_every_encoder_kind_has_one_class_and_the_settings_offer_them():
    assert set(ENCODERS) == set(typing.get_args(EncoderKind)) == {"onnx-int8", "torch"}
    assert EmbeddingSettings.model_fields["encoder"].annotation == EncoderKind
    for kind, encoder in ENCODERS.items():
        assert encoder.kind == kind


def test_the_encoder_keeps_its_files_under_the_settings_home(tmp_path, monkeypatch):
    monkeypatch.delenv("PAPERCHAT_EMBEDDING__CACHE_DIR")
    settings = get_settings(home=tmp_path / "home")
    encoder = encoder_for(settings)
    assert encoder.kind == "onnx-int8" and encoder.cache_dir == tmp_path / "home" / "cache"
    # as libraries store it
    assert encoder.identity == f"{BUNDLED_WEIGHTS_SHA256}:onnx-int8:per-token"
    assert list((tmp_path / "home" / "cache" / "digests").iterdir())  # the digest's memo
    assert encoder.path == (tmp_path / "home" / "cache" / "models"
                            / f"all-MiniLM-L6-v2-{BUNDLED_WEIGHTS_SHA256[:16]}-int8-pt.onnx")
    monkeypatch.setenv("PAPERCHAT_ENCODER", "torch")  # the shorthand the README documents
    torch = encoder_for(get_settings(home=tmp_path / "home"))
    assert torch.kind == "torch" and torch.identity == f"{BUNDLED_WEIGHTS_SHA256}:torch"


def test_a_model_folder_gives_its_own_dimension_name_and_pooling(tmp_path):
    folder = tmp_path / "wide-model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"hidden_size": 768}))
    (folder / "model.safetensors").write_bytes(b"weights")
    encoder = OnnxInt8Encoder(EncoderSpec(model=folder, cache_dir=tmp_path / "cache"))
    assert encoder.dim == 768 and encoder.name == "wide-model"
    assert encoder.identity == hashlib.sha256(b"weights").hexdigest() + ":onnx-int8:per-token"
    assert encoder.path.name.startswith("wide-model-")
    assert pooling_mode(folder) == "mean"  # no pooling config: sentence-transformers' default
    pooling = folder / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({"pooling_mode_cls_token": True,
                                   "pooling_mode_mean_tokens": False}))
    assert pooling_mode(folder) == "cls"
    pooling.write_text(json.dumps({"pooling_mode_cls_token": True,
                                   "pooling_mode_mean_tokens": True}))
    with pytest.raises(ModelUnavailable, match="pooling"):
        pooling_mode(folder)
