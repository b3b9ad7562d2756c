"""How the answer threshold trades answered questions against refused ones.

    python bench/abstention.py [--shared ../shared] [--out bench/results]

Each SciFact train claim is asked twice through `PaperBot.ask`'s retrieval: against the
SciFact corpus, where it should be answered, and against the bundled seed corpus (machine
learning papers), where it should be refused. A claim is answered when any of the k=5 papers
retrieved reaches the threshold. Writes abstention.json and abstention.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.paperbot import PaperBot  # noqa: E402
from bot.reporting import Reporter  # noqa: E402
from bot.settings import get_settings  # noqa: E402
from bot.surfaces.evaluate import read_qrels, read_queries  # noqa: E402

THRESHOLDS = [0.25, 0.30, 0.35, 0.40, 0.45, 0.50]


def best_relevance(bot: PaperBot, questions: list[str], k: int = 5) -> np.ndarray:
    return np.array([max(h.relevance for h in bot.search(q, k=k)) for q in questions])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    settings = get_settings()
    scifact = args.shared / "eval" / "scifact"
    texts = read_queries(scifact / "queries.jsonl")
    questions = [texts[q] for q in read_qrels(scifact / "qrels" / "train.tsv")]

    in_domain = PaperBot.from_corpus([scifact / "corpus.jsonl"], settings.home / "eval" /
                                     "scifact", reporter=Reporter.terminal())
    off_domain = PaperBot.from_corpus(None, settings.home / "eval" / "seed",
                                      reporter=Reporter.terminal())
    answered_side = best_relevance(in_domain, questions)
    refused_side = best_relevance(off_domain, questions)

    current = settings.retrieval.answer_threshold
    rows = [{"threshold": t,
             "answered_in_domain": round(float(np.mean(answered_side >= t)), 4),
             "refused_off_domain": round(float(np.mean(refused_side < t)), 4),
             "chosen": abs(t - current) < 1e-9} for t in THRESHOLDS]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "abstention.json").write_text(json.dumps(
        {"claims": len(questions), "threshold": current, "rows": rows}, indent=2))
    lines = ["| threshold | SciFact claims answered against SciFact | "
             "SciFact claims refused against the seed corpus |", "|---|---:|---:|"]
    for r in rows:
        mark = "**" if r["chosen"] else ""
        lines.append(f"| {mark}{r['threshold']:.2f}{mark} | "
                     f"{mark}{100 * r['answered_in_domain']:.1f}%{mark} | "
                     f"{mark}{100 * r['refused_off_domain']:.1f}%{mark} |")
    table = "\n".join(lines)
    (args.out / "abstention.md").write_text(table + "\n")
    print(f"{len(questions)} claims; current threshold {current}\n{table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
