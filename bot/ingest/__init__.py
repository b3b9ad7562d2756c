"""Listing files in, clean merged `Paper` records and a report of everything read out.

One reader per layout (listing, abstract_lines, arxiv_listing, jsonl); `detect_layout` picks
one per file unless the caller names it; `merge` folds sightings of the same paper.

Bounded everywhere, so that bad input costs only itself: a line longer than `MAX_LINE_BYTES`
is rejected unread; a file's rejected chunks and warnings are kept as a short list plus
counts (`tally`); a file that gives no record is refused, and the other files are read.
"""

from __future__ import annotations

import codecs
import errno
import functools
import gzip
import hashlib
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import IngestError
from bot.ingest import abstract_lines, arxiv_listing, jsonl, listing
from bot.ingest.merge import build_paper, group_sightings
from bot.ingest.parse_cache import ParseCache
from bot.ingest.sighting import Sighting
from bot.ingest.tally import ChunkTally
from bot.records import FileReport, IngestReport, Layout, Paper, RefusedFile, RejectedChunk
from bot.reporting import SILENT, Reporter

Reader = Callable[[Iterable[str], str], Iterator["Sighting | RejectedChunk"]]
READERS: dict[Layout, Reader] = {
    Layout.LISTING: listing.read,
    Layout.ABSTRACT_LINES: abstract_lines.read,
    Layout.ARXIV_LISTING: arxiv_listing.read,
    Layout.JSONL: jsonl.read,
}
_SNIFF_LINES = 50
_GZIP_MAGIC = b"\x1f\x8b"
# The longest line read. Real records are far shorter: a 3,000-author collaboration's JSON
# line is about 100 KB. A longer line is rejected unread, and costs only its own bytes
# (read and dropped a block at a time), never memory to hold it.
MAX_LINE_BYTES = 2 * 1024 * 1024
_BINARY_SNIFF_BYTES = 8192
# Bytes that text files do not hold (C0 controls but tab, newlines, form feed and escape).
_CONTROL_BYTES = bytes(sorted(set(range(32)) - {9, 10, 12, 13, 27})) + b"\x7f"
_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
_SHOWN_REFUSALS = 3
NOT_UTF8 = "not UTF-8: read as Windows-1252; check its accents"

__all__ = ["MAX_LINE_BYTES", "Corpus", "FileRefused", "ParseCache", "detect_layout",
           "expand_paths", "file_digest", "fingerprint", "ingest", "read_file", "unusable"]


class FileRefused(IngestError):
    """A file that gives no record, and why, in words (never its raw bytes)."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = file, reason


@dataclass
class Corpus:
    papers: list[Paper]
    report: IngestReport
    files: list[Path] = field(default_factory=list)  # the files read: the corpus kept


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Paths as given; a folder stands for the entries in it (sorted, hidden ones skipped).
    Subfolders are not read (a library or a backup kept inside a corpus folder would be read
    as papers): each stays in the list, and ingest refuses it by name, so none is skipped
    silently. So do missing paths, FIFOs, sockets and unreadable files: each costs only
    itself (see `unusable`)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if not p.name.startswith(".")))
        else:
            files.append(path)
    if not files:
        raise IngestError("no corpus files given: " + (", ".join(map(str, paths)) or "none"))
    return files


def unusable(path: Path) -> str | None:
    """Why this path cannot be read as a corpus file, in a few words; None when it can.
    Only stats it: a FIFO is never opened (that would wait for a writer)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken symbolic link" if path.is_symlink() else "no such file or folder"
    except OSError as exc:
        return _os_reason(exc)
    if stat.S_ISDIR(mode):
        return "a folder inside a given folder: not read (name it to read its files)"
    for is_kind, kind in _FILE_KINDS:
        if is_kind(mode):
            return f"not a regular file ({kind})"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot be read ({exc.strerror or exc})"


def fingerprint(files: Sequence[Path], layout: Layout | None = None) -> str:
    """Identifies a corpus by content: same files, same bytes, same layout -> same string."""
    digest = hashlib.sha256(f"layout={layout.value if layout else 'auto'}".encode())
    for path in files:
        digest.update(path.name.encode() + b"\0" + file_digest(path).encode())
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (remembered while its size and modification time hold:
    a build hashes each file for the corpus fingerprint and again for the parse cache);
    for a path that cannot be read, why (so a fingerprint is taken of any list of paths)."""
    if why := unusable(path):
        return f"unusable: {why}"
    try:
        stat_ = path.stat()
        return _digest(str(path.resolve()), stat_.st_size, stat_.st_mtime_ns)
    except OSError as exc:
        return f"unusable: {_os_reason(exc)}"


@functools.lru_cache(maxsize=1024)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lines(path: Path, notes: _Notes | None = None,
           read: Callable[[int], None] | None = None) -> Iterator[str]:
    """The file's lines, split at \\n, \\r\\n or a lone \\r, without their ends; a byte-order
    mark dropped. Scrapers glue files of several encodings together, so a line that is not
    UTF-8 is read as Windows-1252 (Latin-1 where that has no character) rather than failing
    the whole file; `notes` hears of it for the report. A line longer than MAX_LINE_BYTES is
    skipped unread and given as an empty line (`notes` hears of that too). Lines are
    decoded (and gunzipped) as they are read, so a large file is never held whole in memory;
    `read` hears how many bytes of the file are read, now and then."""
    number = 0
    gzipped = False
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            binary = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
            count = 0
            while chunk := binary.readline(MAX_LINE_BYTES + 1):
                count += 1
                if len(chunk) > MAX_LINE_BYTES:
                    number += 1
                    size = len(chunk) + _skip_rest_of_line(binary)
                    if notes is not None:
                        notes.too_long(number, size, chunk[:200])
                    yield ""
                    continue
                chunk = chunk.removesuffix(b"\n").removesuffix(b"\r")
                if number == 0:
                    chunk = chunk.removeprefix(codecs.BOM_UTF8)
                for piece in chunk.split(b"\r"):
                    number += 1
                    try:
                        yield piece.decode("utf-8")
                    except UnicodeDecodeError:
                        if notes is not None:
                            notes.not_utf8(number)
                        yield _decode_legacy(piece)
                if read is not None and count % 1000 == 0:
                    read(raw.tell())
    except (OSError, EOFError, zlib.error) as exc:
        if gzipped and not isinstance(exc, PermissionError):
            damage = "cut short" if isinstance(exc, EOFError) else "damaged"
            where = f" after line {number:,}" if number else ""
            raise FileRefused(str(path), f"gzip data that is not a valid gzip stream "
                                         f"({damage}{where})") from None
        raise FileRefused(str(path), _os_reason(exc)) from None


def _skip_rest_of_line(binary) -> int:
    skipped = 0
    while block := binary.readline(1 << 20):
        skipped += len(block)
        if block.endswith(b"\n"):
            break
    return skipped


class _Notes:
    """What `_lines` finds about single lines, for the file's report."""

    def __init__(self, file: str, rejected: ChunkTally, warnings: ChunkTally):
        self.file, self.rejected, self.warnings = file, rejected, warnings

    def not_utf8(self, number: int) -> None:
        self.warnings.add(RejectedChunk(file=self.file, line=number, text="", reason=NOT_UTF8))

    def too_long(self, number: int, size: int, start: bytes) -> None:
        self.rejected.add(RejectedChunk(
            file=self.file, line=number, text=printable(_decode_legacy(start)),
            reason=f"a line longer than {MAX_LINE_BYTES:,} bytes: not read"))


def _decode_legacy(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined (0x81, 0x8d, ...)
        return data.decode("latin-1")


def printable(text: str, limit: int = 60) -> str:
    """Text from a file made safe to show in a message: control characters replaced, cut."""
    shown = "".join(c if c.isprintable() else "\ufffd" for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def looks_binary(path: Path) -> bool:
    """Whether the file's first bytes (gunzipped if need be) are not text: a NUL byte, or
    more than one byte in ten that text files do not hold."""
    try:
        with path.open("rb") as raw:
            head = raw.read(_BINARY_SNIFF_BYTES)
            if head.startswith(_GZIP_MAGIC):
                raw.seek(0)
                head = gzip.GzipFile(fileobj=raw).read(_BINARY_SNIFF_BYTES)
    except (OSError, EOFError, zlib.error):
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return b"\0" in head or controls > len(head) / 10


def detect_layout(lines: Iterable[str], path: str = "<input>") -> Layout:
    """Name the layout from a file's first non-blank lines."""
    sample = []
    for line in lines:
        if line.strip():
            sample.append(line.strip())
        if len(sample) >= _SNIFF_LINES:
            break
    if not sample:
        raise FileRefused(path, "the file is empty")
    if sample[0].startswith("{"):
        return Layout.JSONL
    if sum(bool(abstract_lines.LINE.match(x)) for x in sample) > len(sample) / 2:
        return Layout.ABSTRACT_LINES
    if any(listing.HEADER.match(x) for x in sample[:3]):
        return Layout.LISTING
    if any(arxiv_listing.ID_LINE.match(x) for x in sample):
        return Layout.ARXIV_LISTING
    raise FileRefused(
        path, f"no known layout (expected a paper listing, 'Abstract:' lines, an arXiv "
              f"listing or JSON Lines); the first line looks like {printable(sample[0])!r}. "
              f"Name the layout with --layout if it is one of these.")


def read_file(path: Path, layout: Layout | None = None, *, reporter: Reporter = SILENT
              ) -> tuple[list[Sighting], FileReport]:
    """A file's records and its report. Every non-blank line lies within a record's span
    (`Sighting.source.line` to `Sighting.last_line`) or a rejected chunk's (`line` and the
    `lines` after it), listed or counted (`RejectedChunk.count`): nothing is dropped
    silently. Raises FileRefused for a file that cannot be read as a listing at all."""
    name = str(path)
    if why := unusable(path):
        raise FileRefused(name, why)
    try:
        layout = layout or detect_layout(_lines(path), name)
    except FileRefused:
        if looks_binary(path):
            raise FileRefused(name, "binary data, not a text listing") from None
        raise
    sightings: list[Sighting] = []
    rejected, warnings = ChunkTally(), ChunkTally()
    notes = _Notes(name, rejected, warnings)
    with reporter.reading(path) as bar:
        for item in READERS[layout](_lines(path, notes, bar), name):
            if isinstance(item, RejectedChunk):
                rejected.add(item)
                continue
            sightings.append(item)
            for doubt in item.doubts:
                warnings.add(RejectedChunk(file=name, line=item.source.line, reason=doubt,
                                           text=item.title or item.abstract))
    report = FileReport(file=name, layout=layout, records=len(sightings),
                        rejected=rejected.chunks(), warnings=warnings.chunks())
    return sightings, report


def ingest(paths: Sequence[str | Path], layout: Layout | None = None, *,
           reporter: Reporter = SILENT, parse_cache: ParseCache | None = None) -> Corpus:
    """Read, check and merge every file. A file that gives no record (not there, not a
    regular file, a subfolder, unreadable, binary, empty, of no known layout, every chunk
    rejected) is refused: it is named with the reason in `report.refused`, left out of
    `Corpus.files`, and the other files are read. IngestError only when no paper comes out.
    With `parse_cache`, a file read before with the same bytes is not parsed again."""
    reports: list[FileReport] = []
    refused: list[RefusedFile] = []
    kept: list[Path] = []
    sightings: list[Sighting] = []
    report_of: list[FileReport] = []
    keys: set[str] = set()
    for path in expand_paths(paths):
        try:
            found, report = _read(path, layout, reporter, parse_cache, keys)
        except FileRefused as exc:
            refused.append(RefusedFile(file=exc.file, reason=exc.reason))
            continue
        if not found:
            refused.append(RefusedFile(file=report.file, reason=_no_record(path, report)))
            continue
        kept.append(path)
        sightings.extend(found)
        report_of.extend([report] * len(found))
        reports.append(report)
    if not sightings:
        raise IngestError(_empty_corpus(refused))
    if parse_cache is not None:
        parse_cache.keep_only(keys)
    papers = []
    with reporter.step(f"merging {len(sightings):,} records"):
        groups = group_sightings(sightings)
    for members in groups:
        papers.append(build_paper([sightings[i] for i in members]))
        for i in members[1:]:
            report_of[i].merged += 1
    _make_ids_unique(papers)
    return Corpus(papers=papers, files=kept,
                  report=IngestReport(files=reports, refused=refused, papers=len(papers)))


def _read(path: Path, layout: Layout | None, reporter: Reporter, parse_cache: ParseCache | None,
          keys: set[str]) -> tuple[list[Sighting], FileReport]:
    """read_file, through the parse cache when there is one (a file that cannot be read is
    refused before it is hashed)."""
    if parse_cache is None or unusable(path):
        return read_file(path, layout, reporter=reporter)
    key = parse_cache.key(path, file_digest(path), layout)
    keys.add(key)
    if parse_cache.holds(key):
        with reporter.step(f"reading {path.name} as it was last read (unchanged)"):
            cached = parse_cache.get(key)
        if cached is not None:
            return cached
    found, report = read_file(path, layout, reporter=reporter)
    parse_cache.put(key, found, report)
    return found, report


def _no_record(path: Path, report: FileReport) -> str:
    first = report.rejected[0] if report.rejected else None
    rejected = (f"{report.rejected_count:,} chunk(s) rejected, the first at line "
                f"{first.line}: {first.reason}" if first else "nothing in it is a record")
    if looks_binary(path):
        return f"binary data, not a text listing (read as {report.layout.value}: {rejected})"
    return f"no record could be read ({report.layout.value}): {rejected}"


def _empty_corpus(refused: list[RefusedFile]) -> str:
    shown = "; ".join(map(str, refused[:_SHOWN_REFUSALS]))
    more = (f"; and {len(refused) - _SHOWN_REFUSALS} more file(s)"
            if len(refused) > _SHOWN_REFUSALS else "")
    return (f"the corpus is empty: no paper could be read from {len(refused)} file(s): "
            f"{shown}{more}")


def _make_ids_unique(papers: list[Paper]) -> None:
    """A repeated id gets the first `~n` suffix no paper holds: `x`, `x`, `x~2` become
    `x`, `x~3`, `x~2` (the ids a corpus gives are kept; only the repeats change)."""
    taken = {paper.id for paper in papers}
    seen: set[str] = set()
    for paper in papers:
        if paper.id in seen:
            n = 2
            while f"{paper.id}~{n}" in taken:
                n += 1
            paper.id = f"{paper.id}~{n}"
            taken.add(paper.id)
        seen.add(paper.id)
