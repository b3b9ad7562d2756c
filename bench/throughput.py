"""Indexing throughput, ingest to searchable: paperchat against LangChain and txtai.

    pip install '.[bench]'
    python bench/throughput.py [--papers 5000] [--rounds 2] [--out bench/results]

All three index the same slice of ../shared/corpora/arxiv-cs-75k.jsonl.gz with the same
all-MiniLM-L6-v2 folder (the bundled one):

- paperchat: `PaperBot.from_corpus` on the slice written as JSONL, into a new library folder
  (parse, merge, embed papers and abstract sentences, BM25, FAISS, written to disk);
- LangChain: `FAISS.from_texts` with `HuggingFaceEmbeddings` (in memory);
- txtai: `Embeddings(path=<model>, content=True).index(...)` (in memory).

Each is timed from nothing loaded to its first search answered. The runs alternate within
each round, and the order reverses every round, so a machine that drifts (thermal, noisy
neighbours) drifts on every contender alike; ratios are taken within a round. After the
rounds, paperchat's incremental paths are timed on its last library: re-ingesting the
unchanged slice, and adding 1% new papers. Writes throughput.json.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # every model here is the local folder
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe  # noqa: E402
from bot import PaperBot  # noqa: E402
from embeddings import bundled_model_path  # noqa: E402

QUERY = "Which methods reduce hallucination in vision-language models?"
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared/corpora/arxiv-cs-75k.jsonl.gz"


def read_slice(path: Path, start: int, count: int) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in itertools.islice(fh, start, start + count)]


def write_jsonl(records: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return path


def texts_of(records: list[dict]) -> list[str]:
    """What the peers embed: title and abstract, as paperchat embeds a paper's text."""
    return [f"{r['title']}. {r['abstract']}" for r in records]


def run_paperchat(slice_path: Path, workdir: Path) -> Callable[[], None]:
    def run() -> None:
        library = workdir / "paperchat-library"
        shutil.rmtree(library, ignore_errors=True)
        bot = PaperBot.from_corpus([slice_path], library)
        assert bot.search(QUERY, k=10)
    return run


def run_langchain(records: list[dict], model: Path) -> Callable[[], None]:
    def run() -> None:
        from langchain_community.vectorstores import FAISS
        from langchain_huggingface import HuggingFaceEmbeddings

        embeddings = HuggingFaceEmbeddings(
            model_name=str(model), model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True})
        store = FAISS.from_texts(texts_of(records), embeddings,
                                 metadatas=[{"id": r["id"]} for r in records])
        assert store.similarity_search(QUERY, k=10)
    return run


def run_txtai(records: list[dict], model: Path) -> Callable[[], None]:
    def run() -> None:
        from txtai import Embeddings

        embeddings = Embeddings(path=str(model), content=True)
        embeddings.index([(r["id"], text, None)
                          for r, text in zip(records, texts_of(records), strict=True)])
        assert embeddings.search(QUERY, 10)
    return run


def timed(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*", choices=["paperchat", "langchain", "txtai"])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    model = bundled_model_path()
    records = read_slice(args.corpus, 0, args.papers)
    extra = read_slice(args.corpus, args.papers, max(1, args.papers // 100))
    workdir = Path(tempfile.mkdtemp(prefix="paperchat-throughput-"))
    slice_path = write_jsonl(records, workdir / "slice.jsonl")
    contenders = {"paperchat": run_paperchat(slice_path, workdir),
                  "langchain": run_langchain(records, model),
                  "txtai": run_txtai(records, model)}
    if args.only:
        contenders = {name: run for name, run in contenders.items() if name in args.only}
    # The int8 model file is made once per machine; that is setup, not indexing.
    PaperBot.from_corpus([write_jsonl(records[:2], workdir / "warm.jsonl")], workdir / "warm")

    machine = describe()
    print(f"{len(records)} papers; {machine['cpu']}, {machine['cores']} cores")
    rounds = []
    for number in range(args.rounds):
        order = list(contenders) if number % 2 == 0 else list(reversed(contenders))
        seconds = {}
        for name in order:
            seconds[name] = timed(contenders[name])
            print(f"  round {number + 1}  {name:<10} {seconds[name]:8.1f} s  "
                  f"{len(records) / seconds[name]:6.1f} papers/s", flush=True)
        rounds.append(seconds)

    rows = []
    for name in contenders:
        rates = [len(records) / r[name] for r in rounds]
        row = {"system": name, "papers_per_s": round(statistics.median(rates), 2),
               "per_round": [round(x, 2) for x in rates]}
        if name != "paperchat" and "paperchat" in contenders:
            ratios = [r[name] / r["paperchat"] for r in rounds]
            row["paperchat_speedup"] = round(statistics.median(ratios), 2)
            row["speedup_per_round"] = [round(x, 2) for x in ratios]
        rows.append(row)

    incremental = {}
    if "paperchat" in contenders:
        library = workdir / "paperchat-library"
        first = statistics.median(r["paperchat"] for r in rounds)
        incremental["reingest_unchanged_s"] = round(
            timed(lambda: PaperBot.from_corpus([slice_path], library)), 2)
        extra_path = write_jsonl(extra, workdir / "new-papers.jsonl")
        incremental["add_1pct_s"] = round(
            timed(lambda: PaperBot.open(library).add([extra_path])), 2)
        incremental["first_ingest_s"] = round(first, 2)
        for key in ("reingest_unchanged_s", "add_1pct_s"):
            incremental[key.replace("_s", "_share")] = round(incremental[key] / first, 4)

    print("\n| system | papers/s (median) | per round | paperchat is × faster |")
    print("|---|---:|---|---:|")
    for row in rows:
        print(f"| {row['system']} | {row['papers_per_s']:.1f} | "
              f"{', '.join(f'{x:.1f}' for x in row['per_round'])} | "
              f"{row.get('paperchat_speedup', '')} |")
    if incremental:
        print(f"\nre-ingest unchanged: {incremental['reingest_unchanged_s']} s "
              f"({100 * incremental['reingest_unchanged_share']:.2f}% of the first ingest); "
              f"add 1% new papers: {incremental['add_1pct_s']} s "
              f"({100 * incremental['add_1pct_share']:.2f}%)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "throughput.json").write_text(json.dumps(
        {"machine": machine, "papers": len(records), "rounds": rounds, "rows": rows,
         "incremental": incremental}, indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
