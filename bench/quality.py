"""Retrieval quality, every method in one process and one table.

    python bench/quality.py [--shared ../shared] [--out bench/results]
                            [--sets scifact citeseer csfcube]

SciFact (train split) for search, CiteSeer (dev split) for similar papers. Rows: BM25 alone,
dense alone, dense + BM25 fusion, the full product path (dense + best sentence + BM25), and
a TF-IDF cosine baseline (scikit-learn, the arxiv-sanity approach) for the similar task.
CSFCube (dev pools, bench/csfcube.py) for similar papers by aspect: each query's pool
re-ranked by `similar` on the whole text, by `similar(aspect=facet)`, by TF-IDF and by BM25,
scored per facet with CSFCube's NDCG%20 and MAP. Libraries are cached under
$PAPERCHAT_HOME/eval (CSFCube's under <out>/libraries, as bench/citations.py keeps them),
so only the first run embeds. Writes quality.json and quality.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import csfcube  # noqa: E402
from bench.citations import cached_library  # noqa: E402
from bench.machine import cores, cpu_model  # noqa: E402
from bot.paperbot import PaperBot  # noqa: E402
from bot.reporting import Reporter  # noqa: E402
from bot.settings import get_settings  # noqa: E402
from bot.surfaces.evaluate import DEPTH, read_qrels, read_queries, score_run  # noqa: E402


def product_variants(task: str) -> dict[str, dict]:
    """Retrieval settings that switch the product path's signals on and off."""
    if task == "similar":
        return {
            "dense alone": {"similar_lexical_weight": 0.0, "similar_term_weight": 0.0,
                            "hubness_weight": 0.0},
            "dense + BM25": {"similar_term_weight": 0.0, "hubness_weight": 0.0},
            "product (dense + BM25 + terms − hubness)": {},
        }
    return {
        "dense alone": {"sentence_weight": 0.0, "lexical_weight": 0.0},
        "dense + BM25": {"sentence_weight": 0.0},
        "product (dense + sentence + BM25)": {},
    }


def ranked(bot: PaperBot, queries: dict[str, str], settings_update: dict, task: str) -> tuple:
    base = bot.retriever.settings
    bot.retriever.settings = base.model_copy(update=settings_update)
    try:
        run, started = {}, time.perf_counter()
        for qid, text in queries.items():
            hits = bot.search(text, k=DEPTH) if task == "search" else bot.similar(qid, k=DEPTH)
            run[qid] = {h.paper.id: float(len(hits) - i) for i, h in enumerate(hits)}
        return run, 1000 * (time.perf_counter() - started) / len(queries)
    finally:
        bot.retriever.settings = base


def bm25_alone(bot: PaperBot, queries: dict[str, str], task: str) -> tuple:
    lexical, papers = bot.library.lexical, bot.papers
    run, started = {}, time.perf_counter()
    for qid, text in queries.items():
        if task == "similar":  # the reference paper's own text is the query
            scores = lexical.scores_of_paper(bot.library.row_of[qid])
        else:
            scores = lexical.scores(text)
        if task == "similar":
            scores[bot.library.row_of[qid]] = -1  # never the paper itself
        top = np.argsort(-scores)[:DEPTH]
        run[qid] = {papers[i].id: float(DEPTH - r) for r, i in enumerate(top)}
    return run, 1000 * (time.perf_counter() - started) / len(queries)


def tfidf_matrix(papers: list):
    """arxiv-sanity-lite's features (compute.py): word uni+bigrams, 20k features, sublinear tf;
    one l2-normalised row a paper."""
    vectorizer = TfidfVectorizer(
        input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode",
        lowercase=True, analyzer="word", stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2),
        max_features=20000, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True,
        max_df=0.1, min_df=5)
    return vectorizer.fit_transform([f"{p.title or ''} {p.abstract}" for p in papers])


def tfidf_similar(bot: PaperBot, queries: dict[str, str]) -> tuple:
    papers = bot.papers
    started = time.perf_counter()
    matrix = tfidf_matrix(papers)
    run = {}
    for qid in queries:
        row = bot.library.row_of[qid]
        sims = (matrix @ matrix[row].T).toarray().ravel()
        sims[row] = -1
        top = np.argsort(-sims)[:DEPTH]
        run[qid] = {papers[i].id: float(DEPTH - r) for r, i in enumerate(top)}
    return run, 1000 * (time.perf_counter() - started) / len(queries)


def csfcube_rankers(bot: PaperBot) -> dict[str, csfcube.Ranker]:
    """Each method as a re-ranker of a CSFCube pool: the product's `similar` (whole text, and
    by the pool's facet), TF-IDF cosine and BM25 with the query paper's text as the query."""
    library = bot.library
    matrix = tfidf_matrix(bot.papers)

    def product(aspect: bool) -> csfcube.Ranker:
        def rank(pool: csfcube.Pool) -> list[str]:
            hits = bot.similar(pool.query, k=len(pool.candidates), among=pool.candidates,
                               aspect=pool.facet if aspect else None)
            return [h.paper.id for h in hits]
        return rank

    def rows(pool: csfcube.Pool) -> list[int]:
        return [library.row_of[c] for c in pool.candidates]

    def tfidf(pool: csfcube.Pool) -> list[str]:
        sims = (matrix[rows(pool)] @ matrix[library.row_of[pool.query]].T).toarray().ravel()
        return csfcube.by_scores(pool, sims)

    def bm25(pool: csfcube.Pool) -> list[str]:
        scores = library.lexical.scores_of_paper(library.row_of[pool.query])
        return csfcube.by_scores(pool, scores[rows(pool)])

    return {"similar, whole text (product)": product(aspect=False),
            "similar by aspect (product)": product(aspect=True),
            "TF-IDF cosine (arxiv-sanity-lite)": tfidf, "BM25 alone": bm25}


def csfcube_rows(folder: Path, cache_root: Path) -> list[dict]:
    """One row a method: per facet NDCG%20 and MAP on CSFCube's dev pools."""
    pools = csfcube.read_pools(folder / "pools-dev.json")
    print("csfcube: building or loading the library …", file=sys.stderr)
    bot = cached_library("csfcube", [folder / "corpus.jsonl"], cache_root, Reporter.terminal())
    missing = sorted(csfcube.pool_papers(pools) - set(bot.library.row_of))
    if missing:
        raise SystemExit(f"csfcube: {len(missing)} pooled papers are not in the corpus, "
                         f"e.g. {missing[0]!r}")
    rows = []
    for label, rank in csfcube_rankers(bot).items():
        started = time.perf_counter()
        metrics = csfcube.evaluate(rank, pools)
        ms = 1000 * (time.perf_counter() - started) / len(pools)
        rows.append({"dataset": "csfcube", "split": "dev", "task": "similar by aspect",
                     "method": label, "queries": len(pools), "ms_per_query": round(ms, 2),
                     "facets": metrics})
        print(f"  {label:<36} " + "  ".join(
            f"{f} {m['ndcg%20']:.1f}/{m['map']:.1f}" for f, m in metrics.items())
            + f"  {ms:.1f} ms/q", file=sys.stderr)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared", help="folder holding eval/ (default: ../shared)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--sets", nargs="+", choices=["scifact", "citeseer", "csfcube"],
                        default=["scifact", "citeseer", "csfcube"])
    args = parser.parse_args()
    settings = get_settings()
    datasets = [("scifact", "train", "search", ["ndcg_cut_10", "recall_10", "recall_100",
                                                 "mrr_10"]),
                ("citeseer", "dev", "similar", ["recall_10", "ndcg_cut_10"])]
    rows = []
    for name, split, task, measures in (d for d in datasets if d[0] in args.sets):
        folder = args.shared / "eval" / name
        qrels = read_qrels(folder / "qrels" / f"{split}.tsv")
        if task == "search":
            texts = read_queries(folder / "queries.jsonl")
            queries = {q: texts[q] for q in qrels}
        else:
            queries = {q: q for q in qrels}
        print(f"{name}: building or loading the library …", file=sys.stderr)
        bot = PaperBot.from_corpus([folder / "corpus.jsonl"], settings.home / "eval" / name,
                                   reporter=Reporter.terminal())
        methods = {"BM25 alone": lambda q=queries, b=bot, t=task: bm25_alone(b, q, t)}
        for label, update in product_variants(task).items():
            methods[label] = lambda u=update, q=queries, b=bot, t=task: ranked(b, q, u, t)
        if task == "similar":
            methods["TF-IDF cosine (arxiv-sanity-lite)"] = (
                lambda q=queries, b=bot: tfidf_similar(b, q))
        for label, method in methods.items():
            run, ms = method()
            metrics = score_run(qrels, run, measures)
            rows.append({"dataset": name, "split": split, "task": task, "method": label,
                         "queries": len(queries), "ms_per_query": round(ms, 2), **metrics})
            print(f"  {label:<36} " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
                  + f"  {ms:.1f} ms/q", file=sys.stderr)

    csfcube_folder = args.shared / "eval" / "csfcube"
    if "csfcube" in args.sets and csfcube_folder.is_dir():
        rows += csfcube_rows(csfcube_folder, args.out / "libraries")
    elif "csfcube" in args.sets:
        print(f"csfcube: no {csfcube_folder}, left out", file=sys.stderr)

    machine = f"{cpu_model()}, {cores()} cores"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(json.dumps({"machine": machine, "rows": rows},
                                                      indent=2))
    table = _markdown(rows)
    (args.out / "quality.md").write_text(table + "\n")
    print(table)
    return 0


def _markdown(rows: list[dict]) -> str:
    names = {"ndcg_cut_10": "nDCG@10", "recall_10": "Recall@10", "recall_100": "Recall@100",
             "mrr_10": "MRR@10"}
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        subset = [r for r in rows if r["dataset"] == dataset]
        if dataset == "csfcube":
            lines += _csfcube_markdown(subset)
            continue
        measures = [k for k in names if k in subset[0]]
        first = subset[0]
        lines += [f"**{dataset}** ({first['split']} split, {first['task']}, "
                  f"{first['queries']} queries)", "",
                  "| method | " + " | ".join(names[m] for m in measures) + " | ms/query |",
                  "|---|" + "---:|" * (len(measures) + 1)]
        for r in subset:
            lines.append(f"| {r['method']} | " + " | ".join(f"{r[m]:.3f}" for m in measures)
                         + f" | {r['ms_per_query']:.1f} |")
        lines.append("")
    return "\n".join(lines).rstrip()


def _csfcube_markdown(rows: list[dict]) -> list[str]:
    facets = [f for f in rows[0]["facets"] if f != "mean"]
    counts = ", ".join(f"{rows[0]['facets'][f]['queries']} {f}" for f in facets)
    lines = [f"**csfcube** (dev pools, similar by aspect, {rows[0]['queries']} queries: "
             f"{counts}); NDCG%20 / MAP, in percent", "",
             "| method | " + " | ".join(facets) + " | mean | ms/query |",
             "|---|" + "---:|" * (len(facets) + 2)]
    for r in rows:
        cells = [f"{r['facets'][f]['ndcg%20']:.1f} / {r['facets'][f]['map']:.1f}"
                 for f in [*facets, "mean"]]
        lines.append(f"| {r['method']} | " + " | ".join(cells)
                     + f" | {r['ms_per_query']:.1f} |")
    return [*lines, ""]


if __name__ == "__main__":
    raise SystemExit(main())
