"""Crash safety: ingests killed with SIGKILL at random moments, and two ingests at once.

`bench/crash.py` holds the harness (and runs 100 kills or more); here 20, in about a minute.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

from bench import crash
from bot import LibraryError, PaperBot
from bot.library.store import LibraryStore

KILLS = 20


def test_ingest_killed_twenty_times_never_loses_the_library(tmp_path, seed_library_dir,
                                                             embedder):
    result = crash.run(KILLS, seed=7, folder=tmp_path, embedder=embedder,
                       start_from=seed_library_dir)
    assert result["kills"] == KILLS  # processes killed before they finished
    # The kills landed all over the build: reading, embedding, writing each file.
    aimed_at = {r["step"] for r in result["rounds"] if not r["finished"]}
    assert {"reading", "embedding"} <= aimed_at, aimed_at
    assert len({step for step in aimed_at if step.startswith("writing")}) >= 3, aimed_at
    assert result["final_papers"] > 68


TOPICS = {"one.txt": "Soft robots that learn to juggle flaming torches.",
          "first.txt": "Quantum annealing schedules for protein folding on spin glasses.",
          "second.txt": "A survey of bird migration tracking with low-power radio tags.",
          "meanwhile.txt": "Federated learning of keyboard predictions on mobile phones.",
          "later.txt": "Seismic inversion with physics-informed neural operators."}


def _extra(tmp_path, name: str) -> str:
    """A file of one paper, on a topic of its own (alike ones would merge into one)."""
    path = tmp_path / name
    path.write_text(f"Abstract:{TOPICS[name]}\n", encoding="utf-8")
    return str(path)


def test_a_second_ingest_while_one_writes_fails_with_a_clear_message(library_copy, tmp_path):
    with LibraryStore(library_copy).writing():  # a first ingest, holding the library
        result = subprocess.run(
            [sys.executable, "-m", "bot", "ingest", "--add", _extra(tmp_path, "one.txt"),
             "--index", str(library_copy)], cwd=REPO, capture_output=True, text=True,
            timeout=120)
    assert result.returncode == 1
    assert "is being written by another paperchat process; wait for it" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(PaperBot.open(library_copy).papers) == 68  # untouched


def test_two_ingests_at_once_one_writes_the_other_waits_its_turn_or_is_refused(
        library_copy, tmp_path):
    processes = [subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", "--add", _extra(tmp_path, f"{n}.txt"),
         "--index", str(library_copy)], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for n in ("first", "second")]
    results = [(p.wait(timeout=180), p.stderr.read()) for p in processes]
    assert all(code in (0, 1) for code, _ in results), results
    assert any(code == 0 for code, _ in results)
    for code, err in results:
        if code == 1:
            assert "being written by another paperchat process" in err, err
    bot = PaperBot.open(library_copy)  # whole, and holding what the successful ones added
    assert len(bot.papers) == 68 + sum(code == 0 for code, _ in results)
    assert bot.search("bird migration", k=1)


def test_a_lock_left_by_a_killed_process_does_not_block(library_copy):
    store = LibraryStore(library_copy)
    (library_copy / ".lock").write_text("12345")  # a lock file with no process behind it
    with store.writing():
        pass
    try:
        with store.writing(), store.writing():
            raise AssertionError("a second writer got in")
    except LibraryError as exc:
        assert "being written" in str(exc)


def test_an_add_from_a_stale_view_keeps_what_another_process_added(library_copy, tmp_path):
    stale = PaperBot.open(library_copy)  # opened before the other add: its corpus list is old
    PaperBot.open(library_copy).add([_extra(tmp_path, "meanwhile.txt")])
    grown = stale.add([_extra(tmp_path, "later.txt")])
    assert len(grown.papers) == 70  # both additions, none dropped
    assert len(PaperBot.open(library_copy).papers) == 70
