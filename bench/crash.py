"""Crash safety of ingest: SIGKILL a real `PaperBot.from_corpus` process at random moments.

    python bench/crash.py [--kills 100] [--seed 0] [--out bench/results]

Each round adds a file of new abstracts to a copy of the seed corpus and starts an ingest in
a fresh process, which names each step on stdout as it reaches it (reading the files,
embedding, writing each library file, committing the manifest). The round picks a step and
kills the process with SIGKILL a random few milliseconds after it is reached — or at a
random moment of start-up. After every kill:

- the library folder loads (`LibraryStore.load`, which checks every file's size and CRC-32
  against the manifest) and answers a question;
- it is either the library before the round or, when the kill came after the manifest was
  renamed into place, the one the round was building — never a mixture;
- no file the manifest names is a temporary file.

The next round's ingest starts from whatever the kill left behind; a last, unkilled ingest
must then succeed and leave no temporary or orphaned file. `tests/test_crash.py` runs 20
kills in CI; this script runs as many as asked and writes crash.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.machine import describe  # noqa: E402

# The ingest process: the product's own build, with each step announced on stdout.
VICTIM = r"""
import sys
import bot.library.update as update
import bot.paperbot as paperbot
import embeddings.cache as cache
import bot.library.store as store

def announce(step):
    sys.stdout.write(step + "\n")
    sys.stdout.flush()

def wrap(owner, name, step):
    real = getattr(owner, name)
    def announced(*args, **kwargs):
        announce(step(*args) if callable(step) else step)
        return real(*args, **kwargs)
    setattr(owner, name, announced)

wrap(update, "ingest", "reading")
wrap(cache.EmbeddingCache, "embed", "embedding")
wrap(store.LibraryStore, "_write", lambda self, name, *_: "writing " + name.split(".")[0])
wrap(store.LibraryStore, "_write_dir", "writing lexical")
announce("started")
bot = paperbot.PaperBot.from_corpus([sys.argv[1]], sys.argv[2])
announce(f"done {len(bot.papers)}")
"""
STEPS = ["started", "reading", "embedding", "writing papers", "writing docs",
         "writing sentences", "writing spans", "writing hubness", "writing lexical",
         "writing manifest"]
QUESTION = "Which papers study credit assignment over long delays?"
WORDS = ("graph robot policy gradient memory attention sparse kernel token reward planner "
         "vision language causal bandit federated quantum spiking latent diffusion").split()


def new_abstracts(rng: random.Random, count: int) -> str:
    """`Abstract:` lines no earlier round has seen, so every round has something to embed."""
    lines = []
    for _ in range(count):
        sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize()
                     + f" {rng.getrandbits(48):x}." for _ in range(rng.randint(2, 4))]
        lines.append("Abstract:" + " ".join(sentences))
    return "\n".join(lines) + "\n"


def start_ingest(corpus: Path, library: Path) -> subprocess.Popen:
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", VICTIM, str(corpus), str(library)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, text=True)


def kill_at(process: subprocess.Popen, step: str, delay: float, limit: float = 120
            ) -> list[str]:
    """SIGKILL the process `delay` seconds after it announces `step` (or, for "started", at
    a moment of its start-up); returns the steps it announced."""
    seen: list[str] = []
    deadline = time.monotonic() + limit
    if step == "started":
        time.sleep(delay)  # somewhere in importing, loading the model and the library
    else:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
            if line.strip() == step:
                time.sleep(delay)
                break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    seen += [line.strip() for line in process.stdout.read().splitlines()]
    process.stdout.close()
    process.stderr.close()
    return seen


def check_library(library: Path, allowed_counts: set[int], embedder) -> int:
    """The library as a reader finds it: it loads, answers, and is one whole build."""
    from bot import PaperBot
    from bot.library.store import LibraryStore

    manifest = LibraryStore(library).read_manifest()
    assert not any(name.endswith(".tmp") or name.startswith(".")
                   for name in manifest.files.values()), manifest.files
    bot = PaperBot.open(library, embedder=embedder)
    assert len(bot.papers) in allowed_counts, (len(bot.papers), allowed_counts)
    answer = bot.ask(QUESTION)
    assert answer.citations and answer.citations[0].quote in answer.citations[0].paper.abstract
    return len(bot.papers)


def leftovers(library: Path) -> list[str]:
    """Files a killed build left behind: those its journal names and the manifest does not."""
    from bot.library.store import LibraryStore

    store = LibraryStore(library)
    return sorted(p.name for p in store.leftovers(store.read_manifest()))


def run(kills: int, seed: int, folder: Path, embedder=None, start_from: Path | None = None
        ) -> dict:
    """Builds a library (from a copy of `start_from`'s, if given: its embedding cache makes
    the first build cheap), then kills ingests into it until `kills` of them died before
    finishing (a late kill may find one done); returns the figures."""
    from bot import PaperBot
    from bot.paperbot import SEED_DIR

    rng = random.Random(seed)
    corpus, library = folder / "corpus", folder / "library"
    shutil.copytree(SEED_DIR, corpus)
    if start_from is not None:
        shutil.copytree(start_from, library)
    count = len(PaperBot.from_corpus([corpus], library, embedder=embedder).papers)
    rounds = []
    number = pending = 0
    while sum(not r["finished"] for r in rounds) < kills and number < 3 * kills:
        number += 1
        added = rng.randint(4, 10)
        pending += added  # papers of this round and of earlier rounds killed before commit
        (corpus / f"added-{number:03}.txt").write_text(new_abstracts(rng, added))
        step = rng.choice(STEPS)
        # A write of a small library takes milliseconds: a longer delay lands a few writes on.
        delay = rng.uniform(0, 2.0) if step == "started" else rng.uniform(0, 0.01)
        started = time.perf_counter()
        seen = kill_at(start_ingest(corpus, library), step, delay)
        # Killed before the manifest was renamed: the old library; after: the new one,
        # which has the old one's papers and every paper added since it was built.
        after = check_library(library, {count, count + pending}, embedder)
        if after != count:
            pending = 0
        rounds.append({"step": step, "delay_ms": round(delay * 1000, 1), "seen": seen[-1:],
                       "finished": any(s.startswith("done") for s in seen),
                       "committed": after != count, "seconds": round(
                           time.perf_counter() - started, 2)})
        count = after
    process = start_ingest(corpus, library)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    final = check_library(library, {int(out.split()[-1])}, embedder)
    left = leftovers(library)
    assert not left, left
    killed = [r for r in rounds if not r["finished"]]
    return {"kills": len(killed), "rounds": rounds, "final_papers": final,
            "by_step": dict(Counter(r["step"] for r in killed)),
            "by_last_step": dict(Counter(r["seen"][-1] if r["seen"] else "started"
                                         for r in killed)),
            "committed_before_kill": sum(r["committed"] for r in rounds)}


def print_table(result: dict) -> None:
    """Kills by the step aimed at, and by the last step the process announced before it
    died (a kill aimed at one write often lands a few writes later: they take milliseconds)."""
    print("| step | kills aimed after it | last step reached before the kill |")
    print("|---|---:|---:|")
    for step in STEPS:
        print(f"| {step} | {result['by_step'].get(step, 0)} | "
              f"{result['by_last_step'].get(step, 0)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="paperchat-crash-") as folder:
        result = run(args.kills, args.seed, Path(folder))
    result |= {"machine": describe(), "seconds": round(time.perf_counter() - started, 1)}
    print(f"{result['kills']} ingests killed with SIGKILL ({result['seconds']:.0f} s): the "
          f"library loaded and answered after every kill; {result['committed_before_kill']} "
          f"kills came after the commit; the final ingest recovered with "
          f"{result['final_papers']} papers and no leftover file")
    print_table(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "crash.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
