"""Keeping a large library current: re-ingest it unchanged, then add 1% new papers.

    paperchat ingest ../shared/corpora/arxiv-cs-75k.jsonl.gz --index /tmp/arxiv75k   # once
    python bench/incremental.py --index /tmp/arxiv75k --first-ingest 1804 [--out bench/results]

Each step runs `paperchat ingest` in a fresh process, as a user would. The new papers are
SciFact, then CiteSeer, abstracts (../shared/eval) that the library's embedding cache has
never seen, as many as 1% of the library, written to a JSONL file; afterwards the library is
rebuilt over its own corpus again (not timed), so the benchmark can be repeated.
`--first-ingest` is the first ingest's time in seconds, for the ratios. Writes
incremental.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe  # noqa: E402
from bot.library.sentences import split_sentences  # noqa: E402
from bot.library.store import LibraryStore  # noqa: E402
from bot.paperbot import encoder_for  # noqa: E402
from bot.settings import get_settings  # noqa: E402
from embeddings.cache import text_digest  # noqa: E402

EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
EVAL_CORPORA = [EVAL / "scifact" / "corpus.jsonl", EVAL / "citeseer" / "corpus.jsonl"]


def ingest(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot.surfaces.cli", "ingest", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def unseen_papers(index: Path, count: int) -> list[str]:
    """JSONL lines of SciFact papers, then CiteSeer ones, new to the library's embedding cache
    (their first abstract sentence is not in it: each run of this benchmark uses up 1%)."""
    embedder = encoder_for(get_settings())
    cache = LibraryStore(index).embedding_cache(embedder.identity, embedder.dim)
    lines = []
    for corpus in EVAL_CORPORA:
        with corpus.open(encoding="utf-8") as fh:
            for line in fh:
                text = json.loads(line).get("text") or ""
                first = next(iter(split_sentences(text)), None)
                if first and not cache.get([text_digest(text[first[0]:first[1]])]):
                    lines.append(line)
                if len(lines) == count:
                    cache.close()
                    return lines
    cache.close()
    raise SystemExit(f"only {len(lines)} SciFact and CiteSeer papers are new to this "
                     f"library's cache")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--first-ingest", type=float, help="seconds the first ingest took")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    manifest = LibraryStore(args.index).read_manifest()
    corpus = manifest.corpus_paths
    papers = manifest.papers

    unchanged = ingest(*corpus, "--index", str(args.index))
    with tempfile.TemporaryDirectory() as folder:
        new = Path(folder) / "new-papers.jsonl"
        new.write_text("".join(unseen_papers(args.index, round(papers / 100))), encoding="utf-8")
        added = ingest("--add", str(new), "--index", str(args.index))
        grown = LibraryStore(args.index).read_manifest().papers
        ingest(*corpus, "--index", str(args.index))  # back to the corpus alone

    def share(seconds: float) -> str:
        return f"{100 * seconds / args.first_ingest:.1f}%" if args.first_ingest else "–"

    machine = describe()
    result = {"machine": machine, "papers": papers, "added": grown - papers,
              "reingest_unchanged_s": round(unchanged, 2), "add_1pct_s": round(added, 2),
              "first_ingest_s": args.first_ingest}
    print(f"{papers:,} papers; {machine['cpu']}, {machine['cores']} cores")
    print("\n| step | seconds | of the first ingest |\n|---|---:|---:|")
    print(f"| re-ingest the unchanged corpus | {unchanged:.1f} | {share(unchanged)} |")
    print(f"| add {grown - papers:,} new papers (1%) | {added:.1f} | {share(added)} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "incremental.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
