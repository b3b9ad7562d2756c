"""Corpus files added through a surface (the web app's upload tab): size-checked, copied into
the library's uploads/ folder, merged into the library, and removed again when they do not
join it.

One `UploadDesk` serves one server: its lock takes two uploads in turn, where two builds at
once would refuse the second as 'being written by another paperchat process'. A request
removes only the copies it created itself, never a file another request kept.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import PaperchatError, QueryError
from bot.ingest import readers
from bot.paperbot import PaperBot
from bot.reporting import SILENT, Reporter

# What the upload tab takes, in words a reader of the page understands (no command flags).
ACCEPTED = readers.accepted()
_UNPRINTABLE = re.compile(r"[^\S ]|[\x00-\x1f\x7f-\x9f\ufffd]")
_CLI_HINT = re.compile(r"\s*Name the layout with --layout[^.]*\.?")
REASON_CHARS = 300


@dataclass
class UploadOutcome:
    """What an upload did: the bot over the grown library, the files that joined it, and
    the files refused, by the names the user gave them, each with the reason."""

    bot: PaperBot
    papers_before: int = 0  # in the library as this upload found it (another may have grown it)
    kept: list[Path] = field(default_factory=list)
    refused: list[tuple[str | None, str]] = field(default_factory=list)


class UploadRefused(QueryError):
    """No uploaded file could join the library; the message names each one and why."""


class UploadDesk:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def add(self, bot: PaperBot, files: Sequence[str | Path],
            *, reporter: Reporter = SILENT) -> UploadOutcome:
        """`files` are the uploaded copies, named as the user's files were (Gradio keeps
        the name). Raises UploadRefused when none joins the library, QueryError for no
        file at all, and the library's own errors as they are."""
        if not files:
            raise QueryError("Choose one or more files to add first.")
        if bot.store is None:
            raise QueryError("This library was never saved, so it cannot grow.")
        refused: list[tuple[str | None, str]] = []
        wanted: list[Path] = []
        for upload in map(Path, files):
            if reason := self._too_large(upload):
                refused.append((upload.name, reason))
            else:
                wanted.append(upload)
        with self._lock:
            return self._merge(bot, wanted, refused, reporter)

    def _merge(self, bot: PaperBot, wanted: list[Path],
               refused: list[tuple[str | None, str]], reporter: Reporter) -> UploadOutcome:
        assert bot.store is not None
        created: list[Path] = []
        name_of: dict[Path, str] = {}
        try:
            for upload in wanted:
                kept, is_new = bot.store.keep_upload(upload)
                name_of[kept] = upload.name
                if is_new:
                    created.append(kept)
            if not name_of:
                raise UploadRefused(refusal(refused))
            papers_before = bot.store.read_manifest().papers
            grown = bot.add(list(name_of), reporter=reporter)
        except PaperchatError as exc:
            _remove(created)
            if isinstance(exc, UploadRefused):
                raise
            reason = _plain(str(exc), name_of, bot.store.root)
            raise UploadRefused(refusal([*refused, (None, reason)])) from None
        left_out = _left_out(grown, name_of)
        _remove([p for p in created if p in left_out])
        refused += [(name_of[p], _plain(left_out[p], name_of, bot.store.root))
                    for p in left_out]
        kept = [p for p in name_of if p not in left_out]
        if not kept:
            raise UploadRefused(refusal(refused))
        return UploadOutcome(bot=grown, papers_before=papers_before, kept=kept, refused=refused)

    def _too_large(self, path: Path) -> str | None:
        size = path.stat().st_size
        if size <= self.max_bytes:
            return None
        return (f"{size / 1e6:,.1f} MB, more than this server takes "
                f"({self.max_bytes / 1e6:g} MB)")


def refusal(refused: list[tuple[str | None, str]]) -> str:
    """One message for the refused files: each by its own name, then what is accepted."""
    parts = [f"{name}: {reason}" if name else reason for name, reason in refused]
    return ("Nothing was added. " + " ".join(p.rstrip(".") + "." for p in parts)
            + f" Accepted: {ACCEPTED}.")


def _left_out(bot: PaperBot, name_of: dict[Path, str]) -> dict[Path, str]:
    """The uploaded copies the new build refused (no paper in them), with the reason."""
    refused = {Path(r.file).resolve(): r.reason for r in bot.report.refused}
    return {p: refused[p.resolve()] for p in name_of if p.resolve() in refused}


def _plain(message: str, name_of: dict[Path, str], library: Path) -> str:
    """A library message for the page: the server's paths as the user's file names (or
    'the library'), no command-line advice, nothing unprintable (a binary file's bytes),
    not too long."""
    for path, name in name_of.items():
        message = message.replace(str(path.resolve()), name).replace(str(path), name)
    message = message.replace(str(library.resolve()), "the library").replace(
        str(library), "the library")
    message = _CLI_HINT.sub("", message)
    message = _UNPRINTABLE.sub(" ", message)
    return message if len(message) <= REASON_CHARS else message[:REASON_CHARS - 1] + "…"


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
