"""Whether an answer cites the papers that answer the question, and only those.

    python bench/citations.py [--shared ../shared] [--out bench/results] [--k 5] [--limit N]
                              [--sets scifact seed]

Every question goes through `PaperBot.ask` (the extractive answer), and the papers it cites
are compared with the papers judged to answer it, on two sets:

- scifact: the SciFact train claims with exactly one relevant abstract (qrels/train.tsv),
  asked against the SciFact corpus. Each has one right citation.
- seed: bench/data/seed-questions.jsonl, questions over the bundled seed corpus labelled by
  hand from the abstracts, of three kinds: "which" (several answering papers, every one
  listed), "factual" (one or two) and "unanswerable" (none of the 68 abstracts answers it).

Per question, with C the papers cited and R the papers judged relevant:

    precision = |C ∩ R| / |C|     recall = |C ∩ R| / |R|     F1 = 2PR / (P + R)

An answerable question that gets no citation (an abstention) scores 0 on all three. An
unanswerable question (R empty) scores 1 on all three when the answer abstains, and 0 when
it cites anything: every citation is a false positive. Each measure is averaged over the
questions (macro), so a question with many relevant papers weighs as much as one with one.
Also reported: citations per question and the share of answers that abstain, overall and
per kind of question.

Libraries are cached under <out>/libraries/, one folder per corpus named by a digest of its
files, so only the first run embeds (SciFact: a few minutes on two cores). Writes
citations.json (every question's citations and their scores too) and citations.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import cores, cpu_model  # noqa: E402
from bot.paperbot import SEED_DIR, PaperBot  # noqa: E402
from bot.reporting import SILENT, Reporter  # noqa: E402
from bot.surfaces.evaluate import read_qrels, read_queries  # noqa: E402
from bot.surfaces.process import collector_paused  # noqa: E402

SEED_QUESTIONS = Path(__file__).resolve().parent / "data" / "seed-questions.jsonl"
KINDS = ("which", "factual", "unanswerable")
SET_NAMES = {"scifact": "SciFact train, claims with one relevant abstract",
             "seed": "seed corpus, hand-labelled questions"}


@dataclass(frozen=True)
class Judged:
    """A question and the papers judged to answer it (none for an unanswerable one)."""

    id: str
    kind: str
    question: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float


def score_citations(cited: Iterable[str], relevant: Iterable[str]) -> Scores:
    """One question's precision, recall and F1, by the rules in the module docstring."""
    cited, relevant = set(cited), set(relevant)
    if not relevant:  # unanswerable: abstaining is the right answer, any citation is wrong
        right = float(not cited)
        return Scores(right, right, right)
    hits = len(cited & relevant)
    if not hits:
        return Scores(0.0, 0.0, 0.0)
    precision, recall = hits / len(cited), hits / len(relevant)
    return Scores(precision, recall, 2 * precision * recall / (precision + recall))


def summarise(rows: Sequence[dict]) -> dict:
    """Macro averages over the questions of `rows` (each as `ask_all` writes it)."""
    count = len(rows)

    def mean(key: str) -> float:
        return round(sum(r[key] for r in rows) / count, 4) if count else 0.0

    return {"questions": count, "precision": mean("precision"), "recall": mean("recall"),
            "f1": mean("f1"), "citations_per_question": mean("citations"),
            "abstention_rate": mean("abstained")}


def ask_all(bot: PaperBot, questions: Sequence[Judged], k: int,
            reporter: Reporter = SILENT) -> list[dict]:
    """Each question asked once, with what it cited and how that scores."""
    rows = []
    with reporter.counting(len(questions), "questions", unit="q") as advance:
        for judged in questions:
            answer = bot.ask(judged.question, k=k)
            cited = list(dict.fromkeys(c.paper.id for c in answer.citations))
            scores = score_citations(cited, judged.relevant)
            # Each citation's ranking score too, to study where a cut-off would fall.
            rows.append({"id": judged.id, "kind": judged.kind, "question": judged.question,
                         "relevant": sorted(judged.relevant), "cited": cited,
                         "cited_scores": [round(c.score, 4) for c in answer.citations],
                         "citations": len(cited), "abstained": float(answer.abstained),
                         "precision": scores.precision, "recall": scores.recall,
                         "f1": scores.f1})
            advance(1)
    return rows


def read_seed_questions(path: Path) -> list[Judged]:
    """The hand-labelled questions, one JSON object a line; a bad line stops the run."""
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        kind, relevant = record["kind"], record["relevant"]
        if kind not in KINDS or (kind == "unanswerable") != (not relevant):
            raise SystemExit(f"{path}:{number}: kind {kind!r} with {len(relevant)} relevant "
                             f"papers (an unanswerable question has none, others some)")
        questions.append(Judged(record["id"], kind, record["question"], frozenset(relevant)))
    return questions


def scifact_questions(folder: Path) -> list[Judged]:
    """The train claims with exactly one relevant abstract, in qrels order."""
    texts = read_queries(folder / "queries.jsonl")
    questions = []
    for query_id, judged in read_qrels(folder / "qrels" / "train.tsv").items():
        relevant = frozenset(doc for doc, grade in judged.items() if grade > 0)
        if len(relevant) == 1:
            questions.append(Judged(query_id, "single", texts[query_id], relevant))
    return questions


def cached_library(name: str, files: Sequence[Path], cache_root: Path,
                   reporter: Reporter) -> PaperBot:
    """The library of these files, kept in a folder named by their content: an unchanged
    corpus is loaded, a changed one gets a folder of its own instead of overwriting."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    folder = cache_root / f"{name}-{digest.hexdigest()[:12]}"
    with collector_paused():  # a run of its own, as bot/surfaces/evaluate.py does
        return PaperBot.from_corpus(list(files), folder, reporter=reporter)


def run_set(name: str, args: argparse.Namespace, reporter: Reporter) -> list[dict]:
    if name == "scifact":
        folder = args.shared / "eval" / "scifact"
        questions, files = scifact_questions(folder), [folder / "corpus.jsonl"]
    else:
        questions, files = read_seed_questions(args.questions), sorted(SEED_DIR.glob("*.txt"))
    questions = questions[:args.limit] if args.limit else questions
    print(f"{name}: building or loading the library …", file=sys.stderr)
    bot = cached_library(name, files, args.out / "libraries", reporter)
    unknown = sorted({p for q in questions for p in q.relevant if bot.get(p) is None})
    if unknown:  # a judged id the library doesn't have could never be cited: a labelling slip
        raise SystemExit(f"{name}: {len(unknown)} judged papers are not in the library, "
                         f"e.g. {unknown[0]!r}")
    return ask_all(bot, questions, args.k, reporter)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2]
                        / "shared", help="folder holding eval/ (default: ../shared)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--questions", type=Path, default=SEED_QUESTIONS,
                        help="the hand-labelled seed questions (JSONL)")
    parser.add_argument("--sets", nargs="+", choices=list(SET_NAMES), default=list(SET_NAMES))
    parser.add_argument("--k", type=int, default=5, help="papers per answer, as in ask(k=)")
    parser.add_argument("--limit", type=int, default=0,
                        help="only the first N questions of each set (a quick run)")
    args = parser.parse_args(argv)
    reporter = Reporter.terminal()
    results = {}
    for name in args.sets:
        rows = run_set(name, args, reporter)
        summary = {"all": summarise(rows)}
        if name == "seed":
            summary |= {kind: summarise([r for r in rows if r["kind"] == kind])
                        for kind in KINDS}
        results[name] = {"summary": summary, "questions": rows}

    args.out.mkdir(parents=True, exist_ok=True)
    machine = f"{cpu_model()}, {cores()} cores"
    (args.out / "citations.json").write_text(json.dumps(
        {"machine": machine, "k": args.k, "limit": args.limit or None, "sets": results},
        indent=2))
    table = _markdown(results, args.k)
    (args.out / "citations.md").write_text(table + "\n")
    print(f"{machine}; k={args.k}\n{table}")
    return 0


def _markdown(results: dict, k: int) -> str:
    lines = [f"Citations of `PaperBot.ask(question, k={k})` against the judged papers "
             "(macro averages; an unanswerable question is right only when it abstains)", "",
             "| set | questions | precision | recall | F1 | citations/question | abstained |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, result in results.items():
        for part, s in result["summary"].items():
            label = SET_NAMES[name] if part == "all" else f"… {part} questions"
            lines.append(f"| {label} | {s['questions']} | {s['precision']:.3f} | "
                         f"{s['recall']:.3f} | {s['f1']:.3f} | "
                         f"{s['citations_per_question']:.2f} | "
                         f"{100 * s['abstention_rate']:.1f}% |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
