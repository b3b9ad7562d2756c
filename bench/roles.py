"""How often bot/library/roles.py gives an abstract sentence the role a person would.

    python bench/roles.py [--labels bench/data/seed-roles.jsonl] [--csabstruct DIR]
                          [--out bench/results]

Sets of labelled sentences, each scored whole (the roles of one abstract's sentences are
worked out together, as the product does):

- seed: bench/data/seed-roles.jsonl, every sentence of every fourth paper of the bundled
  seed corpus (129), labelled by hand background, method, result or other (a link to a
  video or code: left out of the scores). Rules for the labels: a sentence about the
  problem, its context, earlier work or the paper's aim ("we investigate whether …") is
  background; what the paper builds or does, and how, including what it is evaluated on,
  is method; what it finds, shows or claims is result. The labels were written before the
  roles were first measured; the cue rules were not tuned on them.
- csabstruct (with --csabstruct): CSAbstruct's test split (Cohan et al., EMNLP 2019;
  github.com/allenai/sequential_sentence_classification, data/CSAbstruct, Apache-2.0), its
  labels mapped to CSFCube's facets: background and objective are background, method,
  result; "other" left out. Not shipped: point --csabstruct at the folder holding
  test.jsonl.

Rows: the product's roles (cues + place), the place alone, and the cues alone. Writes
roles.json and roles.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.library.roles import ROLES, Role, cue_scores, position_scores, relative_positions  # noqa: E402
from bot.library.roles import roles_of as product_roles  # noqa: E402
from bot.library.sentences import split_sentences  # noqa: E402
from bot.paperbot import SEED_DIR, PaperBot  # noqa: E402

LABELS = Path(__file__).resolve().parent / "data" / "seed-roles.jsonl"
CSABSTRUCT_ROLES = {"background": Role.BACKGROUND, "objective": Role.BACKGROUND,
                    "method": Role.METHOD, "result": Role.RESULT, "other": None}

# One abstract's sentences in, their roles out.
Labeller = Callable[[Sequence[str]], list[Role]]


def by_place(sentences: Sequence[str]) -> list[Role]:
    places = position_scores(relative_positions(len(sentences)))
    return [ROLES[int(i)] for i in np.argmax(places, axis=1)]


def by_cues(sentences: Sequence[str]) -> list[Role]:
    """Cues alone; a sentence with none (or a tie) goes by its place."""
    cues = np.array([cue_scores(s) for s in sentences]).reshape(-1, 3)
    tie_break = 1e-3 * position_scores(relative_positions(len(sentences)))
    return [ROLES[int(i)] for i in np.argmax(cues + tie_break, axis=1)]


LABELLERS: dict[str, Labeller] = {"product: cue phrases + place": product_roles,
                                  "place alone": by_place, "cue phrases alone": by_cues}

# An abstract: its sentences, and each one's role (None: left out of the scores).
Abstract = tuple[list[str], list[Role | None]]


def seed_abstracts(path: Path) -> list[Abstract]:
    """The hand-labelled seed papers, each split into sentences as the library splits it;
    a label whose text no longer matches its sentence stops the run."""
    papers = {p.id: p for p in PaperBot.preview([SEED_DIR]).papers}
    labelled: dict[str, dict[int, dict]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            record = json.loads(line)
            labelled.setdefault(record["paper"], {})[record["sentence"]] = record | {
                "line": number}
    abstracts = []
    for paper_id, labels in labelled.items():
        abstract = papers[paper_id].abstract
        sentences = [abstract[start:end] for start, end in split_sentences(abstract)]
        roles: list[Role | None] = []
        for i, sentence in enumerate(sentences):
            record = labels.get(i)
            if record is None or record["text"] != sentence:
                raise SystemExit(f"{path}: paper {paper_id} sentence {i} is not labelled as "
                                 "the library splits it; relabel it")
            roles.append(None if record["role"] == "other" else Role(record["role"]))
        abstracts.append((sentences, roles))
    return abstracts


def csabstruct_abstracts(folder: Path) -> list[Abstract]:
    abstracts = []
    for line in (folder / "test.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        abstracts.append((record["sentences"],
                          [CSABSTRUCT_ROLES[label.lower()] for label in record["labels"]]))
    return abstracts


def score(labeller: Labeller, abstracts: Sequence[Abstract]) -> dict:
    """Accuracy over the labelled sentences, each role's precision and recall, and the
    confusion counts (label → given)."""
    pairs = [(truth, given) for sentences, truths in abstracts
             for truth, given in zip(truths, labeller(sentences), strict=True)
             if truth is not None]
    confusion = Counter(pairs)
    per_role = {}
    for role in ROLES:
        given = sum(n for (_, g), n in confusion.items() if g == role)
        true = sum(n for (t, _), n in confusion.items() if t == role)
        right = confusion[(role, role)]
        per_role[role.value] = {"precision": round(right / given, 3) if given else 0.0,
                                "recall": round(right / true, 3) if true else 0.0,
                                "sentences": true}
    return {"sentences": len(pairs),
            "accuracy": round(sum(t == g for t, g in pairs) / len(pairs), 3),
            "roles": per_role,
            "confusion": {f"{t.value}→{g.value}": n for (t, g), n in sorted(confusion.items())}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--csabstruct", type=Path,
                        help="folder holding CSAbstruct's test.jsonl (left out if not given)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    sets = {"seed (hand-labelled)": seed_abstracts(args.labels)}
    if args.csabstruct:
        sets["CSAbstruct test"] = csabstruct_abstracts(args.csabstruct)
    results = {name: {label: score(labeller, abstracts)
                      for label, labeller in LABELLERS.items()}
               for name, abstracts in sets.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "roles.json").write_text(json.dumps(results, indent=2))
    table = _markdown(results)
    (args.out / "roles.md").write_text(table + "\n")
    print(table)
    return 0


def _markdown(results: dict) -> str:
    lines = ["Roles of abstract sentences against labels (precision / recall per role)", "",
             "| set | roles by | sentences | accuracy | background | method | result |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, rows in results.items():
        for label, r in rows.items():
            cells = [f"{r['roles'][role.value]['precision']:.2f} / "
                     f"{r['roles'][role.value]['recall']:.2f}" for role in ROLES]
            lines.append(f"| {name} | {label} | {r['sentences']} | {r['accuracy']:.3f} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
