"""BM25 weights: paperchat's vectorised build against bm25s's own."""

from __future__ import annotations

import bm25s
import numpy as np

from bot import ingest
from bot.library.contents import document_text
from bot.library.lexical import LexicalIndex, _LuceneBM25, _tokenize


def test_vectorised_bm25_weights_equal_bm25s_to_the_bit(seed_files, tmp_path):
    texts = [document_text(p) for p in ingest(seed_files).papers]
    texts += ["", "the of and", "attention attention attention is all you need"]
    vocabulary: dict[str, int] = {}
    ids = [[vocabulary.setdefault(w, len(vocabulary)) for w in words]
           for words in _tokenize(texts, return_ids=False)]
    vocabulary["unused"] = len(vocabulary)  # a term of an earlier build, in no text now

    reference, ours = bm25s.BM25(k1=1.2, b=0.75, method="lucene"), _LuceneBM25()
    for model in (reference, ours):
        model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(vocabulary)),
                    show_progress=False)
    for part in ("data", "indices", "indptr"):
        assert ours.scores[part].dtype == reference.scores[part].dtype
        assert np.array_equal(ours.scores[part], reference.scores[part]), part
    assert ours.scores["num_docs"] == reference.scores["num_docs"] == len(texts)
    assert ours.vocab_dict == reference.vocab_dict

    index = LexicalIndex.build(texts)
    index.write(tmp_path)
    query = "attention"
    expected = reference.get_scores(_tokenize([query], return_ids=False)[0])
    for built in (index, LexicalIndex.read(tmp_path)):
        np.testing.assert_array_equal(built.scores(query), expected)
