"""Corpus files as lines: which paths can be read, their bytes decoded line by line within
limits, and digests of their contents. Knows nothing of layouts but their names.

Bounded, so that bad input costs only itself: a line longer than `MAX_LINE_BYTES` is rejected
unread; a line that is not UTF-8 is read as Windows-1252 with a warning; a gzipped file is
gunzipped as it is read; a FIFO is never opened.
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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bot.errors import IngestError
from bot.ingest.tally import ChunkTally
from bot.records import Layout, RejectedChunk

_GZIP_MAGIC = b"\x1f\x8b"
# The longest line read. Real records are far shorter (a large collaboration's author list
# included). A longer line is rejected unread, and costs only its own bytes (read and dropped
# a block at a time), never memory to hold it.
MAX_LINE_BYTES = 2 * 1024 * 1024
_BINARY_SNIFF_BYTES = 8192
# Bytes that text files do not hold (C0 controls but tab, newlines, form feed and escape).
_CONTROL_BYTES = bytes(sorted(set(range(32)) - {9, 10, 12, 13, 27})) + b"\x7f"
_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
NOT_UTF8 = "not UTF-8: read as Windows-1252; check its accents"

__all__ = ["MAX_LINE_BYTES", "NOT_UTF8", "FileRefused", "LineNotes", "expand_paths",
           "file_digest", "fingerprint", "looks_binary", "printable", "read_lines", "unusable"]


class FileRefused(IngestError):
    """A file that gives no record, and why, in words (never its raw bytes)."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = file, reason


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


def read_lines(path: Path, notes: LineNotes | None = None,
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


class LineNotes:
    """What `read_lines` finds about single lines, for the file's report."""

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
