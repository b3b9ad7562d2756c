"""Query latency of search, ask and similar through the public API.

    python bench/latency.py [PATHS…] [--index DIR] [--repeat 3] [--out bench/results]

With no PATHS, the bundled seed corpus. Each operation runs over a fixed list of realistic
questions (and every paper for similar), after one warm-up call; p50 and p95 are reported in
milliseconds. Writes latency.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe  # noqa: E402
from bot import PaperBot  # noqa: E402
from bot.surfaces.process import collector_paused  # noqa: E402

QUESTIONS = [
    "Which papers study credit assignment over long delays?",
    "How do transformers allocate compute across tokens?",
    "relational reasoning with neural networks",
    "What benchmarks measure the capabilities of large language models?",
    "continual learning without catastrophic forgetting",
    "Which methods learn from human feedback for interactive agents?",
    "model-based planning in reinforcement learning",
    "long-context multimodal models for video and audio",
    "knowledge distillation with a teacher assistant",
    "What is the best recipe for chocolate cake?",
]


def percentiles(ms: list[float]) -> dict:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "calls": len(ms)}


def timed(call, inputs: list, repeat: int) -> list[float]:
    call(inputs[0])  # warm-up: first-call costs belong to cold start, not to latency
    out = []
    for _ in range(repeat):
        for item in inputs:
            started = time.perf_counter()
            call(item)
            out.append(1000 * (time.perf_counter() - started))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--index", type=Path, help="library folder (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    index = args.index or Path(tempfile.mkdtemp(prefix="paperchat-latency-"))
    with collector_paused():  # as the CLI builds and loads
        bot = PaperBot.from_corpus(args.paths or None, index)
    refs = [p.id for p in bot.papers][:50]
    results = {}
    for name, call, inputs in [("search", lambda q: bot.search(q, k=10), QUESTIONS),
                               ("ask", lambda q: bot.ask(q, k=5), QUESTIONS),
                               ("similar", lambda r: bot.similar(r, k=5), refs)]:
        results[name] = percentiles(timed(call, inputs, args.repeat))
    machine = {**describe(), "papers": len(bot.papers)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency.json").write_text(json.dumps({"machine": machine, **results}, indent=2))
    print(f"{machine['papers']} papers, {machine['cores']} cores")
    print(f"{'operation':<10} {'p50 ms':>8} {'p95 ms':>8}")
    for name, r in results.items():
        print(f"{name:<10} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
