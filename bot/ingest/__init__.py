"""Listing files in, clean merged `Paper` records and a report of everything read out.

One reader per layout (`bot.ingest.readers`); `detect_layout` picks one per file unless the
caller names it; `merge` folds sightings of the same paper. Files become lines in
`bot.ingest.files`.

Bounded everywhere, so that bad input costs only itself: a line longer than `MAX_LINE_BYTES`
is rejected unread; a file's rejected chunks and warnings are kept as a short list plus
counts (`tally`); a file that gives no record is refused, and the other files are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import IngestError
from bot.ingest import readers
from bot.ingest.files import (
    MAX_LINE_BYTES,
    NOT_UTF8,
    FileRefused,
    LineNotes,
    expand_paths,
    file_digest,
    fingerprint,
    looks_binary,
    printable,
    read_lines,
    unusable,
)
from bot.ingest.merge import build_paper, group_sightings
from bot.ingest.parse_cache import ParseCache
from bot.ingest.sighting import Sighting
from bot.ingest.tally import ChunkTally
from bot.records import FileReport, IngestReport, Layout, Paper, RefusedFile, RejectedChunk
from bot.reporting import SILENT, Reporter

# Each layout's read, for a caller that names the layout.
READERS = readers.read_by_layout()
_SNIFF_LINES = 50
_SHOWN_REFUSALS = 3

__all__ = ["MAX_LINE_BYTES", "NOT_UTF8", "READERS", "Corpus", "FileRefused", "ParseCache",
           "detect_layout", "expand_paths", "file_digest", "fingerprint", "ingest", "read_file",
           "read_lines", "unusable"]


@dataclass
class Corpus:
    papers: list[Paper]
    report: IngestReport
    files: list[Path] = field(default_factory=list)  # the files read: the corpus kept


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
    if (layout := readers.sniff(sample)) is not None:
        return layout
    # What the file looked like first: past the list of formats, a long reason is cut.
    raise FileRefused(
        path, f"no known layout: the first line looks like {printable(sample[0])!r} (expected "
              f"{readers.expected()}). Name the layout with --layout if it is one of these.")


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
        layout = layout or detect_layout(read_lines(path), name)
    except FileRefused:
        if looks_binary(path):
            raise FileRefused(name, "binary data, not a text listing") from None
        raise
    sightings: list[Sighting] = []
    rejected, warnings = ChunkTally(), ChunkTally()
    notes = LineNotes(name, rejected, warnings)
    with reporter.reading(path) as bar:
        for item in READERS[layout](read_lines(path, notes, bar), name):
            if isinstance(item, RejectedChunk):
                rejected.add(item)
                continue
            sightings.append(item)
            for doubt in item.doubts:
                warnings.add(RejectedChunk(file=name, line=item.source.line, reason=doubt,
                                           text=item.title or item.abstract))
    report = FileReport(file=name, layout=layout, records=len(sightings),
                        title_only=sum(not s.abstract for s in sightings),
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
                  report=IngestReport(files=reports, refused=refused, papers=len(papers),
                                      title_only=sum(not p.has_abstract for p in papers)))


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
    shown = "; ".join(f"line {chunk.line}: {chunk.reason}"
                      for chunk in report.rejected[:_SHOWN_REFUSALS])
    rejected = (f"{report.rejected_count:,} chunk(s) rejected ({shown})" if shown
                else "nothing in it is a record")
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
