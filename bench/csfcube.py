"""CSFCube: papers alike in one aspect (background, method, result), measured as CSFCube does.

CSFCube (Mysore et al., NeurIPS 2021 Datasets and Benchmarks; github.com/iesl/CSFCube,
CC BY-NC 4.0, evaluation only) gives query papers, a facet of each, and a pool of candidate
papers graded 0-3 by experts for how alike they are to the query in that facet. A method
re-ranks each query's pool (the query itself left out), and the ranking is scored as
CSFCube's eval_scripts/ranking_eval.py scores it:

- NDCG%20, the headline: nDCG over the top int(0.2 · pool size) with the graded relevances
  as gains and rank_metrics' method-0 weights [1, 1, 1/log2(3), 1/log2(4), …], the ideal
  ranking being the pool's own grades sorted;
- MAP: average precision with grade ≥ 2 as relevant, over the whole ranked pool.

Both are averaged over the queries of a facet. The data (../shared/eval/csfcube): the
corpus as BEIR-style JSONL and pools-dev.json, {facet: {query id: [[candidate id, grade],
…]}}, CSFCube's fold1_dev; the other pairs are kept back. bench/quality.py runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FACETS = ("background", "method", "result")
RELEVANT_GRADE = 2  # MAP and R-precision in CSFCube count grades 2 and 3 as relevant


@dataclass(frozen=True)
class Pool:
    """One query paper, the facet it is asked about, and its graded candidates."""

    facet: str
    query: str
    candidates: tuple[str, ...]  # the query itself left out
    grades: tuple[int, ...]


def read_pools(path: Path) -> list[Pool]:
    """Every (facet, query) pool of a CSFCube pools file, in its order."""
    pools = []
    for facet, queries in json.loads(path.read_text(encoding="utf-8")).items():
        if facet not in FACETS:
            raise SystemExit(f"{path}: unknown facet {facet!r}")
        for query, judged in queries.items():
            kept = [(str(c), int(g)) for c, g in judged if str(c) != query]
            pools.append(Pool(facet, query, tuple(c for c, _ in kept),
                              tuple(g for _, g in kept)))
    return pools


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """rank_metrics.dcg_at_k, method 0: the first two ranks weigh 1, rank i > 1 weighs
    1 / log2(i)."""
    gains = np.asarray(gains, dtype=np.float64)[:k]
    if not gains.size:
        return 0.0
    return float(gains[0] + np.sum(gains[1:] / np.log2(np.arange(2, gains.size + 1))))


def ndcg_at_k(gains: Sequence[float], k: int) -> float:
    """rank_metrics.ndcg_at_k, method 0; 0 when the pool holds no gain at all."""
    ideal = dcg_at_k(sorted(gains, reverse=True), k)
    return dcg_at_k(gains, k) / ideal if ideal else 0.0


def average_precision(relevant: Sequence[bool]) -> float:
    """rank_metrics.average_precision: the precision at each relevant rank, averaged."""
    relevant = np.asarray(relevant, dtype=bool)
    hits = np.flatnonzero(relevant)
    if not hits.size:
        return 0.0
    return float(np.mean(np.cumsum(relevant)[hits] / (hits + 1)))


def scores_of_ranking(ranked_grades: Sequence[int]) -> dict[str, float]:
    """One query's NDCG%20 and average precision, from its pool's grades in ranked order."""
    cut = int(0.2 * len(ranked_grades))
    return {"ndcg%20": ndcg_at_k(ranked_grades, cut),
            "ap": average_precision([g >= RELEVANT_GRADE for g in ranked_grades])}


# A ranker takes a pool and returns its candidates, best first (all of them, once each).
Ranker = Callable[[Pool], Sequence[str]]


def evaluate(rank: Ranker, pools: Sequence[Pool]) -> dict[str, dict[str, float]]:
    """Per facet, NDCG%20 and MAP in percent, averaged over its queries (and their mean
    over the facets, under "mean")."""
    per_facet: dict[str, list[dict[str, float]]] = {}
    for pool in pools:
        ranking = list(rank(pool))
        if sorted(ranking) != sorted(pool.candidates):
            raise ValueError(f"{pool.facet} query {pool.query}: the ranking is not the pool")
        grade = dict(zip(pool.candidates, pool.grades, strict=True))
        per_facet.setdefault(pool.facet, []).append(
            scores_of_ranking([grade[c] for c in ranking]))
    result = {facet: {"ndcg%20": 100 * float(np.mean([q["ndcg%20"] for q in queries])),
                      "map": 100 * float(np.mean([q["ap"] for q in queries])),
                      "queries": len(queries)}
              for facet, queries in per_facet.items()}
    result["mean"] = {key: float(np.mean([result[f][key] for f in per_facet]))
                      for key in ("ndcg%20", "map")}
    return result


def by_scores(pool: Pool, scores: Sequence[float]) -> list[str]:
    """The pool's candidates ranked by a score each (higher first; ties in pool order)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return [pool.candidates[i] for i in order]


def pool_papers(pools: Sequence[Pool]) -> set[str]:
    """Every paper a pool names, queries included."""
    return {p.query for p in pools} | {c for p in pools for c in p.candidates}
