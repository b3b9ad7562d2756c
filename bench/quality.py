"""Retrieval quality, every method in one process and one table.

    python bench/quality.py [--shared ../shared] [--out bench/results]

SciFact (train split) for search, CiteSeer (dev split) for similar papers. Rows: BM25 alone,
dense alone, dense + BM25 fusion, the full product path (dense + best sentence + BM25), and
a TF-IDF cosine baseline (scikit-learn, the arxiv-sanity approach) for the similar task.
Libraries are cached under $PAPERCHAT_HOME/eval, so only the first run embeds.
Writes quality.json and quality.md.
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


def tfidf_similar(bot: PaperBot, queries: dict[str, str]) -> tuple:
    """arxiv-sanity-lite's features (compute.py): word uni+bigrams, 20k features, sublinear tf."""
    papers = bot.papers
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(
        input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode",
        lowercase=True, analyzer="word", stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2),
        max_features=20000, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True,
        max_df=0.1, min_df=5)
    matrix = vectorizer.fit_transform([f"{p.title or ''} {p.abstract}" for p in papers])
    run = {}
    for qid in queries:
        row = bot.library.row_of[qid]
        sims = (matrix @ matrix[row].T).toarray().ravel()
        sims[row] = -1
        top = np.argsort(-sims)[:DEPTH]
        run[qid] = {papers[i].id: float(DEPTH - r) for r, i in enumerate(top)}
    return run, 1000 * (time.perf_counter() - started) / len(queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared", help="folder holding eval/ (default: ../shared)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    settings = get_settings()
    datasets = [("scifact", "train", "search", ["ndcg_cut_10", "recall_10", "recall_100",
                                                 "mrr_10"]),
                ("citeseer", "dev", "similar", ["recall_10", "ndcg_cut_10"])]
    rows = []
    for name, split, task, measures in datasets:
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


if __name__ == "__main__":
    raise SystemExit(main())
