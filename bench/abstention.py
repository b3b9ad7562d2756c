"""How the evidence threshold trades answered questions against refused ones.

    python bench/abstention.py [--shared ../shared] [--out bench/results]

Each SciFact train claim is asked twice through `PaperBot.ask`'s retrieval: against the
SciFact corpus, where it should be answered, and against the bundled seed corpus (machine
learning papers), where it should be refused. A claim is answered when any of the k=5 papers
retrieved reaches the evidence threshold (bot/answer/evidence.py: relevance plus weighed
coverage of the claim's terms). Writes abstention.json and abstention.md.
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
from bot.settings import Settings, get_settings  # noqa: E402
from bot.surfaces.evaluate import read_qrels, read_queries  # noqa: E402

THRESHOLDS = [0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90]


def best_evidence(bot: PaperBot, questions: list[str], k: int = 5) -> np.ndarray:
    """Each claim's strongest evidence among the k papers `ask` weighs: with no threshold,
    the answer cites at least the paper that has it."""
    return np.array([max((c.evidence for c in bot.ask(q, k=k).citations), default=0.0)
                     for q in questions])


def without_threshold(settings: Settings) -> Settings:
    retrieval = settings.retrieval.model_copy(update={"evidence_threshold": 0.0,
                                                      "list_evidence_threshold": 0.0})
    return settings.model_copy(update={"retrieval": retrieval})


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

    measuring = without_threshold(settings)
    in_domain = PaperBot.from_corpus([scifact / "corpus.jsonl"], settings.home / "eval" /
                                     "scifact", settings=measuring, reporter=Reporter.terminal())
    off_domain = PaperBot.from_corpus(None, settings.home / "eval" / "seed", settings=measuring,
                                      reporter=Reporter.terminal())
    answered_side = best_evidence(in_domain, questions)
    refused_side = best_evidence(off_domain, questions)

    current = settings.retrieval.evidence_threshold
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
