"""Answers written by a language model: how long they take and how many pass the checks.

    python bench/llm.py --llm-url http://127.0.0.1:8000/v1 [--llm-model NAME] [--out bench/results]

Asks the bundled corpus the questions of bench/latency.py through `PaperBot.ask_stream`,
one warm-up first. Per question: seconds to the first piece of the answer and to the checked
answer, what wrote it (`llm`, or `extractive` with the reason in the note), and the citations
kept. Writes llm.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.latency import QUESTIONS  # noqa: E402
from bench.machine import describe  # noqa: E402
from bot import Answer, PaperBot, get_settings  # noqa: E402


def timed_answer(bot: PaperBot, question: str) -> dict:
    started = time.perf_counter()
    first = None
    for update in bot.ask_stream(question):
        if first is None and isinstance(update, str):
            first = time.perf_counter() - started
        answer = update
    assert isinstance(answer, Answer)
    return {"question": question, "first_piece_s": None if first is None else round(first, 2),
            "total_s": round(time.perf_counter() - started, 2), "answerer": answer.answerer,
            "abstained": answer.abstained, "cited": len(answer.citations),
            "note": answer.note, "text": answer.text}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-url", required=True)
    parser.add_argument("--llm-model")
    parser.add_argument("--index", type=Path, help="library folder (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    settings = get_settings(llm={"url": args.llm_url, "model": args.llm_model})
    index = args.index or Path(tempfile.mkdtemp(prefix="paperchat-llm-"))
    bot = PaperBot.from_corpus(None, index, settings=settings)
    timed_answer(bot, QUESTIONS[0])  # warm-up: the server's first prompt pays its own start
    rows = [timed_answer(bot, q) for q in QUESTIONS]
    machine = {**describe(), "llm_url": args.llm_url, "llm_model": settings.llm.model}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "llm.json").write_text(json.dumps({"machine": machine, "answers": rows},
                                                  indent=2))
    print(f"{machine['cpu']}, {machine['cores']} cores; model {settings.llm.model} at "
          f"{args.llm_url}")
    print(f"{'question':<58} {'first s':>7} {'total s':>7} {'by':<10} {'cited':>5}  note")
    for r in rows:
        first = "-" if r["first_piece_s"] is None else f"{r['first_piece_s']:.2f}"
        by = "abstained" if r["abstained"] else r["answerer"]
        print(f"{r['question'][:58]:<58} {first:>7} {r['total_s']:>7.2f} {by:<10} "
              f"{r['cited']:>5}  {r['note'] or ''}")
    written = sum(r["answerer"] == "llm" for r in rows)
    asked = sum(not r["abstained"] for r in rows)
    print(f"{written} of {asked} answerable questions answered by the model; "
          f"{asked - written} fell back to quotes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
