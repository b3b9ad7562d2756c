"""The int8 encoder's per-token scales: a text's vector is its own, alone or in any batch,
the optimized graph computes what the plain one does, and a library of the earlier
encoder's vectors is rebuilt saying why."""

from __future__ import annotations

import json
import random
import sqlite3

import numpy as np
import pytest

from bot.ingest import ingest
from bot.library.contents import FORMAT_VERSION
from bot.library.sentences import split_sentences
from bot.paperbot import SEED_DIR, PaperBot
from bot.surfaces.cli import main
from embeddings.cache import KEYS_FILE
from embeddings.int8_graph import SESSION_OPTIMIZATION, quantize_columns
from embeddings.onnx_int8 import length_batches, open_session, run_batch


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    """A few hundred real texts of every length: titles, sentences, whole abstracts."""
    papers = ingest([SEED_DIR]).papers
    texts = [p.title for p in papers if p.title]
    texts += [p.abstract[s:e] for p in papers[:20] for s, e in split_sentences(p.abstract)]
    texts += [p.abstract for p in papers[:40]]
    return texts


def test_a_texts_vector_is_the_same_alone_and_in_shuffled_batches(embedder, seed_texts):
    embedder._load()
    session = open_session(embedder.path, threads=1)
    ids = [e.ids for e in embedder._tokenizer.encode_batch(seed_texts)]
    alone = np.stack([run_batch(session, [i], embedder._pooling)[0] for i in ids])
    shuffled = list(range(len(seed_texts)))
    random.Random(7).shuffle(shuffled)
    size = 7  # batches of unlike lengths: the most padding
    batched = np.zeros_like(alone)
    for start in range(0, len(shuffled), size):
        rows = shuffled[start : start + size]
        batched[rows] = run_batch(session, [ids[r] for r in rows], embedder._pooling)
    assert (alone * batched).sum(axis=1).min() >= 0.99999
    # And through the encoder's own batching, in another order.
    order = shuffled[::-1]
    through = embedder.embed_documents([seed_texts[r] for r in order])
    assert ((alone[order] * through).sum(axis=1)).min() >= 0.99999
    assert len(seed_texts) >= 200


def test_the_optimized_graph_computes_what_the_plain_graph_does(embedder, seed_texts):
    """Graph optimizations that fuse the int8 MatMuls must keep each token's own scale."""
    embedder._load()
    assert SESSION_OPTIMIZATION != "ORT_DISABLE_ALL"
    plain = open_session(embedder.path, threads=1, optimization="ORT_DISABLE_ALL")
    optimized = open_session(embedder.path, threads=1)
    ids = [e.ids for e in embedder._tokenizer.encode_batch(seed_texts[:64])]
    for start in range(0, len(ids), 16):
        batch = ids[start : start + 16]
        a = run_batch(plain, batch, embedder._pooling)
        b = run_batch(optimized, batch, embedder._pooling)
        assert (a * b).sum(axis=1).min() >= 0.99999


def test_length_batches_group_like_lengths_within_the_token_budget():
    lengths = [5, 200, 7, 6, 190, 250, 5, 8]
    batches = length_batches(lengths, most_texts=3, most_tokens=500)
    assert sorted(r for batch in batches for r in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3 and max(lengths[r] for r in batch) * len(batch) <= 500
    assert batches[0] == [5, 1]  # the longest first, as many as the budget allows
    assert length_batches([300], most_texts=8, most_tokens=100) == [[0]]  # a long text alone


def test_weight_columns_are_quantized_each_on_its_own_scale():
    weight = np.array([[0.5, -100.0, 0.0], [-0.25, 50.0, 0.0]], dtype=np.float32)
    quantized, scales = quantize_columns(weight)
    assert quantized.dtype == np.int8 and list(quantized[0]) == [127, -127, 0]
    np.testing.assert_allclose(quantized * scales, weight, atol=scales.max() / 2)
    assert scales[2] == 1.0  # an all-zero column: any scale, not a division by zero


def test_an_earlier_encoders_library_is_rebuilt_saying_why(tmp_path, seed_files, capsys):
    folder = tmp_path / "lib"
    bot = PaperBot.from_corpus(seed_files, folder)
    assert bot.last_recomputed is None
    # As a library of the previous version left it: format 6, its int8 vectors cached under
    # the encoder's earlier identity.
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps(manifest | {"format_version": FORMAT_VERSION - 1}))
    keys = sqlite3.connect(next(folder.rglob(KEYS_FILE)))
    with keys:
        keys.execute("UPDATE models SET name = ? WHERE name = ?",
                     (bot.embedder.earlier_identity, bot.embedder.identity))
    keys.close()

    with pytest.raises(Exception, match="format"):
        PaperBot.open(folder)  # reading never rebuilds: it says what to do
    assert main(["ingest", *map(str, seed_files), "--index", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "vectors recomputed: the int8 encoder now scales each token's activations" in out
    assert json.loads(manifest_path.read_text())["format_version"] == FORMAT_VERSION
    again = PaperBot.open(folder)
    assert len(again.papers) == len(bot.papers)
    np.testing.assert_allclose(again.library.doc_index.vectors(np.arange(5)),
                               bot.library.doc_index.vectors(np.arange(5)), atol=1e-5)


def test_a_library_whose_vectors_did_not_change_is_rebuilt_from_the_cache(tmp_path, seed_files,
                                                                          capsys):
    folder = tmp_path / "lib"
    PaperBot.from_corpus(seed_files, folder)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps(manifest | {"format_version": FORMAT_VERSION - 1}))
    assert main(["ingest", *map(str, seed_files), "--index", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "0 texts embedded" in out and "recomputed" not in out
