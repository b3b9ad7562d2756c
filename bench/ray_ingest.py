"""Ingest on Ray against the local engine, on one machine: the overhead, and what a cluster
of N workers would do from the measured rate of one.

    pip install '.[ray]'
    python bench/ray_ingest.py [--papers 2000] [--rounds 2] [--out bench/results]

Both build the same slice of ../shared/corpora/arxiv-cs-75k.jsonl.gz with
`PaperBot.from_corpus` into a new library folder (so a fresh embedding cache each run): the
local engine embeds in this process, `engine="ray"` starts a local Ray, embeds on its
workers and stops it. Runs alternate and the order reverses every round, so a drifting
machine drifts on both. Each run is split into its embedding phase (the cache's `embed`:
lookups, embedding, commits) and the rest (parsing, merging, sentence splitting, BM25,
FAISS, writing), which runs on the driver whatever the engine. Ray's start-up (Ray, its
workers, the model loading in them, and stopping again) is timed apart in each round, on a
run that embeds 8 short texts; the workers' rate is the Ray run's texts over its embedding
phase less that start-up. CPU seconds are counted too, for this process and every process
it starts (Ray's), since on a shared machine wall time also measures the neighbours.
Writes ray_ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe  # noqa: E402
from bench.throughput import DEFAULT_CORPUS, read_slice, write_jsonl  # noqa: E402
from bot import PaperBot  # noqa: E402
from bot.paperbot import encoder_for  # noqa: E402
from bot.settings import get_settings  # noqa: E402
from embeddings import EmbeddingCache  # noqa: E402
from embeddings.ray_engine import RayEngine  # noqa: E402

ARXIV_PAPERS = 2_500_000  # all of arXiv, for the scaling estimate
CLUSTER_SIZES = [1, 4, 16, 64]


class EmbeddingClock:
    """Times the embedding phase of every build (the cache's `embed`)."""

    def __init__(self):
        self.seconds = 0.0
        self.texts = 0
        cache_embed, clock = EmbeddingCache.embed, self

        def embed(cache, texts, engine, **kwargs):
            started = time.perf_counter()
            vectors, clock.texts = cache_embed(cache, texts, engine, **kwargs)
            clock.seconds = time.perf_counter() - started
            return vectors, clock.texts

        EmbeddingCache.embed = embed


class CpuMeter:
    """CPU seconds used by this process and every process it starts (Ray's), sampled from
    /proc twice a second: on a shared machine, wall time also measures the neighbours."""

    def __init__(self):
        self._seen: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_done, daemon=True)

    def __enter__(self) -> CpuMeter:
        self._before = self._tree()
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._done.set()
        self._thread.join()
        self._sample()
        self.seconds = sum(self._seen.values()) - sum(
            self._before.get(pid, 0.0) for pid in self._seen)

    def _sample_until_done(self) -> None:
        while not self._done.wait(0.5):
            self._sample()

    def _sample(self) -> None:
        self._seen.update(self._tree())

    @staticmethod
    def _tree() -> dict[int, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        parent, used = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry.name)
            parent[pid] = int(fields[1])
            used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        ours, me = {}, os.getpid()
        for pid in used:
            ancestor = pid
            while ancestor not in (0, 1, me) and ancestor in parent:
                ancestor = parent[ancestor]
            if ancestor == me:
                ours[pid] = used[pid]
        return ours


def run(engine: str, slice_path: Path, workdir: Path, clock: EmbeddingClock) -> dict:
    library = workdir / f"library-{engine}"
    shutil.rmtree(library, ignore_errors=True)
    started = time.perf_counter()
    with CpuMeter() as cpu:
        bot = PaperBot.from_corpus([slice_path], library, engine=engine)
    total = time.perf_counter() - started
    shutil.rmtree(library, ignore_errors=True)
    return {"total_s": total, "cpu_s": cpu.seconds, "papers": len(bot.papers),
            "texts": clock.texts, "embed_s": clock.seconds, "driver_s": total - clock.seconds}


def ray_startup(embedder) -> tuple[float, int]:
    """Seconds from nothing to Ray stopped again around 8 short texts, and its workers."""
    engine = RayEngine(embedder)
    started = time.perf_counter()
    for _ in engine.stream([f"warm-up text {i}" for i in range(8)], 8):
        pass
    return time.perf_counter() - started, engine.last_workers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="paperchat-ray-ingest-"))
    slice_path = write_jsonl(read_slice(args.corpus, 0, args.papers), workdir / "slice.jsonl")
    # The int8 model file is made once per machine; that is setup, not ingest.
    PaperBot.from_corpus([write_jsonl(read_slice(args.corpus, 0, 2), workdir / "warm.jsonl")],
                         workdir / "warm")
    clock = EmbeddingClock()
    embedder = encoder_for(get_settings())
    machine = describe()
    print(f"{args.papers} papers; {machine['cpu']}, {machine['cores']} cores")
    rounds = []
    for number in range(args.rounds):
        order = ["local", "ray"] if number % 2 == 0 else ["ray", "local"]
        results = {}
        for engine in order:
            results[engine] = r = run(engine, slice_path, workdir, clock)
            print(f"  round {number + 1}  {engine:<5} {r['total_s']:7.1f} s  "
                  f"{r['papers'] / r['total_s']:5.1f} papers/s  (embedding {r['embed_s']:.1f} s "
                  f"of it, {r['texts']} texts; {r['cpu_s']:.0f} CPU s)", flush=True)
        startup, workers = ray_startup(embedder)
        ray = results["ray"]
        ray.update(startup_s=startup, workers=workers,
                   texts_per_s=ray["texts"] / (ray["embed_s"] - startup))
        results["local"]["texts_per_s"] = results["local"]["texts"] / results["local"]["embed_s"]
        print(f"  round {number + 1}  Ray start-up and stop alone: {startup:.1f} s", flush=True)
        rounds.append(results)

    def median(engine: str, key: str) -> float:
        return statistics.median(r[engine][key] for r in rounds)

    papers, texts = rounds[0]["local"]["papers"], rounds[0]["local"]["texts"]
    summary = {
        "local_papers_per_s": papers / median("local", "total_s"),
        "ray_papers_per_s": papers / median("ray", "total_s"),
        "ray_overhead_s": statistics.median(r["ray"]["total_s"] - r["local"]["total_s"]
                                            for r in rounds),
        "ray_over_local": statistics.median(r["ray"]["total_s"] / r["local"]["total_s"]
                                            for r in rounds),
        "ray_cpu_over_local": statistics.median(r["ray"]["cpu_s"] / r["local"]["cpu_s"]
                                                for r in rounds),
        "local_cpu_s_per_paper": median("local", "cpu_s") / papers,
        "ray_cpu_s_per_paper": median("ray", "cpu_s") / papers,
        "ray_startup_s": median("ray", "startup_s"),
        "local_texts_per_s": median("local", "texts_per_s"),
        "ray_texts_per_s": median("ray", "texts_per_s"),
        "ray_workers": rounds[0]["ray"]["workers"],
        "texts_per_paper": texts / papers,
        "driver_s_per_paper": median("local", "driver_s") / papers,
    }
    summary["per_worker_texts_per_s"] = summary["ray_texts_per_s"] / summary["ray_workers"]
    # A worker with its 2 cores to itself, from the CPU seconds of the whole Ray run (driver
    # and start-up counted against the workers too, so this errs low): on a shared machine
    # the wall-clock rate above says as much about the neighbours as about the worker.
    per_worker = 2 * texts / median("ray", "cpu_s")
    summary["per_worker_texts_per_s_from_cpu"] = per_worker
    # A cluster: the driver's share stays serial, the embedding divides among the workers.
    driver_s = summary["driver_s_per_paper"] * ARXIV_PAPERS
    arxiv_texts = summary["texts_per_paper"] * ARXIV_PAPERS
    estimate = [{"workers": n, "embedding_h": arxiv_texts / (n * per_worker) / 3600,
                 "driver_h": driver_s / 3600,
                 "total_h": (arxiv_texts / (n * per_worker) + driver_s
                             + summary["ray_startup_s"]) / 3600}
                for n in CLUSTER_SIZES]

    print("\n| engine | papers/s (median) | per round | embedding texts/s | CPU s a paper |")
    print("|---|---:|---|---:|---:|")
    for engine in ["local", "ray"]:
        per_round = ", ".join(f"{papers / r[engine]['total_s']:.1f}" for r in rounds)
        print(f"| {engine} | {summary[f'{engine}_papers_per_s']:.1f} | {per_round} | "
              f"{median(engine, 'texts_per_s'):.1f} | "
              f"{summary[f'{engine}_cpu_s_per_paper']:.3f} |")
    print(f"\nRay against local: {summary['ray_over_local']:.2f} × the time, "
          f"{summary['ray_cpu_over_local']:.2f} × the CPU "
          f"({summary['ray_overhead_s']:+.1f} s for {papers} papers); Ray's start-up and stop "
          f"alone: {summary['ray_startup_s']:.1f} s; {summary['ray_workers']} worker(s), "
          f"{summary['per_worker_texts_per_s']:.1f} texts/s each on the clock, "
          f"{per_worker:.1f} from its CPU seconds; "
          f"{summary['texts_per_paper']:.1f} texts a paper; "
          f"driver's own work {1000 * summary['driver_s_per_paper']:.1f} ms a paper")
    print(f"\nEstimate for all of arXiv ({ARXIV_PAPERS:,} papers), 2-core workers at "
          f"{per_worker:.0f} texts/s each:")
    print("| workers | embedding | driver (parse, merge, index) | total |")
    print("|---:|---:|---:|---:|")
    for row in estimate:
        print(f"| {row['workers']} | {row['embedding_h']:.1f} h | {row['driver_h']:.1f} h | "
              f"{row['total_h']:.1f} h |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ray_ingest.json").write_text(json.dumps(
        {"machine": machine, "load_average_after": os.getloadavg(), "papers": papers,
         "texts": texts, "rounds": rounds, "summary": summary, "arxiv_estimate": estimate},
        indent=2))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
