"""Fold the sightings of one paper into one `Paper`.

Two sightings are the same paper when they share an arXiv id, a normalised title, or a
near-identical abstract. Sightings join only when nothing contradicts it: two different
arXiv ids, titles or source ids keep papers apart, whatever their abstracts share (two
papers of one project often open with the same sentences).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable

from bot.ingest.sighting import Sighting
from bot.records import Paper

NEAR_DUPLICATE_RATIO = 0.8  # word-level similarity of two wordings of one abstract
_SHINGLE = 5
_SKETCH = 4  # bottom-k min-hash keys per abstract used to find candidate pairs
_MAX_BUCKET = 50  # a key shared by more abstracts than this is boilerplate, not identity
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


def _sketch(words: list[str]) -> list[int]:
    shingles = {" ".join(words[i : i + _SHINGLE]) for i in range(max(1, len(words) - _SHINGLE + 1))}
    hashes = sorted(zlib.crc32(s.encode()) for s in shingles)
    return hashes[:_SKETCH]


def _near_duplicates(words: list[list[str]]) -> Iterable[tuple[int, int]]:
    buckets: dict[int, list[int]] = defaultdict(list)
    for i, w in enumerate(words):
        for key in _sketch(w):
            buckets[key].append(i)
    seen: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) > _MAX_BUCKET:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pair = (members[x], members[y])
                if pair in seen:
                    continue
                seen.add(pair)
                matcher = difflib.SequenceMatcher(None, words[pair[0]], words[pair[1]],
                                                  autojunk=False)
                if (matcher.real_quick_ratio() >= NEAR_DUPLICATE_RATIO
                        and matcher.quick_ratio() >= NEAR_DUPLICATE_RATIO
                        and matcher.ratio() >= NEAR_DUPLICATE_RATIO):
                    yield pair


def group_sightings(sightings: list[Sighting]) -> list[list[int]]:
    """Indices of the sightings of each paper, in order of first sighting."""
    groups = _Groups(sightings)
    by_key: dict[tuple[str, str], int] = {}
    for i, s in enumerate(sightings):
        keys = [("arxiv", s.arxiv_id), ("source", s.source_id),
                ("title", normalise_title(s.title) if s.title else None)]
        for kind, value in keys:
            if value:
                first = by_key.setdefault((kind, value), i)
                groups.union(first, i)
    exact: dict[str, int] = {}
    words = [_words(s.abstract) for s in sightings]
    for i, w in enumerate(words):
        first = exact.setdefault(" ".join(w), i)
        groups.union(first, i)
    for i, j in _near_duplicates(words):
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
        if s.abstract not in versions:
            versions.append(s.abstract)
    abstract = max(versions, key=len)  # the fullest wording is the one embedded and quoted
    title = first("title")
    arxiv_id = first("arxiv_id")
    source_id = first("source_id")
    return Paper(
        id=arxiv_id or source_id or _content_id(title or abstract),
        title=title,
        authors=credited.authors,
        authors_truncated=credited.authors_truncated,
        organisations=_union(s.organisations for s in sightings),
        categories=_union(s.categories for s in sightings),
        date=first("date"),
        has_code=any(s.has_code for s in sightings),
        arxiv_id=arxiv_id,
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
