"""BM25 over title + abstract (bm25s), with English stop words and Snowball stemming.

Exact terms — a method's name, a dataset, "D4PG" — are where a small embedding model is
weakest; BM25 is strongest there. Fused with the dense scores it lifts SciFact nDCG@10
(README, "Retrieval quality"; `bench/quality.py`).

bm25s precomputes every (document, term) score into a sparse matrix; a query's scores are
one sparse product over its terms. Each paper's own terms are kept too, so "papers like this
one" needs no re-tokenising.

Paper-to-paper similarity also uses the cosine of BM25 term-weight vectors: a text is weighed
as if it were one more document, and compared with every paper's row of the matrix. Unlike
BM25 with a whole abstract as the query, it is symmetric and does not favour long papers.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import orjson
import scipy.sparse as sp
import Stemmer

_STEMMER = Stemmer.Stemmer("english")
_TOKENS, _OFFSETS = "paper_tokens.npy", "paper_token_offsets.npy"
_WORDS = "words.json"


def _tokenize(texts: Sequence[str], *, return_ids: bool):
    return bm25s.tokenize(list(texts), lower=True, stopwords="en", stemmer=_STEMMER,
                          return_ids=return_ids, show_progress=False)


def _terms_and_words(texts: Sequence[str]) -> tuple[list[list[str]], Counter[str]]:
    """Each text's stemmed terms, as `_tokenize` gives them, and how many texts each word
    (lower-cased, as written) occurs in: one tokenising pass for both, stemming the distinct
    words once, as bm25s does."""
    tokenized = bm25s.tokenize(list(texts), lower=True, stopwords="en", stemmer=None,
                               return_ids=True, show_progress=False)
    words = sorted(tokenized.vocab, key=tokenized.vocab.__getitem__)
    stems = _STEMMER.stemWords(words)
    terms = [[stems[i] for i in ids] for ids in tokenized.ids]
    counts = Counter(words[i] for ids in tokenized.ids for i in set(ids))
    return terms, counts


class _LuceneBM25(bm25s.BM25):
    """bm25s's Lucene BM25 with its (document, term) weights computed for all documents at
    once in numpy, where bm25s loops over documents in Python (much of the time of adding a
    few papers to a large library: `bench/incremental.py`). The same arithmetic in the same
    precisions, so the same weights to the bit, in the layout bm25s builds and reads
    (tests/test_lexical.py compares the two)."""

    def __init__(self):
        super().__init__(k1=1.2, b=0.75, method="lucene")

    def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True,
                             leave_progress=False) -> dict:
        lengths = np.fromiter(map(len, corpus_token_ids), dtype=np.int64,
                              count=len(corpus_token_ids))
        terms = np.fromiter(itertools.chain.from_iterable(corpus_token_ids), dtype=np.int64,
                            count=int(lengths.sum()))
        n_docs, n_vocab = len(corpus_token_ids), len(unique_token_ids)
        docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        # Sorted by (term, document): the order of a CSC matrix's entries; counts are tf.
        pairs, tf = np.unique(terms * n_docs + docs, return_counts=True)
        term_of, doc_of = np.divmod(pairs, n_docs)
        doc_frequency = np.bincount(term_of, minlength=n_vocab)
        distinct, which = np.unique(doc_frequency, return_inverse=True)
        idf = np.array([math.log(1 + (n_docs - df + 0.5) / (df + 0.5)) if df else 0.0
                        for df in distinct.tolist()], dtype=np.float32)[which]  # as bm25s
        k1, b = self.k1, self.b
        length_norm = k1 * ((1 - b) + b * lengths / lengths.mean())  # float64, per document
        tf = tf.astype(np.float32).astype(np.float64)
        weights = (idf[term_of].astype(np.float64) * (tf / (length_norm[doc_of] + tf)))
        self.nonoccurrence_array = None  # only BM25L and BM25+ have one; `save` reads it
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(doc_frequency, out=indptr[1:])
        return {"data": weights.astype(self.dtype), "indices": doc_of.astype(self.int_dtype),
                "indptr": indptr, "num_docs": n_docs}


class LexicalIndex:
    def __init__(self, bm25: bm25s.BM25, tokens: np.ndarray, offsets: np.ndarray,
                 words: dict[str, int] | None = None):
        self._bm25 = bm25
        # The texts' words as written (lower-cased, stop words left out), each with the number
        # of texts it occurs in: what a misspelt query word is corrected to (empty for a
        # library written before they were kept).
        self.words: dict[str, int] = words or {}
        scores = bm25.scores
        # (documents x terms) BM25 weights, sharing bm25s's arrays.
        self._matrix = sp.csc_matrix(
            (scores["data"], scores["indices"], scores["indptr"]),
            shape=(scores["num_docs"], len(scores["indptr"]) - 1), copy=False)
        # Every index in bounds (SciPy's products trust them: a bad one reads out of memory).
        self._matrix.check_format(full_check=True)
        if len(tokens) and (tokens.min() < 0 or tokens.max() >= self._matrix.shape[1]):
            raise ValueError("paper terms point outside the vocabulary")
        self._tokens = tokens  # every paper's term ids, concatenated
        self._offsets = offsets  # paper row -> start in _tokens (length N + 1)
        # Each paper's weight-vector length; the matrix is by columns, so its row ids index it.
        self._row_norms = np.sqrt(np.bincount(
            self._matrix.indices, weights=np.square(self._matrix.data, dtype=np.float64),
            minlength=self.count)).astype(np.float32)
        lengths = np.diff(offsets)
        self._mean_length = float(lengths.mean()) if len(lengths) else 1.0
        document_frequency = np.diff(self._matrix.indptr)
        n = max(self.count, 1)
        # Lucene's idf, the one bm25s's "lucene" method uses.
        self._idf = np.log1p((n - document_frequency + 0.5) / (document_frequency + 0.5))

    @property
    def count(self) -> int:
        return self._matrix.shape[0]

    @classmethod
    def build(cls, texts: Sequence[str], *, previous: LexicalIndex | None = None,
              previous_rows: np.ndarray | None = None) -> LexicalIndex:
        """BM25 over `texts`. Where previous_rows[i] >= 0, text i is that row's text in
        `previous`, whose stored terms are taken instead of tokenising it again (most of the
        cost); the weights are always computed anew, as every new text changes them."""
        reused = (np.asarray(previous_rows) if previous is not None and previous_rows is not None
                  else np.full(len(texts), -1))
        vocabulary: dict[str, int] = dict(previous._bm25.vocab_dict) if previous else {}
        # Words of texts no longer in the library keep their counts: a word the speller may
        # still correct to finds nothing, as it would have without the correction.
        words: Counter[str] = Counter(previous.words) if previous else Counter()
        ids: list = [None] * len(texts)
        fresh = np.flatnonzero(reused < 0)
        if len(fresh):
            terms, counts = _terms_and_words([texts[i] for i in fresh])
            words.update(counts)
            for i, stemmed in zip(fresh, terms, strict=True):
                ids[i] = [vocabulary.setdefault(w, len(vocabulary)) for w in stemmed]
        for i in np.flatnonzero(reused >= 0):
            ids[i] = previous._paper_term_ids(int(reused[i])).tolist()
        bm25 = _LuceneBM25()
        if not vocabulary:
            vocabulary[""] = 0  # bm25s needs a term, even over texts of stop words only
        bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocabulary), show_progress=False)
        lengths = np.array([len(x) for x in ids], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        tokens = (np.concatenate([np.asarray(x, dtype=np.int32) for x in ids])
                  if lengths.sum() else np.zeros(0, dtype=np.int32))
        return cls(bm25, tokens, offsets, dict(words))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every paper for the query (0 where no term matches)."""
        return self._signals(self._term_ids(query), cosines=False)[0]

    def scores_of_paper(self, row: int) -> np.ndarray:
        """BM25 score of every paper with this paper's own text as the query."""
        return self._signals(self._paper_term_ids(row), cosines=False)[0]

    def similarity(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Every paper's BM25 score with `text` as the query, and the cosine of its BM25
        weight vector to that of `text` weighed as one more paper."""
        return self._signals(self._term_ids(text), cosines=True)

    def similarity_of_paper(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """`similarity` for a paper of the index, from its stored terms."""
        return self._signals(self._paper_term_ids(row), cosines=True)

    def similarity_of_papers(self, rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """`similarity` for these papers' texts taken together, as if one text."""
        ids = [self._paper_term_ids(int(row)) for row in rows]
        return self._signals(np.concatenate(ids) if ids else ids, cosines=True)

    def holds_term(self, word: str) -> bool:
        """Whether some text holds this word or another form of it (the same stem)."""
        return _STEMMER.stemWord(word.lower()) in self._bm25.vocab_dict

    def coverage(self, query: str, rows: np.ndarray,
                 ignored: frozenset[str] = frozenset()) -> np.ndarray:
        """For each of these papers, the share of the query's terms (weighed by idf) that its
        text holds: 1 when every term is there. A term no paper holds weighs as much as the
        rarest: a question about what the library never mentions is covered by none.
        `ignored`: words that say how a question is asked, not what about ("papers")."""
        skip = set(_STEMMER.stemWords(sorted(ignored)))
        terms = [t for t in _tokenize([query], return_ids=False)[0] if t not in skip]
        if not terms or len(rows) == 0:
            return np.zeros(len(rows), dtype=np.float32)
        vocabulary = self._bm25.vocab_dict
        known = np.array(sorted({vocabulary[t] for t in terms if t in vocabulary}),
                         dtype=np.int64)
        unknown = len({t for t in terms if t not in vocabulary})
        rarest = float(np.log1p((self.count + 0.5) / 0.5))
        weights = self._idf[known] if len(known) else np.zeros(0)
        total = float(weights.sum()) + unknown * rarest
        if len(known) == 0 or total <= 0:
            return np.zeros(len(rows), dtype=np.float32)
        held = (self._matrix[:, known].tocsr()[rows] > 0).astype(np.float32)  # columns first
        return (np.asarray(held @ weights, dtype=np.float32).ravel() / total).astype(np.float32)

    def _term_ids(self, text: str) -> list[int]:
        vocabulary = self._bm25.vocab_dict
        return [vocabulary[t] for t in _tokenize([text], return_ids=False)[0] if t in vocabulary]

    def _paper_term_ids(self, row: int) -> np.ndarray:
        return self._tokens[self._offsets[row] : self._offsets[row + 1]]

    def _signals(self, term_ids, *, cosines: bool) -> tuple[np.ndarray, np.ndarray | None]:
        ids = np.asarray(term_ids, dtype=np.int64)
        ids = ids[ids < self._matrix.shape[1]]
        if len(ids) == 0:
            zeros = np.zeros(self.count, dtype=np.float32)
            return zeros, zeros.copy() if cosines else None
        terms, counts = np.unique(ids, return_counts=True)  # a repeated term counts again
        columns = self._matrix[:, terms]  # one slice serves both signals
        bm25 = np.asarray(columns @ counts.astype(np.float32), dtype=np.float32).ravel()
        if not cosines:
            return bm25, None
        k1, b = self._bm25.k1, self._bm25.b
        saturation = counts / (counts + k1 * (1 - b + b * len(ids) / self._mean_length))
        weights = (self._idf[terms] * saturation).astype(np.float32)
        dots = np.asarray(columns @ weights, dtype=np.float32).ravel()
        norm = float(np.linalg.norm(weights))
        return bm25, dots / np.maximum(self._row_norms * norm, 1e-12)

    def write(self, directory: Path) -> None:
        self._bm25.save(str(directory), allow_pickle=False)
        np.save(directory / _TOKENS, self._tokens, allow_pickle=False)
        np.save(directory / _OFFSETS, self._offsets, allow_pickle=False)
        (directory / _WORDS).write_bytes(orjson.dumps(self.words))

    @classmethod
    def read(cls, directory: Path) -> LexicalIndex:
        bm25 = bm25s.BM25.load(str(directory), allow_pickle=False, mmap=False)
        tokens = np.load(directory / _TOKENS, allow_pickle=False)
        offsets = np.load(directory / _OFFSETS, allow_pickle=False)
        if offsets.ndim != 1 or len(offsets) != bm25.scores["num_docs"] + 1:
            raise ValueError(f"{_OFFSETS} does not match the index")
        return cls(bm25, tokens, offsets, _read_words(directory / _WORDS))


def _read_words(path: Path) -> dict[str, int]:
    """The word counts, checked; none for a library written before they were kept."""
    if not path.is_file():
        return {}
    words = orjson.loads(path.read_bytes())
    if not isinstance(words, dict) or not all(
            isinstance(count, int) for count in words.values()):
        raise ValueError(f"{path.name} is not a mapping of words to counts")
    return words
