"""Listing files in, clean merged `Paper` records and a report of everything read out.

One reader per layout (listing, abstract_lines, arxiv_listing, jsonl); `detect_layout` picks
one per file unless the caller names it; `merge` folds sightings of the same paper.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import IngestError
from bot.ingest import abstract_lines, arxiv_listing, jsonl, listing
from bot.ingest.merge import build_paper, group_sightings
from bot.ingest.parse_cache import ParseCache
from bot.ingest.sighting import Sighting
from bot.progress import reading, step
from bot.records import FileReport, IngestReport, Layout, Paper, RejectedChunk

Reader = Callable[[Iterable[str], str], Iterator["Sighting | RejectedChunk"]]
READERS: dict[Layout, Reader] = {
    Layout.LISTING: listing.read,
    Layout.ABSTRACT_LINES: abstract_lines.read,
    Layout.ARXIV_LISTING: arxiv_listing.read,
    Layout.JSONL: jsonl.read,
}
_SNIFF_LINES = 50
_GZIP_MAGIC = b"\x1f\x8b"

__all__ = ["Corpus", "ParseCache", "detect_layout", "expand_paths", "file_digest", "fingerprint",
           "ingest", "read_file"]


@dataclass
class Corpus:
    papers: list[Paper]
    report: IngestReport
    files: list[Path] = field(default_factory=list)  # the files read: the corpus kept


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given; a folder stands for the files in it (sorted, hidden ones skipped)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir()
                                if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise IngestError(f"{path}: no such file or folder")
    if not files:
        raise IngestError("no corpus files given: " + ", ".join(map(str, paths)))
    return files


def fingerprint(files: Sequence[Path], layout: Layout | None = None) -> str:
    """Identifies a corpus by content: same files, same bytes, same layout -> same string."""
    digest = hashlib.sha256(f"layout={layout.value if layout else 'auto'}".encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + file_digest(path).encode())
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (remembered while its size and modification time hold:
    a build hashes each file for the corpus fingerprint and again for the parse cache)."""
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=1024)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lines(path: Path, not_utf8: list[int] | None = None,
           read: Callable[[int], None] | None = None) -> Iterator[str]:
    """The file's lines, split at \\n, \\r\\n or a lone \\r, without their ends; a byte-order
    mark dropped. Scrapers glue files of several encodings together, so a line that is not
    UTF-8 is read as Windows-1252 (Latin-1 where that has no character) rather than failing
    the whole file; its number goes into `not_utf8` for the report. Lines are decoded (and
    gunzipped) as they are read, so a large file is never held whole in memory; `read`
    hears how many bytes of the file are read, now and then."""
    number = 0
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
            for count, chunk in enumerate(binary, start=1):
                chunk = chunk.removesuffix(b"\n").removesuffix(b"\r")
                if number == 0:
                    chunk = chunk.removeprefix(codecs.BOM_UTF8)
                for piece in chunk.split(b"\r"):
                    number += 1
                    try:
                        yield piece.decode("utf-8")
                    except UnicodeDecodeError:
                        if not_utf8 is not None:
                            not_utf8.append(number)
                        yield _decode_legacy(piece)
                if read is not None and count % 1000 == 0:
                    read(raw.tell())
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"{path}: cannot be read ({exc})") from None


def _decode_legacy(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8d, ...)
        return data.decode("latin-1")


def detect_layout(lines: Iterable[str], path: str = "<input>") -> Layout:
    """Name the layout from a file's first non-blank lines."""
    sample = []
    for line in lines:
        if line.strip():
            sample.append(line.strip())
        if len(sample) >= _SNIFF_LINES:
            break
    if not sample:
        raise IngestError(f"{path}: the file is empty")
    if sample[0].startswith("{"):
        return Layout.JSONL
    if sum(bool(abstract_lines.LINE.match(x)) for x in sample) > len(sample) / 2:
        return Layout.ABSTRACT_LINES
    if any(listing.HEADER.match(x) for x in sample[:3]):
        return Layout.LISTING
    if any(arxiv_listing.ID_LINE.match(x) for x in sample):
        return Layout.ARXIV_LISTING
    raise IngestError(
        f"{path}: no known layout (expected a paper listing, 'Abstract:' lines, an arXiv "
        f"listing or JSON Lines); first line: {sample[0][:80]!r}. "
        f"Name the layout with --layout if it is one of these.")


def read_file(path: Path, layout: Layout | None = None, *, progress: bool = False
              ) -> tuple[list[Sighting], FileReport]:
    """A file's records and its report. Every non-blank line lies within a record's span
    (`Sighting.source.line` to `Sighting.last_line`) or a rejected chunk's (`line` and the
    `lines` after it): nothing is dropped silently."""
    name = str(path)
    layout = layout or detect_layout(_lines(path), name)
    report = FileReport(file=name, layout=layout)
    sightings: list[Sighting] = []
    not_utf8: list[int] = []
    with reading(path, enabled=progress) as bar:
        for item in READERS[layout](_lines(path, not_utf8, bar), name):
            if isinstance(item, RejectedChunk):
                report.rejected.append(item)
                continue
            sightings.append(item)
            report.warnings.extend(
                RejectedChunk(file=name, line=item.source.line, reason=doubt,
                              text=(item.title or item.abstract)[:200])
                for doubt in item.doubts)
    report.warnings.extend(
        RejectedChunk(file=name, line=number, text="",
                      reason="not UTF-8: read as Windows-1252; check its accents")
        for number in not_utf8)
    report.records = len(sightings)
    return sightings, report


def ingest(paths: Sequence[str | Path], layout: Layout | None = None, *,
           progress: bool = False, parse_cache: ParseCache | None = None) -> Corpus:
    """Read, check and merge every file; raise IngestError if no paper comes out.
    With `parse_cache`, a file read before with the same bytes is not parsed again."""
    reports: list[FileReport] = []
    sightings: list[Sighting] = []
    report_of: list[FileReport] = []
    keys: set[str] = set()
    files = expand_paths(paths)
    for path in files:
        if parse_cache is None:
            found, report = read_file(path, layout, progress=progress)
        else:
            key = parse_cache.key(path, file_digest(path), layout)
            keys.add(key)
            cached = None
            if parse_cache.holds(key):
                with step(f"reading {path.name} as it was last read (unchanged)",
                          enabled=progress):
                    cached = parse_cache.get(key)
            if cached is not None:
                found, report = cached
            else:
                found, report = read_file(path, layout, progress=progress)
                parse_cache.put(key, found, report)
        sightings.extend(found)
        report_of.extend([report] * len(found))
        reports.append(report)
    if not sightings:
        rejected = sum(len(r.rejected) for r in reports)
        raise IngestError(f"the corpus is empty: no paper could be read from {len(reports)} "
                          f"file(s) ({rejected} chunk(s) rejected)")
    papers = []
    with step(f"merging {len(sightings):,} records", enabled=progress):
        groups = group_sightings(sightings)
    for members in groups:
        papers.append(build_paper([sightings[i] for i in members]))
        for i in members[1:]:
            report_of[i].merged += 1
    _make_ids_unique(papers)
    if parse_cache is not None:
        parse_cache.keep_only(keys)
    return Corpus(papers=papers, report=IngestReport(files=reports, papers=len(papers)),
                  files=files)


def _make_ids_unique(papers: list[Paper]) -> None:
    seen: dict[str, int] = {}
    for paper in papers:
        count = seen.get(paper.id, 0)
        seen[paper.id] = count + 1
        if count:
            paper.id = f"{paper.id}~{count + 1}"
