"""Exact against approximate vector search, up to a million vectors (index only).

    python bench/ann.py [--sizes 50000 100000 250000 500000 1000000] [--out bench/results]

Vectors are synthetic but shaped like paper embeddings: unit vectors in 384 dimensions drawn
around 100,000 subtopics, themselves drawn around 5,000 topics (fixed seed). At a million
vectors a query's ten nearest neighbours sit at a mean cosine of 0.61, as SciFact's real
abstract vectors do (0.609), so the graph faces neighbourhoods as crowded as real ones.
Queries are 200 more vectors drawn the same way, not in the index.

For each size: exact search (FAISS flat inner product) p50/p95 latency for one query at a
time. At the largest size, the index `VectorIndex.build` makes above its exact limit (HNSW,
parameters from the count): build time, recall@10 against exact search, latency, file size
and resident memory after loading it memory-mapped. Writes ann.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe, peak_rss_mb  # noqa: E402
from embeddings.index import EXACT_LIMIT, VectorIndex, hnsw_parameters  # noqa: E402

DIM, TOPICS, SUBTOPICS, QUERIES = 384, 5_000, 100_000, 200
SUBTOPIC_SPREAD, NOISE = 0.7, 0.04  # calibrated to SciFact's neighbourhoods (see above)


def subtopic_centres(rng: np.random.Generator) -> np.ndarray:
    topics = rng.standard_normal((TOPICS, DIM), dtype=np.float32) / np.sqrt(DIM)
    centres = topics[rng.integers(0, TOPICS, SUBTOPICS)] + SUBTOPIC_SPREAD * rng.standard_normal(
        (SUBTOPICS, DIM), dtype=np.float32) / np.sqrt(DIM)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def synthetic(count: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    out = np.empty((count, DIM), dtype=np.float32)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        block = centres[rng.integers(0, len(centres), n)] + NOISE * rng.standard_normal(
            (n, DIM), dtype=np.float32)
        out[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def latencies(search, queries: np.ndarray) -> tuple[float, float]:
    ms = []
    for query in queries:
        started = time.perf_counter()
        search(query[None, :])
        ms.append(1000 * (time.perf_counter() - started))
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[50_000, 100_000, 250_000, 500_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = subtopic_centres(rng)
    largest = max(args.sizes)
    vectors = synthetic(largest, rng, centres)
    queries = synthetic(QUERIES, rng, centres)
    machine = describe()
    print(f"{machine['cpu']}, {machine['cores']} cores; exact limit {EXACT_LIMIT:,}")

    exact_rows = []
    for size in sorted(args.sizes):
        flat = faiss.IndexFlatIP(DIM)
        flat.add(vectors[:size])
        p50, p95 = latencies(lambda q, f=flat: f.search(q, 10), queries)
        exact_rows.append({"vectors": size, "p50_ms": round(p50, 2), "p95_ms": round(p95, 2)})
        print(f"  exact   {size:>9,} vectors  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms", flush=True)
    _, truth = flat.search(queries, 10)  # the largest size, exact
    del flat

    m, ef_construction, ef_search = hnsw_parameters(largest)
    started = time.perf_counter()
    graph = VectorIndex.build(vectors, np.arange(largest), exact_limit=0)
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph.faiss"
        graph.write(path)
        size_mb = path.stat().st_size / 2**20
        del graph, vectors
        before = resident_mb()
        graph = VectorIndex.read(path)
        _, found = graph.search(queries, 10)
        recall = float(np.mean([len(set(t) & set(f)) / 10
                                for t, f in zip(truth, found, strict=True)]))
        p50, p95 = latencies(lambda q: graph.search(q, 10), queries)
        loaded_mb = resident_mb() - before
    approximate = {"vectors": largest, "M": m, "efConstruction": ef_construction,
                   "efSearch": ef_search, "build_s": round(build_s, 1),
                   "recall_at_10": round(recall, 4), "p50_ms": round(p50, 2),
                   "p95_ms": round(p95, 2), "file_mb": round(size_mb, 1),
                   "resident_after_load_and_queries_mb": round(loaded_mb, 1)}
    print(f"  HNSW    {largest:>9,} vectors  M={m} efConstruction={ef_construction} "
          f"efSearch={ef_search}: built in {build_s:.0f} s, recall@10 {recall:.3f}, "
          f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, file {size_mb:.0f} MB, "
          f"resident {loaded_mb:.0f} MB after loading memory-mapped")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ann.json").write_text(json.dumps(
        {"machine": machine, "exact_limit": EXACT_LIMIT, "exact": exact_rows,
         "approximate": approximate, "peak_rss_mb": round(peak_rss_mb(), 1)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
