"""Measure retrieval on BEIR-layout data through the product path (`PaperBot.search` and
`PaperBot.similar`), with pytrec_eval computing the metrics as BEIR reports them.

    DATASET/corpus.jsonl        {"_id", "title", "text"}
    DATASET/queries.jsonl       {"_id", "text"}   (not needed for the similar task)
    DATASET/qrels/<split>.tsv   query-id  corpus-id  score   (with a header line)
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from bot.errors import PaperchatError
from bot.paperbot import PaperBot
from bot.records import Hit
from bot.reporting import SILENT, Reporter
from bot.settings import Settings, get_settings
from bot.surfaces.process import collector_paused

Task = Literal["search", "similar"]
DEPTH = 100  # ranked papers per query: enough for Recall@100
_MEASURES = {"search": ["ndcg_cut_10", "recall_10", "recall_100", "mrr_10"],
             "similar": ["recall_10", "ndcg_cut_10"]}


class EvalError(PaperchatError):
    pass


class EvalResult(BaseModel):
    dataset: str
    split: str
    task: Task
    queries: int
    papers: int
    metrics: dict[str, float] = Field(description="Means over queries, as BEIR reports them.")
    ms_per_query: float

    def render(self) -> str:
        rows = [f"{self.dataset} ({self.split}, {self.task}): {self.queries} queries over "
                f"{self.papers} papers, {self.ms_per_query:.1f} ms a query"]
        rows += [f"  {name:<12} {value:.4f}" for name, value in self.metrics.items()]
        return "\n".join(rows)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise EvalError(f"{path}: no such qrels file (the split names qrels/<split>.tsv)")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        rows = csv.reader(fh, delimiter="\t")
        for row in rows:
            if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                continue  # the header, or a blank line
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    if not qrels:
        raise EvalError(f"{path}: no judged pairs")
    return qrels


def read_queries(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise EvalError(f"{path}: no such file (the search task needs queries.jsonl)")
    queries = {}
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    query_id, text = _query(line)
                    if query_id is None:
                        raise EvalError(f"{path}:{number}: {text}")
                    queries[query_id] = text
    except UnicodeDecodeError as exc:
        raise EvalError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise EvalError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return queries


def _query(line: str) -> tuple[str | None, str]:
    """(id, text) of one queries.jsonl line; (None, why) for a line that is not a query."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return None, f"not a JSON object ({str(exc).splitlines()[0][:120]})"
    if not isinstance(record, dict):
        return None, f"not a JSON object but a {type(record).__name__}"
    query_id, text = record.get("_id"), record.get("text")
    if not isinstance(query_id, str | int) or isinstance(query_id, bool):
        return None, "no \"_id\" (a string)"
    if not isinstance(text, str):
        return None, "no \"text\" (a string)"
    return str(query_id), text


def evaluate(
    dataset_dir: str | Path,
    *,
    split: str = "train",
    task: Task = "search",
    index_dir: str | Path | None = None,
    settings: Settings | None = None,
    reporter: Reporter = SILENT,
    bot: PaperBot | None = None,
) -> EvalResult:
    """Build (or reuse) the dataset's library, run every judged query, score the rankings."""
    dataset_dir = Path(dataset_dir).expanduser()
    corpus = dataset_dir / "corpus.jsonl"
    if not corpus.is_file():
        raise EvalError(f"{dataset_dir}: no corpus.jsonl (expected the BEIR layout)")
    settings = settings or get_settings()
    qrels = read_qrels(dataset_dir / "qrels" / f"{split}.tsv")
    # Read before the (long) build: a bad line is reported at once.
    texts = read_queries(dataset_dir / "queries.jsonl") if task == "search" else {}
    if bot is None:
        cache = Path(index_dir) if index_dir else settings.home / "eval" / dataset_dir.name
        with collector_paused():  # a run of its own (the CLI's eval, the bench scripts)
            bot = PaperBot.from_corpus([corpus], cache, settings=settings, reporter=reporter)
    run_query = _query_runner(bot, task, qrels, texts)
    started = time.perf_counter()
    run = _run(qrels, run_query, f"{task} queries", reporter)
    elapsed = time.perf_counter() - started
    return EvalResult(dataset=dataset_dir.name, split=split, task=task, queries=len(qrels),
                      papers=len(bot.papers), metrics=score_run(qrels, run, _MEASURES[task]),
                      ms_per_query=1000 * elapsed / len(qrels))


def _query_runner(bot: PaperBot, task: Task, qrels: dict[str, dict[str, int]],
                  texts: dict[str, str]) -> Callable[[str], list[Hit]]:
    """What ranks the papers for a judged query id, once every id is known to be askable."""
    if task == "search":
        missing = sorted(set(qrels) - set(texts))
        if missing:
            raise EvalError(f"{len(missing)} judged queries are not in queries.jsonl, "
                            f"e.g. {missing[0]!r}")
        return lambda query_id: bot.search(texts[query_id], k=DEPTH)
    unknown = [q for q in qrels if bot.get(q) is None]
    if unknown:
        raise EvalError(f"{len(unknown)} query ids are not papers of the corpus, "
                        f"e.g. {unknown[0]!r}")
    return lambda query_id: bot.similar(query_id, k=DEPTH)


def _run(qrels: dict[str, dict[str, int]], run_query: Callable[[str], list[Hit]], label: str,
         reporter: Reporter) -> dict[str, dict[str, float]]:
    """Every judged query's ranking, as pytrec_eval reads a run."""
    run: dict[str, dict[str, float]] = {}
    with reporter.counting(len(qrels), label, unit="q") as advance:
        for query_id in qrels:
            hits = run_query(query_id)
            # Scores descending by rank, so ties can't reorder what the ranking decided.
            run[query_id] = {h.paper.id: float(len(hits) - i) for i, h in enumerate(hits)}
            advance(1)
    return run


def score_run(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
              measures: list[str]) -> dict[str, float]:
    """Mean metrics over the judged queries. MRR@10 is the reciprocal rank within the top 10."""
    import pytrec_eval  # a C extension only this measurement needs: loaded when it runs

    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10", "recall.100"})
    per_query = evaluator.evaluate(run)
    top10 = {q: dict(sorted(docs.items(), key=lambda x: -x[1])[:10]) for q, docs in run.items()}
    reciprocal = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    out = {}
    for name in measures:
        if name == "mrr_10":
            values = [reciprocal.get(q, {}).get("recip_rank", 0.0) for q in qrels]
        else:
            values = [per_query.get(q, {}).get(name, 0.0) for q in qrels]
        out[name] = round(float(np.mean(values)), 4)
    return out
