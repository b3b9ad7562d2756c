"""Papers like a set, measured on CiteSeer's citation links (README, "Papers like a reading
list").

For every dev query paper with at least three linked papers, the set is the query paper and
its first linked paper (by id); the other linked papers are the ones to find. The set's
ranking (`similar([q, r])`) is compared with each member's own ranking (`similar(q)`,
`similar(r)`, the other member dropped from it) and with two ways of fusing the two
rankings instead of ranking the set as one paper: the mean of the members' scores, and
reciprocal-rank fusion. Recall@10 and nDCG@10 (binary), means over the queries.

    python bench/sets.py [--data ../shared/eval/citeseer] [--split dev]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

from bot import PaperBot
from bot.records import Layout
from bot.settings import get_settings
from bot.surfaces.evaluate import read_qrels

DEPTH = 10
POOL = 100  # each member's ranking, for the fused methods
RRF_K = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared"
                                             / "eval" / "citeseer"))
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()
    data = Path(args.data)
    index = get_settings().home / "eval" / data.name
    started = time.perf_counter()
    bot = PaperBot.from_corpus([data / "corpus.jsonl"], index, layout=Layout.JSONL)
    print(f"library: {len(bot.papers)} papers ({time.perf_counter() - started:.0f} s)")
    cases = _cases(bot, read_qrels(data / "qrels" / f"{args.split}.tsv"))
    methods: dict[str, Callable[[str, str], list[str]]] = {
        "query paper alone": lambda q, r: _ids(bot.similar(q, k=DEPTH + 1), drop=r),
        "linked paper alone": lambda q, r: _ids(bot.similar(r, k=DEPTH + 1), drop=q),
        "mean of the two members' scores": lambda q, r: _fused(bot, q, r, _mean_scores),
        "reciprocal-rank fusion of the two": lambda q, r: _fused(bot, q, r, _rrf),
        "paperchat similar([q, r]): one paper of both": lambda q, r: _ids(
            bot.similar([q, r], k=DEPTH)),
    }
    results = {}
    for name, rank in methods.items():
        started = time.perf_counter()
        recalls, ndcgs = zip(*(_scores(rank(q, r)[:DEPTH], targets)
                               for q, r, targets in cases), strict=True)
        results[name] = {"recall_10": sum(recalls) / len(cases),
                         "ndcg_10": sum(ndcgs) / len(cases),
                         "ms_per_query": 1000 * (time.perf_counter() - started) / len(cases)}
    print(f"{len(cases)} sets (a query paper and one linked paper; {sum(len(t) for *_, t in cases)}"
          " other linked papers to find)\n")
    print("| method | Recall@10 | nDCG@10 | ms a query |\n|---|---:|---:|---:|")
    for name, row in results.items():
        print(f"| {name} | {row['recall_10']:.3f} | {row['ndcg_10']:.3f} | "
              f"{row['ms_per_query']:.1f} |")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "sets.json").write_text(json.dumps({"cases": len(cases), "results": results},
                                              indent=1))


def _cases(bot: PaperBot, qrels: dict[str, dict[str, int]]
           ) -> list[tuple[str, str, set[str]]]:
    known = bot.library.row_of
    cases = []
    for query, judged in sorted(qrels.items()):
        linked = sorted(p for p, score in judged.items() if score > 0 and p in known
                        and p != query)
        if query in known and len(linked) >= 3:
            cases.append((query, linked[0], set(linked[1:])))
    return cases


def _ids(hits, drop: str | None = None) -> list[str]:
    return [h.paper.id for h in hits if h.paper.id != drop]


def _fused(bot: PaperBot, q: str, r: str, fuse) -> list[str]:
    rankings = [bot.similar(q, k=POOL), bot.similar(r, k=POOL)]
    scores = fuse(rankings)
    scores.pop(q, None)
    scores.pop(r, None)
    return sorted(scores, key=scores.__getitem__, reverse=True)


def _mean_scores(rankings) -> dict[str, float]:
    """A paper missing from a member's list counts with that list's lowest score."""
    floors = [min(h.score for h in hits) for hits in rankings]
    ids = {h.paper.id for hits in rankings for h in hits}
    by_list = [{h.paper.id: h.score for h in hits} for hits in rankings]
    return {i: sum(s.get(i, floor) for s, floor in zip(by_list, floors, strict=True))
            / len(rankings) for i in ids}


def _rrf(rankings) -> dict[str, float]:
    fused: dict[str, float] = {}
    for hits in rankings:
        for rank, hit in enumerate(hits, start=1):
            fused[hit.paper.id] = fused.get(hit.paper.id, 0.0) + 1 / (RRF_K + rank)
    return fused


def _scores(ranked: list[str], targets: set[str]) -> tuple[float, float]:
    gains = [1.0 if paper in targets else 0.0 for paper in ranked]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(targets), DEPTH)))
    return sum(gains) / len(targets), dcg / ideal


if __name__ == "__main__":
    main()
