"""Mutation fuzzing of ingest over the bundled seed files.

    python bench/fuzz.py [--cases 10000] [--seed 0] [--timeout 10] [--out bench/results]

Each case takes one or two seed files, applies one to three random mutations — truncation,
shuffled, duplicated or deleted lines, random bytes, CRLF or lone CR line ends, a byte-order
mark, lines in other encodings, a 1 MB line, an empty file, a gzip wrapper — and ingests the
result. The invariant, checked on every case:

- no exception other than IngestError, and no case runs past the timeout (a hang);
- a refused file (IngestError) is refused with a message naming the file;
- otherwise every non-blank line of the file lies within the span of a record (its first to
  last line) or of a rejected chunk of the ingest report, and every record's `file:line` is
  a source of exactly one paper.

Prints a table and writes fuzz.json. `tests/test_fuzz.py` runs a few hundred cases in CI.
"""

from __future__ import annotations

import argparse
import codecs
import gzip
import json
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe  # noqa: E402
from bot.errors import IngestError  # noqa: E402
from bot.ingest import _lines, ingest, read_file  # noqa: E402
from bot.paperbot import SEED_DIR  # noqa: E402

MEGABYTE = 1 << 20


class Hang(Exception):
    """A case ran past its time limit."""


@dataclass
class Outcome:
    mutations: list[str]
    status: str  # "read", "refused" (IngestError naming the file), "crash", "hang", "lost"
    seconds: float
    lines: int = 0
    detail: str = ""


# -- mutations: bytes in, bytes out --------------------------------------------------------


def _split(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def shuffle_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _split(data)
    rng.shuffle(lines)
    return b"\n".join(lines)


def duplicate_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _split(data)
    for _ in range(rng.randint(1, 10)):
        start = rng.randrange(len(lines))
        block = lines[start : start + rng.randint(1, 6)]
        at = rng.randrange(len(lines) + 1)
        lines[at:at] = block
    return b"\n".join(lines)


def delete_lines(data: bytes, rng: random.Random) -> bytes:
    lines = _split(data)
    for _ in range(rng.randint(1, 5)):
        if lines:
            del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 50)):
        at = rng.randrange(len(buffer) + 1)
        buffer[at:at] = rng.randbytes(rng.randint(1, 8))
    return bytes(buffer)


def crlf(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\n", rng.choice([b"\r\n", b"\r"]))


def byte_order_mark(data: bytes, rng: random.Random) -> bytes:
    return codecs.BOM_UTF8 + data


def other_encodings(data: bytes, rng: random.Random) -> bytes:
    """Some lines re-encoded as a scraper might have saved them."""
    lines = _split(data)
    for _ in range(rng.randint(1, 10)):
        at = rng.randrange(len(lines))
        text = lines[at].decode("utf-8", errors="replace") + rng.choice(["é", "ü", "—", "“x”"])
        encoding = rng.choice(["latin-1", "cp1252", "utf-16-le", "shift_jis", "koi8-r"])
        lines[at] = text.encode(encoding, errors="replace")
    return b"\n".join(lines)


def megabyte_line(data: bytes, rng: random.Random) -> bytes:
    lines = _split(data)
    kind = rng.choice(["repeat", "letters", "capitals", "json"])
    if kind == "repeat":  # a real line glued to itself, as a scraper that lost its newlines
        seed = max(lines, key=len) or b"x"
        line = (seed * (MEGABYTE // len(seed) + 1))[:MEGABYTE]
    elif kind == "letters":
        line = bytes(rng.choice(b"abcdefghij ,.") for _ in range(MEGABYTE // 16)) * 16
    elif kind == "capitals":  # every position a candidate title/author split
        line = b"aB" * (MEGABYTE // 2)
    else:
        line = json.dumps({"title": "T", "abstract": "word " * (MEGABYTE // 5)}).encode()
    lines.insert(rng.randrange(len(lines) + 1), line)
    return b"\n".join(lines)


def empty(data: bytes, rng: random.Random) -> bytes:
    return rng.choice([b"", b"\n\n", b"   \r\n\t\n"])


def splice(data: bytes, rng: random.Random) -> bytes:
    """Half of another seed file (another layout, often) glued on."""
    other = rng.choice(_seed_files()).read_bytes()
    return data + b"\n" + other[: len(other) // 2]


MUTATIONS = {f.__name__: f for f in (truncate, shuffle_lines, duplicate_lines, delete_lines,
                                     random_bytes, crlf, byte_order_mark, other_encodings,
                                     megabyte_line, empty, splice)}
# The 1 MB line and the empty file are drawn less often: they dominate time, or end a case.
WEIGHTS = {name: 1.0 for name in MUTATIONS} | {"megabyte_line": 0.15, "empty": 0.1}


def _seed_files() -> list[Path]:
    return sorted(SEED_DIR.glob("*.txt"))


def make_case(rng: random.Random) -> tuple[bytes, list[str], bool]:
    """A mutated seed file: its bytes, the mutations applied, and whether to gzip it."""
    data = rng.choice(_seed_files()).read_bytes()
    names = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=rng.randint(1, 3))
    for name in names:
        data = MUTATIONS[name](data, rng)
    return data, names, rng.random() < 0.1


# -- the invariant -------------------------------------------------------------------------


def unaccounted_lines(path: Path, sightings, report) -> list[int]:
    """Non-blank lines of the file within no record's span and no rejected chunk's."""
    covered: list[tuple[int, int]] = [(s.source.line, max(s.last_line, s.source.line))
                                      for s in sightings]
    covered += [(r.line, r.line + r.lines - 1) for r in report.rejected]
    covered.sort()
    lost, spans, at = [], iter(covered), None
    current = next(spans, None)
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        while current is not None and current[1] < number:
            current = next(spans, None)
        at = current
        if at is None or not at[0] <= number <= at[1]:
            lost.append(number)
    return lost


def check_file(path: Path) -> tuple[str, int, str]:
    """(status, non-blank lines, detail) for one file; raises on a crash."""
    try:
        sightings, report = read_file(path)
    except IngestError as exc:
        if str(path) not in str(exc):
            return "lost", 0, f"refused without naming the file: {exc}"
        return "refused", 0, str(exc)[:120]
    lines = sum(1 for line in _lines(path) if line.strip())
    lost = unaccounted_lines(path, sightings, report)
    if lost:
        return "lost", lines, f"lines {lost[:10]} in no record and no rejected chunk"
    try:
        corpus = ingest([path])
    except IngestError as exc:
        if sightings:
            return "lost", lines, f"{len(sightings)} records, yet refused: {exc}"
        return "refused", lines, str(exc)[:120]
    sources = Counter(str(s) for p in corpus.papers for s in p.sources)
    missing = [str(s.source) for s in sightings if sources[str(s.source)] != 1]
    if missing or sum(sources.values()) != len(sightings):
        return "lost", lines, f"records not in exactly one paper: {missing[:5]}"
    return "read", lines, ""


def run_case(data: bytes, names: list[str], gzipped: bool, folder: Path,
             timeout: float) -> Outcome:
    path = folder / ("case.txt.gz" if gzipped else "case.txt")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    started = time.perf_counter()

    def expire(*_):
        raise Hang(f"no result after {timeout} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        status, lines, detail = check_file(path)
    except Hang as exc:
        status, lines, detail = "hang", 0, str(exc)
    except Exception:  # noqa: BLE001 -- a crash is what this looks for
        status, lines, detail = "crash", 0, traceback.format_exc(limit=4)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return Outcome(names + (["gzip"] if gzipped else []), status,
                   time.perf_counter() - started, lines, detail)


def fuzz(cases: int, seed: int = 0, timeout: float = 10.0) -> list[Outcome]:
    rng = random.Random(seed)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="paperchat-fuzz-") as folder:
        for _ in range(cases):
            data, names, gzipped = make_case(rng)
            outcomes.append(run_case(data, names, gzipped, Path(folder), timeout))
    return outcomes


@dataclass
class Summary:
    cases: int
    statuses: dict[str, int]
    lines_checked: int
    seconds_total: float
    seconds_max: float
    seconds_p50: float
    by_mutation: dict[str, int] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)


def summarise(outcomes: list[Outcome]) -> Summary:
    times = sorted(o.seconds for o in outcomes)
    return Summary(
        cases=len(outcomes),
        statuses=dict(Counter(o.status for o in outcomes)),
        lines_checked=sum(o.lines for o in outcomes),
        seconds_total=round(sum(times), 2), seconds_max=round(times[-1], 3),
        seconds_p50=round(times[len(times) // 2], 4),
        by_mutation=dict(Counter(m for o in outcomes for m in o.mutations)),
        failures=[o.__dict__ for o in outcomes if o.status in ("crash", "hang", "lost")][:20])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a case may take")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    summary = summarise(fuzz(args.cases, args.seed, args.timeout))
    machine = describe()
    print(f"{summary.cases:,} cases on {machine['cpu']} ({machine['cores']} cores), "
          f"{summary.seconds_total:.0f} s in all")
    print("| outcome | cases |\n|---|---:|")
    for status in ("read", "refused", "crash", "hang", "lost"):
        print(f"| {status} | {summary.statuses.get(status, 0):,} |")
    print(f"non-blank lines checked: {summary.lines_checked:,}; slowest case "
          f"{summary.seconds_max:.2f} s, median {summary.seconds_p50 * 1000:.1f} ms")
    print("mutations applied: " + ", ".join(f"{k} {v:,}" for k, v in
                                            sorted(summary.by_mutation.items())))
    for failure in summary.failures:
        print(f"FAILED {failure['status']} {failure['mutations']}: {failure['detail']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fuzz.json").write_text(json.dumps(
        {"machine": machine, "seed": args.seed, "timeout_s": args.timeout,
         **summary.__dict__}, indent=2))
    return 1 if summary.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
