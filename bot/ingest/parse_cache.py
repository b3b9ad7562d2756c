"""What an unchanged file read as last time: its sightings and report, kept on disk.

Adding a few papers to a large library re-merges every paper (a new record may be a sighting
of any of them), but re-parsing the files already in the corpus need not be repeated. A file
is known by its path as given, its layout setting and the sha256 of its bytes; the entry is
JSON (never pickle: a library folder may come from someone else), a list per sighting with
the keys merging compares its abstract by, and loads much faster than the readers parse
(bench/incremental.py times an unchanged re-ingest). An entry that cannot be read is parsed
again; entries of files no longer in the corpus are dropped after each ingest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from pathlib import Path

import orjson

from bot.ingest.merge import add_abstract_keys
from bot.ingest.sighting import AbstractKeys, Sighting
from bot.records import FileReport, Layout, Source

log = logging.getLogger(__name__)

# Bump whenever a reader's output for the same bytes changes: entries of another version
# are never read.
FORMAT = 5
_FIELDS = ("abstract", "last_line", "title", "authors", "authors_truncated", "organisations",
           "categories", "date", "has_code", "arxiv_id", "source_id", "doi", "venue", "url",
           "cite_key", "keywords", "entry_type", "comment", "doubts")


class ParseCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def key(self, path: Path, digest: str, layout: Layout | None) -> str:
        named = f"{FORMAT}\0{path}\0{layout.value if layout else 'auto'}\0{digest}"
        return hashlib.sha256(named.encode()).hexdigest()[:32]

    def holds(self, key: str) -> bool:
        return (self.folder / f"{key}.json").is_file()

    def get(self, key: str) -> tuple[list[Sighting], FileReport] | None:
        entry = self.folder / f"{key}.json"
        try:
            stored = orjson.loads(entry.read_bytes())
            report = FileReport.model_validate(stored["report"])
            source = {"file": report.file, "layout": report.layout}
            sightings = [_sighting(Source(line=row[0], **source), row[1:-2],
                                   AbstractKeys(words=row[-2], sketch=tuple(row[-1])))
                         for row in stored["sightings"]]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning("parsing %s again: its cached reading is unusable (%s)", entry, exc)
            return None
        return sightings, report

    def put(self, key: str, sightings: list[Sighting], report: FileReport) -> None:
        """Written atomically; a cache that cannot be written costs the next ingest a parse."""
        add_abstract_keys(sightings)
        rows = [[s.source.line, *(_plain(getattr(s, name)) for name in _FIELDS),
                 s.abstract_keys.words, s.abstract_keys.sketch] for s in sightings]
        data = orjson.dumps({"report": report.model_dump(mode="json"), "sightings": rows})
        partial = self.folder / f"{key}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
            os.replace(partial, self.folder / f"{key}.json")
        except OSError as exc:
            partial.unlink(missing_ok=True)
            log.warning("cannot keep the reading of %s (%s)", report.file, exc)

    def keep_only(self, keys: set[str]) -> None:
        """Drop the entries of every other file (and temporary files of killed ingests)."""
        if not self.folder.is_dir():
            return
        for entry in self.folder.iterdir():
            if entry.name.removesuffix(".json") not in keys:
                entry.unlink(missing_ok=True)


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def _sighting(source: Source, row: list, keys: AbstractKeys) -> Sighting:
    fields = dict(zip(_FIELDS, row, strict=True))
    if fields["date"] is not None:
        fields["date"] = dt.date.fromisoformat(fields["date"])
    return Sighting(source=source, abstract_keys=keys, **fields)
