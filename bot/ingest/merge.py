"""Fold the sightings of one paper into one `Paper`.

Two sightings are the same paper when they share an arXiv id, a DOI, a normalised title, or
a near-identical abstract (items without an abstract join only by an identity). Sightings
join only when nothing contradicts it: two different arXiv ids, DOIs, titles or source ids
keep papers apart, whatever their abstracts share (two papers of one project often open with
the same sentences).
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from bot.ingest.sighting import AbstractKeys, Sighting
from bot.records import Paper

NEAR_DUPLICATE_RATIO = 0.8  # word-level similarity of two wordings of one abstract
_SHINGLE = 5
_SKETCH = 4  # bottom-k min-hash keys per abstract used to find candidate pairs
_MAX_BUCKET = 50  # a key shared by more abstracts than this is boilerplate, not identity
# difflib's ratio takes time quadratic in the words: a megabyte line compared with its copies
# would hold a build for minutes.
# An abstract runs to a few hundred words; past this many, the rest is not compared.
_MAX_COMPARED_WORDS = 2_000
_WORD = re.compile(r"\w+")


def normalise_title(title: str) -> str:
    return " ".join(_WORD.findall(title.lower()))


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class _Groups:
    """Union-find whose groups remember the identities that must not be mixed."""

    def __init__(self, sightings: list[Sighting]):
        self.parent = list(range(len(sightings)))
        self.identity: list[dict[str, set[str]]] = [
            {
                "arxiv": {s.arxiv_id} if s.arxiv_id else set(),
                "doi": {s.doi} if s.doi else set(),
                "title": {normalise_title(s.title)} if s.title else set(),
                "source": {s.source_id} if s.source_id else set(),
            }
            for s in sightings
        ]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> bool:
        a, b = self.find(i), self.find(j)
        if a == b:
            return True
        ida, idb = self.identity[a], self.identity[b]
        if any(ida[k] and idb[k] and ida[k] != idb[k] for k in ida):
            return False
        self.parent[b] = a
        for k in ida:
            ida[k] |= idb[k]
        return True


def add_abstract_keys(sightings: list[Sighting]) -> None:
    """Give every sighting without them its abstract's keys, all texts at once."""
    missing = [s for s in sightings if s.abstract_keys is None]
    if not missing:
        return
    words = [_words(s.abstract) for s in missing]
    texts, keys = _sketches(words)
    bounds = np.searchsorted(texts, np.arange(len(missing) + 1))
    keys = keys.tolist()
    for i, (s, w) in enumerate(zip(missing, words, strict=True)):
        digest = hashlib.blake2b(" ".join(w).encode(), digest_size=16).hexdigest()
        s.abstract_keys = AbstractKeys(words=digest, sketch=tuple(keys[bounds[i]:bounds[i + 1]]))


def _sketches(words: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Bottom-k min-hash keys of every text's word 5-shingles, as (text, key) arrays sorted by
    text.

    Computed for all texts at once in numpy: a shingle's hash is a polynomial of its words'
    hashes (uint64, wrapping), far faster than hashing each shingle's string. Words are hashed
    by CRC-32 of their UTF-8, in C end to end (no bytecode per word) and the same in every
    process, as the keys are kept on disk.
    """
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    flat = np.fromiter(map(zlib.crc32, map(str.encode, itertools.chain.from_iterable(words))),
                       dtype=np.uint64, count=int(lengths.sum()))
    hashed = _mix(flat)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    text_of = np.repeat(np.arange(len(words)), lengths)
    # A shingle starts at every position with 5 words of its own text ahead of it: adjacent
    # slices of the whole array, the 4 last positions of each text masked out.
    count = max(len(flat) - _SHINGLE + 1, 0)
    shingles = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(_SHINGLE):
            shingles = shingles * np.uint64(0x100000001B3) + hashed[k : k + count]
    inside = np.ones(count, dtype=bool)
    for k in range(1, _SHINGLE):
        last = ends - k
        inside[last[(last >= starts) & (last < count)]] = False
    texts = text_of[:count][inside]
    shingles = shingles[inside]
    short = np.flatnonzero((lengths > 0) & (lengths < _SHINGLE))  # one shingle: all its words
    if len(short):
        with np.errstate(over="ignore"):
            whole = [np.bitwise_xor.reduce(hashed[starts[i] : starts[i] + lengths[i]]
                                           * np.uint64(0x9E3779B97F4A7C15)) for i in short]
        texts = np.concatenate([texts, short])
        shingles = np.concatenate([shingles, np.array(whole, dtype=np.uint64)])
    # One sort of (text, top 40 bits of the shingle) packed in a uint64: faster than a lexsort.
    # (Not np.unique: for uint64 it can take far longer than a sort.)
    packed = np.sort((texts.astype(np.uint64) << np.uint64(40)) | (shingles >> np.uint64(24)))
    packed = packed[np.concatenate([[True], packed[1:] != packed[:-1]])] if len(packed) else packed
    texts = (packed >> np.uint64(40)).astype(np.int64)
    first = np.searchsorted(texts, texts)  # where each text's run starts
    keep = np.arange(len(texts)) - first < _SKETCH
    return texts[keep], packed[keep] & np.uint64((1 << 40) - 1)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64: word ids to well-spread 64-bit hashes."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _near_duplicates(sightings: list[Sighting]) -> Iterable[tuple[int, int]]:
    sketches = [s.abstract_keys.sketch for s in sightings]
    texts = np.repeat(np.arange(len(sightings)), [len(k) for k in sketches])
    keys = np.fromiter(itertools.chain.from_iterable(sketches), dtype=np.uint64, count=len(texts))
    order = np.argsort(keys, kind="stable")
    texts, keys = texts[order], keys[order]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    seen: set[tuple[int, int]] = set()
    words: dict[int, list[str]] = {}  # only texts that share a key are tokenised
    vocabularies: dict[int, set[str]] = {}

    def words_of(i: int) -> list[str]:
        if i not in words:
            words[i] = _words(sightings[i].abstract)
        return words[i]

    def vocabulary(i: int) -> set[str]:
        if i not in vocabularies:
            vocabularies[i] = set(words_of(i))
        return vocabularies[i]

    for members in np.split(texts, bounds):
        if len(members) < 2 or len(members) > _MAX_BUCKET:
            continue  # alone, or boilerplate shared by too many texts to mean identity
        members = sorted(set(members.tolist()))
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pair = (members[x], members[y])
                if pair in seen:
                    continue
                seen.add(pair)
                if not _may_match(words_of(pair[0]), words_of(pair[1]), vocabulary(pair[0]),
                                  vocabulary(pair[1])):
                    continue
                matcher = difflib.SequenceMatcher(
                    None, words_of(pair[0])[:_MAX_COMPARED_WORDS],
                    words_of(pair[1])[:_MAX_COMPARED_WORDS], autojunk=False)
                if (matcher.real_quick_ratio() >= NEAR_DUPLICATE_RATIO
                        and matcher.quick_ratio() >= NEAR_DUPLICATE_RATIO
                        and matcher.ratio() >= NEAR_DUPLICATE_RATIO):
                    yield pair


def _may_match(a: list[str], b: list[str], vocabulary_a: set[str], vocabulary_b: set[str]
               ) -> bool:
    """False when even difflib's quick_ratio cannot reach the threshold: its matches can't
    exceed the words of either text that occur in the other. Most candidate pairs (texts
    sharing one stock phrase) end here, without building a SequenceMatcher."""
    total = len(a) + len(b)
    if 2 * min(len(a), len(b)) < NEAR_DUPLICATE_RATIO * total:
        return False
    a_in_b = sum(map(vocabulary_b.__contains__, a))
    b_in_a = sum(map(vocabulary_a.__contains__, b))
    return 2 * min(a_in_b, b_in_a) >= NEAR_DUPLICATE_RATIO * total


def group_sightings(sightings: list[Sighting]) -> list[list[int]]:
    """Indices of the sightings of each paper, in order of first sighting."""
    groups = _Groups(sightings)
    by_key: dict[tuple[str, str], int] = {}
    for i, s in enumerate(sightings):
        keys = [("arxiv", s.arxiv_id), ("doi", s.doi), ("source", s.source_id),
                ("title", normalise_title(s.title) if s.title else None)]
        for kind, value in keys:
            if value:
                first = by_key.setdefault((kind, value), i)
                groups.union(first, i)
    add_abstract_keys(sightings)
    exact: dict[str, int] = {}
    for i, s in enumerate(sightings):
        if s.abstract:  # items without an abstract are the same paper only by an identity
            first = exact.setdefault(s.abstract_keys.words, i)
            groups.union(first, i)
    for i, j in _near_duplicates(sightings):
        groups.union(i, j)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(sightings)):
        members[groups.find(i)].append(i)
    return sorted(members.values(), key=lambda m: m[0])


def build_paper(sightings: list[Sighting]) -> Paper:
    """One paper from all its sightings: every field from the first sighting that has it."""
    def first(attr: str):
        return next((getattr(s, attr) for s in sightings if getattr(s, attr)), None)

    # The fullest author list wins: a complete list beats one cut short by `et al.`.
    credited = max(sightings, key=lambda s: (bool(s.authors) and not s.authors_truncated,
                                             len(s.authors)))
    versions: list[str] = []
    for s in sightings:
        if s.abstract and s.abstract not in versions:
            versions.append(s.abstract)
    # The fullest wording is the one embedded and quoted; "" when no source gives one.
    abstract = max(versions, key=len, default="")
    title = first("title")
    arxiv_id = first("arxiv_id")
    source_id = first("source_id")
    doi = first("doi")
    return Paper(
        id=arxiv_id or source_id or (doi and f"doi:{doi}") or _content_id(title or abstract),
        title=title,
        authors=credited.authors,
        authors_truncated=credited.authors_truncated,
        organisations=_union(s.organisations for s in sightings),
        categories=_union(s.categories for s in sightings),
        date=first("date"),
        has_code=any(s.has_code for s in sightings),
        arxiv_id=arxiv_id,
        doi=doi,
        venue=first("venue"),
        url=first("url"),
        cite_key=first("cite_key"),
        keywords=_union(s.keywords for s in sightings),
        entry_type=first("entry_type"),
        comment=first("comment"),
        abstract=abstract,
        abstract_versions=[v for v in versions if v != abstract],
        sources=[s.source for s in sightings],
    )


def _content_id(text: str) -> str:
    return "pc-" + hashlib.sha1(" ".join(_words(text)).encode()).hexdigest()[:12]


def _union(lists: Iterable[list[str]]) -> list[str]:
    out: list[str] = []
    for items in lists:
        out.extend(x for x in items if x not in out)
    return out
