"""Corpus files added through a surface (the web app's upload tab): size-checked, copied into
the library's uploads/ folder, merged into the library, and removed again when they do not
join it.

One `UploadDesk` serves one server: its lock takes two uploads in turn, where two builds at
once would refuse the second as 'being written by another paperchat process'. A request
removes only the copies it created itself, never a file another request kept.

A file that does not join is told back to the person who sent it (`Refusal`): by the name
their file had, with what it looked like in words (`looks_of`: text and its first line, or
the kind of binary file it is, never its bytes) and why, in words without the server's
paths or command-line advice; `ACCEPTED` says what would have been read.
"""

from __future__ import annotations

import codecs
import re
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import PaperchatError, QueryError
from bot.ingest import readers
from bot.ingest.files import printable
from bot.paperbot import PaperBot
from bot.reporting import SILENT, Reporter

# What the upload tab takes, in words a reader of the page understands (no command flags).
ACCEPTED = readers.accepted()
NAME_CHARS = 255  # a file name longer than any file system keeps is cut when shown
REASON_CHARS = 300
_UNPRINTABLE = re.compile(r"[^\S ]|[\x00-\x1f\x7f-\x9f\ufffd]")
_CLI_HINT = re.compile(r"\s*Name the layout with --layout[^.]*\.?")
_EXPECTED = re.compile(r"\s*\(expected [^()]*(?:\([^()]*\)[^()]*)*\)")
# The library's reasons for refusing a file, as the page words them (None: what the file
# looks like already says it). Any other reason is shown as the library gives it.
_LAYOUT_NAMES = {reader.layout.value: reader.named for reader in readers.READERS}
_REASONS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"no known layout\b.*", re.DOTALL), "none of the formats paperchat reads"),
    (re.compile(r"binary data\b.*", re.DOTALL), None),
    (re.compile(r"gzip data that is not a valid gzip stream \(cut short(?P<where>[^)]*)\)"),
     "the gzip data is cut short{where} (an unfinished download?)"),
    (re.compile(r"gzip data that is not a valid gzip stream \(damaged(?P<where>[^)]*)\)"),
     "the gzip data is damaged{where}: it cannot be unpacked"),
    (re.compile(r"the file is empty"), None),
    (re.compile(r"no record could be read \((?P<layout>[\w-]+)\): (?P<rest>.*)", re.DOTALL),
     "read as {layout}, but no paper in it could be read: {rest}"),
)

# What a file looks like, from its first bytes.
_HEAD_BYTES = 8192
_GZIP_MAGIC = b"\x1f\x8b"
_MAGIC = (  # file kinds people upload by mistake, by their signature
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (Word and Excel files are ZIP archives too)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"BZh", "bzip2 data (only gzip is unpacked)"),
    (b"\xfd7zXZ\x00", "xz data (only gzip is unpacked)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)
# Bytes that text files do not hold (C0 controls but tab, newlines, form feed and escape).
_CONTROL_BYTES = bytes(sorted(set(range(32)) - {9, 10, 12, 13, 27})) + b"\x7f"
# Bytes that are not UTF-8 yet over this share non-ASCII are noise: text in a legacy
# encoding (Windows-1252 accents) has far fewer.
_LEGACY_HIGH_SHARE = 0.3


@dataclass(frozen=True)
class Upload:
    """An uploaded file: where the server holds it, and the name the person's file had (the
    server's copy may be named otherwise: Gradio shortens long names)."""

    path: Path
    name: str

    @classmethod
    def of(cls, file: str | Path | Upload) -> Upload:
        if isinstance(file, Upload):
            return file
        return cls(Path(file), Path(file).name)

    @property
    def shown_name(self) -> str:
        return printable(self.name, NAME_CHARS) or self.path.name


@dataclass(frozen=True)
class Refusal:
    """A file that did not join the library, for the person who sent it: its own name (None
    for the upload as a whole), what it looked like and why, in words; either may be ""."""

    name: str | None
    looks: str = ""
    reason: str = ""

    def __str__(self) -> str:
        said = "; ".join(part for part in (self.looks, self.reason) if part)
        return f"{self.name}: {said}" if self.name else said


@dataclass
class UploadOutcome:
    """What an upload did: the bot over the grown library, the files that joined it (with
    the names the person gave them), and the files refused."""

    bot: PaperBot
    papers_before: int = 0  # in the library as this upload found it (another may have grown it)
    kept: list[Path] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    names: dict[Path, str] = field(default_factory=dict)  # a kept copy -> its upload's name


class UploadRefused(QueryError):
    """No uploaded file could join the library; the message names each one and why."""

    def __init__(self, refusals: list[Refusal]):
        super().__init__(refusal(refusals))
        self.refusals = refusals


class UploadDesk:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def add(self, bot: PaperBot, files: Sequence[str | Path | Upload] | None,
            *, reporter: Reporter = SILENT) -> UploadOutcome:
        """`files` are the uploaded copies, each with the name the person's file had (a path
        alone is named as it is). Raises UploadRefused when none joins the library,
        QueryError for no file at all, and the library's own errors as they are."""
        if not files:
            raise QueryError("Choose one or more files to add first.")
        if bot.store is None:
            raise QueryError("This library was never saved, so it cannot grow.")
        refused: list[Refusal] = []
        wanted: list[Upload] = []
        for upload in map(Upload.of, files):
            if reason := self._too_large(upload.path):
                refused.append(Refusal(upload.shown_name, reason=reason))
            else:
                wanted.append(upload)
        with self._lock:
            return self._merge(bot, wanted, refused, reporter)

    def _merge(self, bot: PaperBot, wanted: list[Upload], refused: list[Refusal],
               reporter: Reporter) -> UploadOutcome:
        assert bot.store is not None
        created: list[Path] = []
        upload_of: dict[Path, Upload] = {}
        try:
            for upload in wanted:
                kept, is_new = bot.store.keep_upload(upload.path)
                upload_of[kept] = upload
                if is_new:
                    created.append(kept)
            if not upload_of:
                raise UploadRefused(refused)
            papers_before = bot.store.read_manifest().papers
            grown = bot.add(list(upload_of), reporter=reporter)
        except PaperchatError as exc:
            _remove(created)
            if isinstance(exc, UploadRefused):
                raise
            reason = _plain(str(exc), upload_of, bot.store.root)
            raise UploadRefused([*refused, Refusal(None, reason=reason)]) from None
        left_out = _left_out(grown, upload_of)
        refused += [_refusal(upload_of[p], reason, upload_of, bot.store.root)
                    for p, reason in left_out.items()]
        _remove([p for p in created if p in left_out])
        kept = [p for p in upload_of if p not in left_out]
        if not kept:
            raise UploadRefused(refused)
        return UploadOutcome(bot=grown, papers_before=papers_before, kept=kept, refused=refused,
                             names={p: upload_of[p].shown_name for p in kept})

    def _too_large(self, path: Path) -> str | None:
        size = path.stat().st_size
        if size <= self.max_bytes:
            return None
        return (f"{size / 1e6:,.1f} MB, more than this server takes "
                f"({self.max_bytes / 1e6:g} MB)")


def refusal(refused: list[Refusal]) -> str:
    """One message for the refused files: each by its own name, then what is accepted."""
    return ("Nothing was added. " + " ".join(str(r).rstrip(".") + "." for r in refused)
            + f" Accepted: {ACCEPTED}.")


def looks_of(path: Path) -> str:
    """What a file looks like, in words: text and its first line (printable, cut short), or
    the kind of binary file it is; never its raw bytes. "" when it cannot be read."""
    try:
        with path.open("rb") as raw:
            head = raw.read(_HEAD_BYTES)
    except OSError:
        return ""
    if not head:
        return "an empty file"
    if not head.startswith(_GZIP_MAGIC):
        return _looks_of_bytes(head, whole=len(head) < _HEAD_BYTES)
    gunzip = zlib.decompressobj(wbits=31)
    try:  # as much of the start as the first bytes hold: a file cut short still shows it
        inner = gunzip.decompress(head, _HEAD_BYTES)
    except zlib.error:
        inner = b""
    if not inner:
        return "binary data (looks like a damaged gzip file)"
    return "a gzip file holding " + _looks_of_bytes(inner, whole=gunzip.eof)


def _looks_of_bytes(head: bytes, *, whole: bool) -> str:
    """What the first bytes of a file (all of it when `whole`) look like."""
    for magic, words in _MAGIC:
        if head.startswith(magic):
            return words
    if _is_binary(head):
        return "binary data"
    text = _decoded(head)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "blank lines only"
    first = printable(lines[0])
    if len(lines) == 1 and not whole and not first.endswith("…"):
        first += "…"  # the line goes on past the bytes looked at
    return f"text whose first line is “{first}”"


def _is_binary(head: bytes) -> bool:
    """A NUL byte, more than one byte in ten that text does not hold, or bytes that are not
    UTF-8 and mostly not ASCII (random bytes; a legacy encoding's accents are rare)."""
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if b"\0" in head or controls > len(head) / 10:
        return True
    if _is_utf8(head):
        return False
    return sum(byte >= 0x80 for byte in head) > len(head) * _LEGACY_HIGH_SHARE


def _is_utf8(head: bytes) -> bool:
    """Whether the bytes are UTF-8, a character cut at their end allowed."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decoded(head: bytes) -> str:
    head = head.removeprefix(codecs.BOM_UTF8)
    return (head.decode("utf-8", errors="ignore") if _is_utf8(head)
            else head.decode("cp1252", errors="replace"))


def _left_out(bot: PaperBot, upload_of: dict[Path, Upload]) -> dict[Path, str]:
    """The uploaded copies the new build refused (no paper in them), with the reason."""
    refused = {Path(r.file).resolve(): r.reason for r in bot.report.refused}
    return {p: refused[p.resolve()] for p in upload_of if p.resolve() in refused}


def _refusal(upload: Upload, reason: str, upload_of: dict[Path, Upload],
             library: Path) -> Refusal:
    """A file the library refused, for its sender: what it looks like, and the library's
    reason in the page's words (none where the look says it: binary, empty)."""
    looks = looks_of(upload.path)
    reason = _plain(reason, upload_of, library)
    for pattern, words in _REASONS:
        if match := pattern.fullmatch(reason):
            reason = "" if words is None else words.format(**_in_words(match.groupdict()))
            break
    if "binary data" in looks:
        reason = ""  # whatever the library made of it, its text is nothing to show
    return Refusal(upload.shown_name, looks=looks, reason=reason)


def _in_words(parts: dict[str, str]) -> dict[str, str]:
    if "layout" in parts:
        parts["layout"] = _LAYOUT_NAMES.get(parts["layout"], parts["layout"])
    return parts


def _plain(message: str, upload_of: dict[Path, Upload], library: Path) -> str:
    """A library message for the page: the server's paths as the user's file names (or
    'the library'), no command-line advice or list of layouts (the page lists what it
    takes), nothing unprintable (a binary file's bytes), not too long."""
    for path, upload in upload_of.items():
        for shown in (upload.path, path):
            message = message.replace(str(shown.resolve()), upload.shown_name).replace(
                str(shown), upload.shown_name)
    message = message.replace(str(library.resolve()), "the library").replace(
        str(library), "the library")
    message = _EXPECTED.sub("", _CLI_HINT.sub("", message))
    message = _UNPRINTABLE.sub(" ", message)
    return message if len(message) <= REASON_CHARS else message[:REASON_CHARS - 1] + "…"


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
