"""A large built library: cold start, query latency, memory and disk, against LangChain and txtai.

    paperchat ingest ../shared/corpora/arxiv-cs-75k.jsonl.gz --index /tmp/arxiv75k   # once
    python bench/scale.py --index /tmp/arxiv75k [--peers] [--out bench/results]

paperchat is measured in a fresh child process, as a user meets it: the time from starting
Python to the first answer of `ask` (cold start; the median of --cold-starts processes, since
one start on a shared machine can take twice another), then p50/p95 of `search`, `ask` and
`similar` over a fixed list of questions (bench/latency.py's) and 50 papers, and the child's
peak resident memory. Disk: the library folder's files, its two caches (embeddings, parsed
files) apart.

With --peers, the same questions go to LangChain's `FAISS.similarity_search` and txtai's
`Embeddings.search` over the same papers. Their stores are filled with paperchat's paper
vectors (`FAISS.from_embeddings`; txtai's external-vectors method), since embedding 75k
papers again through torch takes an hour and the vectors do not change a query's cost; each
embeds the query its own way, through sentence-transformers on the same model folder.
Writes scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.latency import QUESTIONS, percentiles  # noqa: E402
from bench.latency import timed as repeated  # noqa: E402
from bench.machine import describe, peak_rss_mb  # noqa: E402
from bot.library.store import EMBEDDING_CACHE, PARSE_CACHE  # noqa: E402
from bot.surfaces.process import collector_paused  # noqa: E402

SIMILAR_PAPERS = 50


def timed(call, inputs) -> dict:
    return percentiles(repeated(call, inputs, repeat=3))


def child(index: Path, first_answer_only: bool) -> None:
    """Runs in a fresh process: first answer, then latencies, then peak memory."""
    from bot import PaperBot

    with collector_paused():  # as the CLI loads
        bot = PaperBot.open(index)
    bot.ask(QUESTIONS[0])
    print(json.dumps({"first_answer": True}), flush=True)
    if first_answer_only:
        return
    refs = [p.id for p in bot.papers[:: max(1, len(bot.papers) // SIMILAR_PAPERS)]]
    result = {"papers": len(bot.papers),
              "search": timed(lambda q: bot.search(q, k=10), QUESTIONS),
              "ask": timed(lambda q: bot.ask(q, k=5), QUESTIONS),
              "similar": timed(lambda r: bot.similar(r, k=5), refs[:SIMILAR_PAPERS]),
              "peak_rss_mb": round(peak_rss_mb(), 1)}
    print(json.dumps(result), flush=True)


def start_child(index: Path, *flags: str) -> tuple[subprocess.Popen, float]:
    """A fresh process on the library, and the seconds from its start to its first answer."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, "--index", str(index), "--child",
                                *flags], stdout=subprocess.PIPE, text=True)
    if not process.stdout.readline():
        raise SystemExit("the child process failed before its first answer")
    return process, time.perf_counter() - started


def measure_paperchat(index: Path, cold_starts: int) -> dict:
    starts = []
    for _ in range(cold_starts - 1):
        process, seconds = start_child(index, "--first-answer-only")
        process.wait()
        starts.append(round(seconds, 2))
    process, seconds = start_child(index)
    starts.append(round(seconds, 2))
    result = json.loads(process.stdout.readline())
    process.wait()
    return {"cold_start_s": float(np.median(starts)), "cold_starts_s": starts, **result}


def disk_mb(index: Path) -> dict:
    files = [p for p in index.rglob("*") if p.is_file()]
    def mb(chosen) -> float:
        return round(sum(p.stat().st_size for p in chosen) / 2**20, 1)

    caches = {EMBEDDING_CACHE, PARSE_CACHE}
    return {"library_mb": mb(p for p in files if not caches & set(p.parts)),
            "embedding_cache_mb": mb(p for p in files if EMBEDDING_CACHE in p.parts),
            "parse_cache_mb": mb(p for p in files if PARSE_CACHE in p.parts)}


def measure_peers(index: Path) -> dict:
    from bot import PaperBot
    from bot.library.contents import document_text
    from embeddings import bundled_model_path

    with collector_paused():  # as the CLI loads
        bot = PaperBot.open(index)
    texts = [document_text(p) for p in bot.papers]
    vectors = bot.library.doc_index.vectors(np.arange(len(texts)))
    model = str(bundled_model_path())
    out = {}

    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=model, model_kwargs={"device": "cpu"},
                                       encode_kwargs={"normalize_embeddings": True})
    store = FAISS.from_embeddings(list(zip(texts, vectors.tolist(), strict=True)), embeddings)
    out["langchain similarity_search"] = timed(lambda q: store.similarity_search(q, k=10),
                                               QUESTIONS)

    from sentence_transformers import SentenceTransformer
    from txtai import Embeddings

    encoder = SentenceTransformer(model, device="cpu")
    known = {text: vector for text, vector in zip(texts, vectors, strict=True)}

    def transform(inputs):  # stored papers: their vectors; anything else: encoded as txtai does
        return np.array([known[t] if t in known else
                         encoder.encode(t, normalize_embeddings=True) for t in inputs],
                        dtype=np.float32)

    txtai = Embeddings({"method": "external", "transform": transform, "content": True})
    txtai.index([(i, text, None) for i, text in enumerate(texts)])
    out["txtai search"] = timed(lambda q: txtai.search(q, 10), QUESTIONS)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--peers", action="store_true")
    parser.add_argument("--cold-starts", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first-answer-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    if args.child:
        child(args.index, args.first_answer_only)
        return 0

    machine = describe()
    result = {"machine": machine, "paperchat": measure_paperchat(args.index, args.cold_starts),
              "disk": disk_mb(args.index)}
    paperchat = result["paperchat"]
    print(f"{paperchat['papers']:,} papers; {machine['cpu']}, {machine['cores']} cores")
    print(f"cold start to first answer: {paperchat['cold_start_s']} s median of "
          f"{', '.join(map(str, paperchat['cold_starts_s']))}; peak memory "
          f"{paperchat['peak_rss_mb']:.0f} MB; library {result['disk']['library_mb']} MB on disk "
          f"(+ {result['disk']['embedding_cache_mb']} MB embedding cache, "
          f"{result['disk']['parse_cache_mb']} MB parse cache)")
    rows = [(f"paperchat {name}", paperchat[name]) for name in ("search", "ask", "similar")]
    if args.peers:
        result["peers"] = measure_peers(args.index)
        rows += list(result["peers"].items())
    print("\n| operation | p50 ms | p95 ms |\n|---|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
