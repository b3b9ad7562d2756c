"""Mutation fuzzing of ingest over the bundled seed files.

    python bench/fuzz.py [--cases 10000] [--seed 0] [--timeout 10] [--out bench/results]

Each case takes one or two seed files, applies one to three random mutations — truncation,
shuffled, duplicated or deleted lines, random bytes, CRLF or lone CR line ends, a byte-order
mark, lines in other encodings, a 1 MB line, an empty file, a gzip wrapper, and JSON Lines
(the seed papers as JSON) with hostile lines: nesting thousands deep, numbers of thousands
of digits, dates that cannot be real — and ingests the result. The invariant, checked on
every case:

- no exception other than IngestError, and no case runs past the timeout (a hang);
- a refused file (IngestError) is refused with a message naming the file;
- otherwise every non-blank line of the file lies within the span of a record (its first to
  last line) or of a rejected chunk the reader gave, the report lists or counts every
  rejected chunk, every record's `file:line` is a source of exactly one paper, and no paper
  keeps a date that cannot be real.

Prints a table and writes fuzz.json. `tests/test_fuzz.py` runs a few hundred cases in CI.
"""

from __future__ import annotations

import argparse
import codecs
import datetime as dt
import functools
import gzip
import json
import random
import re
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
from bot.ingest import READERS, ingest, read_file, read_lines  # noqa: E402
from bot.ingest.sighting import implausible_date  # noqa: E402
from bot.paperbot import SEED_DIR  # noqa: E402
from bot.records import RejectedChunk  # noqa: E402

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


@functools.lru_cache(maxsize=1)
def _seed_jsonl() -> bytes:
    """The seed papers as arXiv-metadata JSON Lines, for the JSON mutations to work on."""
    rows = []
    for paper in ingest([SEED_DIR]).papers:
        date = paper.date or dt.date(2020, 1, 1)
        rows.append(json.dumps({
            "id": paper.arxiv_id or paper.id, "title": paper.title, "abstract": paper.abstract,
            "authors": paper.authors, "categories": paper.categories,
            "update_date": date.isoformat(),
            "versions": [{"version": "v1", "created": date.strftime("%a, %d %b %Y 00:00:00 GMT")}],
        }))
    return "\n".join(rows).encode()


def _as_jsonl(data: bytes) -> list[bytes]:
    return _split(data if data.lstrip().startswith(b"{") else _seed_jsonl())


def _insert(lines: list[bytes], new: list[bytes], rng: random.Random) -> bytes:
    for line in new:
        lines.insert(rng.randrange(len(lines) + 1), line)
    return b"\n".join(lines)


def deep_json(data: bytes, rng: random.Random) -> bytes:
    """Lines nested past any sane depth (Python's json recursed until the stack ran out)."""
    new = []
    for _ in range(rng.randint(1, 3)):
        depth = rng.choice([33, 1000, 1100, 100_000])
        opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        new.append(b'{"abstract": "Deep.", "x": ' + opener * depth + b"1" + closer * depth + b"}")
    return _insert(_as_jsonl(data), new, rng)


def huge_number(data: bytes, rng: random.Random) -> bytes:
    """A number of thousands of digits in some field (beyond Python's int-to-str limit)."""
    number = rng.choice([b"1" * 5000, b"-" + b"9" * 4301, b"1e400", b"1" * 25, b"0." + b"3" * 5000])
    field_ = rng.choice(["id", "title", "abstract", "authors", "categories", "update_date",
                         "has_code", "versions"])
    record = {"id": "2401.00001", "title": "T", "abstract": "A numeric abstract.", field_: "@@"}
    line = json.dumps(record).encode().replace(b'"@@"', number)
    return _insert(_as_jsonl(data), [line] * rng.randint(1, 3), rng)


ABSURD_DATES = ["99999999999999999999:18:42", "0000-01-01", "99999-03-08", "1066-10-14",
                "2999-12-31", "2024-02-30", "Mon, 2 Apr 99999 19:18:42 GMT",
                "Mon, 2 Apr 0 19:18:42 GMT", "Tue, 99 Foo 2007 99:99:99 GMT", ""]


def absurd_date(data: bytes, rng: random.Random) -> bytes:
    """Dates that cannot be real, in whatever layout the file has (JSON Lines otherwise)."""
    if re.search(rb"^Created:|^[A-Z]{2}[A-Z][a-z]{2} \d", data, re.MULTILINE):
        def absurd(match: re.Match[bytes]) -> bytes:
            return match[1] + rng.choice(ABSURD_DATES + ["0000", "9999"]).encode()
        data = re.sub(rb"^(Created: ?)\S*", absurd, data, flags=re.MULTILINE)
        return re.sub(rb"^([A-Z]{2}[A-Z][a-z]{2} \d{1,2}, )\d{4}", absurd, data,
                      flags=re.MULTILINE)
    new = []
    for _ in range(rng.randint(1, 5)):
        record = {"id": f"2401.{rng.randrange(10**5):05d}", "title": "Dated",
                  "abstract": "An abstract with an absurd date."}
        record[rng.choice(["listing_date", "update_date", "created"])] = rng.choice(ABSURD_DATES)
        record["versions"] = [{"created": rng.choice(ABSURD_DATES)}]
        new.append(json.dumps(record).encode())
    return _insert(_as_jsonl(data), new, rng)


MUTATIONS = {f.__name__: f for f in (truncate, shuffle_lines, duplicate_lines, delete_lines,
                                     random_bytes, crlf, byte_order_mark, other_encodings,
                                     megabyte_line, empty, splice, deep_json, huge_number,
                                     absurd_date)}
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


def unaccounted_lines(path: Path, items) -> list[int]:
    """Non-blank lines of the file within no record's span and no rejected chunk's."""
    covered: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, RejectedChunk):
            covered.append((item.line, item.line + item.lines - 1))
        else:
            covered.append((item.source.line, max(item.last_line, item.source.line)))
    covered.sort()
    lost, spans, at = [], iter(covered), None
    current = next(spans, None)
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        while current is not None and current[1] < number:
            current = next(spans, None)
        at = current
        if at is None or not at[0] <= number <= at[1]:
            lost.append(number)
    return lost


class _LongLines:
    """Counts the lines too long to read, which `read_lines` hands on as blank."""

    def __init__(self) -> None:
        self.count = 0

    def too_long(self, *_) -> None:
        self.count += 1

    def not_utf8(self, *_) -> None:
        pass


def check_file(path: Path) -> tuple[str, int, str]:
    """(status, non-blank lines, detail) for one file; raises on a crash."""
    try:
        sightings, report = read_file(path)
    except IngestError as exc:
        if str(path) not in str(exc):
            return "lost", 0, f"refused without naming the file: {exc}"
        return "refused", 0, str(exc)[:120]
    lines = sum(1 for line in read_lines(path) if line.strip())
    # The report keeps a bounded list: the full account is the reader's own stream.
    long_lines = _LongLines()
    items = list(READERS[report.layout](read_lines(path, long_lines), str(path)))
    lost = unaccounted_lines(path, items)
    if lost:
        return "lost", lines, f"lines {lost[:10]} in no record and no rejected chunk"
    rejects = sum(isinstance(item, RejectedChunk) for item in items)
    if (report.rejected_count != rejects + long_lines.count
            or len(items) - rejects != len(sightings)):
        return "lost", lines, (f"the report counts {report.rejected_count} rejected chunks and "
                               f"{len(sightings)} records; the reader gave {len(items)} items")
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
    absurd = [f"{p.id} {p.date}" for p in corpus.papers if p.date and implausible_date(p.date)]
    if absurd:
        return "lost", lines, f"dates that cannot be real kept: {absurd[:3]}"
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
