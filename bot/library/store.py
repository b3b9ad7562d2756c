"""The library folder on disk: the one place that reads and writes it.

    manifest.json            written last, by rename: the commit point of a build
    <kind>.<gen>.<ext>       one per kind of `ARTIFACTS` below (lexical's is a folder)
    embedding-cache/         vectors by (model, text hash): outlives builds and formats
    parse-cache/             each corpus file's sightings as last read, by its bytes
    uploads/                 corpus files added through the web app
    stars.json               the papers the user starred: the user's, never a build's

    .build-journal.json      while a build runs: every file it may leave behind, by name

Every build first lists, in the journal, the exact names of the files it is about to write
(and of the previous build's files), then writes its files under a fresh generation name,
then swaps the manifest in with an atomic rename, then deletes what the journal lists and
the new manifest does not name, and the journal last. A crash at any moment leaves the
previous manifest pointing at complete files, and a journal naming exactly what the next
build or `tidy` removes. Nothing else in the folder is ever deleted: a library shares its
folder with whatever the user keeps there. The manifest records each file's size and CRC-32
(`FileCheck`), checked before the file is read. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import functools
import json
import os
import secrets
import shutil
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from bot.errors import LibraryError
from bot.ingest import ParseCache, file_digest
from bot.library import added
from bot.library.contents import FORMAT_VERSION, CorpusFile, FileCheck, Library, Manifest
from bot.library.lexical import LexicalIndex
from bot.records import IngestReport, Paper
from embeddings import EmbeddingCache, IndexFileError, Int8Vectors, VectorIndex

MANIFEST = "manifest.json"
EMBEDDING_CACHE = "embedding-cache"
PARSE_CACHE = "parse-cache"  # the sightings of each corpus file as last read
# The cache of earlier versions (vectors inside SQLite): its vectors move to the new one.
LEGACY_EMBEDDING_CACHE = ("embeddings.sqlite", "embeddings.sqlite-wal", "embeddings.sqlite-shm")
LOCK = ".lock"
UPLOADS = "uploads"  # files added through the web app
STARS = "stars.json"  # the papers the user starred (bot.library.stars)
USER_FILES_LOCK = ".user-files.lock"  # held while a user's file (stars) is changed
JOURNAL = ".build-journal.json"  # the files a running (or killed) build may leave behind
# What a library folder may hold before its first build is committed (a failed or killed
# first ingest leaves these): anything else there belongs to someone else.
_OWN_NAMES = frozenset({MANIFEST, LOCK, JOURNAL, f".{JOURNAL}.tmp", EMBEDDING_CACHE,
                        PARSE_CACHE, UPLOADS, STARS, USER_FILES_LOCK,
                        *LEGACY_EMBEDDING_CACHE})
_LOW_SPACE = 16 << 20  # a failed write with less free than this is taken for a full disk
_REBUILD = "re-run `paperchat ingest` to rebuild it"
_READ_BLOCK = 1 << 22


class _PaperFile(BaseModel):
    papers: list[Paper]
    report: IngestReport


@dataclass(frozen=True)
class Artifact:
    """One kind of file a build writes, as `<kind>.<generation>.<ext>`."""

    kind: str
    ext: str
    holds: str
    write: Callable[[Library, Path], None]
    read: Callable[[Path], Any]  # raises LibraryError for a damaged file
    crc_checked: bool = True  # else by size and header only: see FileCheck
    folder: bool = False
    optional: bool = False  # libraries written before it was kept have none


def _write_papers(library: Library, path: Path) -> None:
    paper_file = _PaperFile(papers=library.papers, report=library.report)
    path.write_bytes(paper_file.model_dump_json().encode())


def _read_papers(path: Path) -> _PaperFile:
    try:
        return _PaperFile.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        raise _damaged(path, exc) from None


def _read_docs(path: Path) -> VectorIndex:
    try:
        return VectorIndex.read(path)
    except IndexFileError as exc:
        raise LibraryError(f"{exc}; {_REBUILD}") from None


def _read_sentences(path: Path) -> Int8Vectors:
    try:  # the largest file, of which a query reads only its candidates' rows
        return Int8Vectors.open(path)
    except (ValueError, OSError) as exc:
        raise _damaged(path, exc) from None


def _read_lexical(path: Path) -> LexicalIndex:
    try:
        return LexicalIndex.read(path)
    except (OSError, ValueError, KeyError, EOFError, IndexError, TypeError) as exc:
        raise _damaged(path, exc) from None


def _write_added(library: Library, path: Path) -> None:
    assert library.added is not None
    path.write_bytes(added.to_json(library.papers, library.added))


def _read_added(path: Path) -> dict[str, dt.date]:
    try:
        return added.from_json(path.read_bytes())
    except (ValueError, TypeError) as exc:
        raise _damaged(path, exc) from None


def _read_array(path: Path, dtype: type) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _damaged(path, exc) from None
    if array.dtype != dtype or array.ndim != 2:
        raise LibraryError(f"{path} holds {array.dtype} of shape {array.shape}; {_REBUILD}")
    return array


# Written in this order, read in this order; the manifest names each by its kind.
ARTIFACTS = (
    Artifact("papers", "json", "papers and the ingest report", _write_papers, _read_papers),
    Artifact("docs", "faiss", "paper vectors (FAISS)",
             lambda library, path: library.doc_index.write(path), _read_docs),
    Artifact("sentences", "npy", "abstract-sentence vectors (int8, memory-mapped)",
             lambda library, path: library.sentence_vectors.save(path), _read_sentences,
             crc_checked=False),
    Artifact("spans", "npy", "(paper row, start, end) of each sentence",
             lambda library, path: _save_npy(path, library.sentence_spans),
             lambda path: _read_array(path, np.int32)),
    Artifact("hubness", "npy", "each paper's mean cosine to its nearest papers",
             lambda library, path: _save_npy(path, library.hubness.reshape(-1, 1)),
             lambda path: _read_array(path, np.float32).ravel()),
    Artifact("lexical", "bm25", "BM25 index of the paper texts (bm25s; numpy arrays, JSON)",
             lambda library, path: library.lexical.write(path), _read_lexical, folder=True),
    Artifact("added", "json", "when each paper first entered the library", _write_added,
             _read_added, optional=True),
)
_UNCHECKED = frozenset(a.kind for a in ARTIFACTS if not a.crc_checked)


class LibraryStore:
    def __init__(self, root: Path):
        self.root = Path(root).expanduser()

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def read_manifest(self) -> Manifest:
        path = self.manifest_path
        if not path.is_file():
            raise LibraryError(f"no library at {self.root}: run `paperchat ingest` first")
        try:
            manifest = Manifest.model_validate_json(path.read_bytes())
        except (ValidationError, ValueError, OSError) as exc:
            raise _damaged(path, exc) from None
        if manifest.format_version != FORMAT_VERSION:
            raise LibraryError(f"{path} has format {manifest.format_version}, this paperchat "
                               f"reads {FORMAT_VERSION}; {_REBUILD}")
        return manifest

    def load(self) -> Library:
        # A concurrent build may delete the generation we just read the manifest of: retry once.
        for attempt in range(2):
            manifest = self.read_manifest()
            try:
                return self._load(manifest)
            except FileNotFoundError:
                if attempt:
                    raise LibraryError(f"{self.root}: files named by {MANIFEST} are missing; "
                                       f"{_REBUILD}") from None
        raise AssertionError("unreachable")

    def _load(self, manifest: Manifest) -> Library:
        self._verify(manifest)
        paths: dict[str, Path] = {}
        read: dict[str, Any] = {}
        for artifact in ARTIFACTS:  # each checked for being there just before it is read
            if artifact.optional and artifact.kind not in manifest.files:
                continue
            paths[artifact.kind] = self._artifact_path(manifest, artifact.kind)
            read[artifact.kind] = artifact.read(paths[artifact.kind])
        stored = read["papers"]
        library = Library(papers=stored.papers, report=stored.report, doc_index=read["docs"],
                          lexical=read["lexical"], sentence_vectors=read["sentences"],
                          sentence_spans=read["spans"], hubness=read["hubness"],
                          manifest=manifest)
        if "added" in read:
            library.added = added.aligned(library.papers, read["added"], library.built_on)
        if problems := _disagreements(library, paths):
            raise LibraryError(f"{self.root}: files disagree ({'; '.join(problems)}); {_REBUILD}")
        return library

    def _artifact_path(self, manifest: Manifest, kind: str) -> Path:
        """Where the manifest says this kind's file is; FileNotFoundError if it is not there
        (a newer build may have just replaced it; `load` retries)."""
        name = manifest.files.get(kind)
        if not name or "/" in name or name.startswith("."):
            raise LibraryError(f"{self.manifest_path} names no valid {kind} file; {_REBUILD}")
        found = self.root / name
        if not found.exists():
            raise FileNotFoundError(found)
        return found

    def _verify(self, manifest: Manifest) -> None:
        """Every file as the build wrote it: same size, same CRC-32. Raises FileNotFoundError
        for a missing file (a newer build may have just replaced it; `load` retries)."""
        for name, check in manifest.checks.items():
            path = self.root / name
            if ".." in Path(name).parts or name.startswith("/"):
                raise LibraryError(f"{self.manifest_path} names a file outside the library "
                                   f"({name}); {_REBUILD}")
            size = path.stat().st_size
            if size != check.size:
                raise LibraryError(f"{path} is damaged ({size:,} bytes, the build wrote "
                                   f"{check.size:,}); {_REBUILD}")
            if check.crc32 is not None and _crc32(path) != check.crc32:
                raise LibraryError(f"{path} is damaged (its checksum differs from the one "
                                   f"the build recorded); {_REBUILD}")

    def save(self, library: Library) -> None:
        """Write a new generation, commit it by renaming the manifest, drop older ones.

        A write that fails (a full disk, a read-only folder) removes this generation's files
        and raises LibraryError: the previous library stays as it was."""
        self.root.mkdir(parents=True, exist_ok=True)
        generation = secrets.token_hex(6)
        files = {a.kind: f"{a.kind}.{generation}.{a.ext}" for a in ARTIFACTS}
        manifest_temp = f".{MANIFEST}.{generation}.tmp"
        written = [*files.values(), *(_temp_name(n) for n in files.values()), manifest_temp]
        previous = self._readable_manifest()
        try:
            self._journal(written + (sorted(_recorded(previous)) if previous else []))
            self._write_generation(library, files)
            library.manifest = library.manifest.model_copy(
                update={"generation": generation, "files": files,
                        "checks": self._checks(files)})
            manifest_json = library.manifest.model_dump_json(indent=2).encode()
            self._write(MANIFEST, lambda p: p.write_bytes(manifest_json), temp=manifest_temp)
            _fsync_dir(self.root)
        except (OSError, RuntimeError) as exc:
            self._remove(set(written) - _recorded(self._readable_manifest()))
            raise self.write_error(exc) from None
        self._sweep(library.manifest)

    def _write_generation(self, library: Library, files: dict[str, str]) -> None:
        for artifact in ARTIFACTS:
            write_one = self._write_dir if artifact.folder else self._write
            write_one(files[artifact.kind], functools.partial(artifact.write, library))

    def is_disk_full(self, exc: BaseException) -> bool:
        return _is_disk_full(exc, self.root)

    def is_write_failure(self, exc: OSError) -> bool:
        """Whether this error came from writing the library (not from reading the corpus)."""
        if self.is_disk_full(exc) or exc.errno == errno.EROFS:
            return True
        if not exc.filename:
            return False
        try:
            return Path(os.fsdecode(exc.filename)).resolve().is_relative_to(self.root.resolve())
        except (OSError, RuntimeError, TypeError):
            return False

    def write_error(self, exc: BaseException) -> LibraryError:
        """A failed write as one line naming its real cause."""
        if isinstance(exc, LibraryError):
            return exc
        intact = ("the previous library is intact" if self._readable_manifest() is not None
                  else "nothing was built")
        if _is_disk_full(exc, self.root):
            return LibraryError(f"no space left on device while writing the library in "
                                f"{self.root}; free some space and run again — {intact}")
        if isinstance(exc, OSError):
            where = f" ({exc.filename})" if exc.filename else ""
            return LibraryError(f"cannot write the library in {self.root}: "
                                f"{exc.strerror or exc}{where}; {intact}")
        return LibraryError(f"writing the library in {self.root} failed ({_short(exc)}); "
                            f"{intact}")

    def corpus_entries(self, files: list[Path]) -> list[CorpusFile]:
        """The corpus as a manifest records it: absolute paths, except files inside the
        library folder (uploads), relative to it so that a moved library keeps them."""
        root = self.root.resolve()
        entries = []
        for file in files:
            path = Path(file).expanduser().resolve()
            stat = path.stat()
            stored = path.relative_to(root) if path.is_relative_to(root) else path
            entries.append(CorpusFile(path=str(stored), size=stat.st_size,
                                      mtime_ns=stat.st_mtime_ns, sha256=file_digest(path)))
        return entries

    def corpus_files(self, manifest: Manifest) -> list[Path]:
        """Where the corpus files of this library are now."""
        return [self._corpus_path(entry) for entry in manifest.corpus]

    def corpus_changes(self, manifest: Manifest) -> tuple[list[Path], list[Path]]:
        """The corpus files that changed and those that are gone since the build read them.
        A file whose size and modification time are unchanged is not hashed again."""
        changed, gone = [], []
        for entry in manifest.corpus:
            path = self._corpus_path(entry)
            try:
                stat = path.stat()
            except OSError:
                gone.append(path)
                continue
            if not path.is_file():
                gone.append(path)
            elif entry.size is not None and stat.st_size != entry.size:
                changed.append(path)
            elif (entry.sha256 is not None and stat.st_mtime_ns != entry.mtime_ns
                  and file_digest(path) != entry.sha256):
                changed.append(path)
        return changed, gone

    def _corpus_path(self, entry: CorpusFile) -> Path:
        path = Path(entry.path)
        return path if path.is_absolute() else self.root.resolve() / path

    def leftovers(self, manifest: Manifest) -> list[Path]:
        """What a killed build left behind: the files its journal lists that the manifest
        does not name, and the journal itself."""
        journal = self.root / JOURNAL
        if not journal.is_file():
            return []
        keep = _recorded(manifest)
        return [self.root / name for name in self._journal_names()
                if name not in keep and _exists(self.root / name)] + [journal]

    def tidy(self, manifest: Manifest) -> None:
        """Remove what a killed build left behind, unless a build is running now (whose new
        files are not in the manifest yet)."""
        if not self.leftovers(manifest):
            return
        try:
            with self.writing():
                self._sweep(self.read_manifest())
        except LibraryError:
            pass  # a build is running; it sweeps when it commits

    def _sweep(self, current: Manifest) -> None:
        """Delete what the journal lists and the current manifest does not name, then the
        journal. Nothing unlisted is touched, whatever its name."""
        self._remove(set(self._journal_names()) - _recorded(current))
        (self.root / JOURNAL).unlink(missing_ok=True)

    def _remove(self, names: set[str]) -> None:
        # Deepest first, so that a folder's listed files go before the folder.
        for name in sorted(names, key=lambda n: (-len(Path(n).parts), n)):
            if not _is_inside(name) or name in _OWN_NAMES:
                continue
            path = self.root / name
            if path.is_symlink() or path.is_file():
                path.unlink(missing_ok=True)
            elif path.is_dir() and name.endswith(".tmp") and len(Path(name).parts) == 1:
                shutil.rmtree(path, ignore_errors=True)  # a build's own temporary folder
            elif path.is_dir():
                with contextlib.suppress(OSError):  # a folder holding unlisted files stays
                    path.rmdir()

    def _journal(self, names: list[str]) -> None:
        """Record, before writing them, the names of every file this build may leave."""
        listed = sorted(set(self._journal_names()) | set(names))
        data = json.dumps({"files": listed}, indent=1).encode()
        self._write(JOURNAL, lambda p: p.write_bytes(data), temp=f".{JOURNAL}.tmp")
        _fsync_dir(self.root)

    def _journal_names(self) -> list[str]:
        try:
            listed = json.loads((self.root / JOURNAL).read_bytes()).get("files", [])
        except (OSError, ValueError, AttributeError):
            return []  # none, or unreadable: then nothing is known to be ours to delete
        return [n for n in listed if isinstance(n, str) and _is_inside(n)]

    def _readable_manifest(self) -> Manifest | None:
        try:
            return self.read_manifest() if self.exists() else None
        except LibraryError:
            return None

    def _checks(self, files: dict[str, str]) -> dict[str, FileCheck]:
        """Size and CRC-32 of every file of a build (a folder's files one by one), read back
        from disk once they are in place."""
        checks = {}
        for kind, name in files.items():
            path = self.root / name
            for item in sorted(path.iterdir()) if path.is_dir() else [path]:
                checks[str(item.relative_to(self.root))] = FileCheck(
                    size=item.stat().st_size,
                    crc32=None if kind in _UNCHECKED else _crc32(item))
        return checks

    def _write(self, name: str, write, *, temp: str | None = None) -> None:
        final = self.root / name
        temp_path = self.root / (temp or _temp_name(name))
        try:
            write(temp_path)
            with temp_path.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(temp_path, final)
        finally:
            temp_path.unlink(missing_ok=True)

    def _write_dir(self, name: str, write) -> None:
        """A folder written aside, its files synced, then renamed into place."""
        final = self.root / name
        temp = self.root / _temp_name(name)  # named by the generation: never another's
        shutil.rmtree(temp, ignore_errors=True)
        try:
            temp.mkdir()
            write(temp)
            for item in temp.iterdir():
                with item.open("rb+") as fh:
                    os.fsync(fh.fileno())
            _fsync_dir(temp)
            os.replace(temp, final)
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def keep_upload(self, path: Path, name: str | None = None) -> tuple[Path, bool]:
        """A copy of an uploaded corpus file under uploads/, where it stays part of the corpus
        (a browser upload lives in a temporary folder), and whether this call created it. The
        same content keeps one copy; a different file of the same name gets a numbered name.
        A caller that gives up removes only the copies it created: an identical file another
        request kept is that request's."""
        folder = self.root / UPLOADS
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(name or path.name).name or "upload.txt"
        stem, suffix = _split_suffix(name)
        data = Path(path).read_bytes()
        for attempt in range(1, 1000):
            target = folder / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
            if not target.exists() and self._link_new(folder, target, data):
                return target, True
            if target.read_bytes() == data:  # also when another request just wrote it
                return target, False
        raise LibraryError(f"{folder} holds too many files named {name}")

    def check_writable_here(self) -> None:
        """A library is built only into a new or empty folder, or one that holds a library:
        never among someone else's files, which a library could then mistake for its own."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise LibraryError(f"{root} is a file, not a folder: choose a folder for the "
                               f"library, e.g. `--index {root.parent / 'library'}`")
        if not root.exists() or self.exists() or (root / JOURNAL).exists():
            return
        try:
            foreign = sorted(p.name for p in root.iterdir() if p.name not in _OWN_NAMES)
        except OSError as exc:
            raise LibraryError(f"{root}: cannot be read ({exc.strerror or exc})") from None
        if foreign:
            raise LibraryError(
                f"{root} holds files that are not a paperchat library ({foreign[0]}"
                f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}); build the "
                f"library in a folder of its own, e.g. `--index {root / 'library'}`")

    @staticmethod
    def _link_new(folder: Path, target: Path, data: bytes) -> bool:
        """Write `target` whole, unless another writer takes the name first (then False):
        a hard link never replaces a file, where a rename would."""
        temp = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        temp.write_bytes(data)
        try:
            os.link(temp, target)
            return True
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)

    def read_user_file(self, name: str, max_bytes: int) -> bytes | None:
        """A small file of the user's own in the folder (the stars): None when there is
        none. Builds never write or remove it."""
        path = self.root / name
        try:
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LibraryError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        if len(data) > max_bytes:
            raise LibraryError(f"{path} is over {max_bytes:,} bytes: it is not one this "
                               "paperchat wrote; move it away to start it anew")
        return data

    def update_user_file(self, name: str, max_bytes: int,
                         change: Callable[[bytes | None], bytes]) -> None:
        """Read a user's file, change it and write it back, under a lock of its own (never
        the build's: a star does not wait for an ingest): two processes changing it at once
        both keep their change. The new file is written aside under a name of this process's
        own and renamed over the old one, so a reader sees one whole file or the other."""
        if not self.root.is_dir():
            raise LibraryError(f"no library at {self.root}: run `paperchat ingest` first")
        try:
            lock_file = (self.root / USER_FILES_LOCK).open("a+")
        except OSError as exc:
            raise self.write_error(exc) from None
        with lock_file as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held for one small write: worth waiting for
            try:
                data = change(self.read_user_file(name, max_bytes))
                temp = f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
                self._write(name, lambda p: p.write_bytes(data), temp=temp)
                _fsync_dir(self.root)
            except OSError as exc:
                raise self.write_error(exc) from None
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def parse_cache(self) -> ParseCache:
        return ParseCache(self.root / PARSE_CACHE)

    def embedding_cache(self, model: str, dim: int) -> EmbeddingCache:
        self.root.mkdir(parents=True, exist_ok=True)
        cache = EmbeddingCache(self.root / EMBEDDING_CACHE, model, dim)
        legacy = self.root / LEGACY_EMBEDDING_CACHE[0]
        if legacy.exists():
            cache.absorb_legacy(legacy)
            for name in LEGACY_EMBEDDING_CACHE:
                (self.root / name).unlink(missing_ok=True)
        return cache

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the folder's write lock; a second writer fails at once with a clear message.
        A folder that holds files but no library is refused before anything is written."""
        self.check_writable_here()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock_file = (self.root / LOCK).open("a+")
        except OSError as exc:
            raise self.write_error(exc) from None
        with lock_file as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LibraryError(f"{self.root} is being written by another paperchat process; "
                                   "wait for it to finish, then try again") from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _disagreements(library: Library, paths: dict[str, Path]) -> list[str]:
    """How the files of one build disagree with each other or with their manifest."""
    manifest, doc_index, vectors = library.manifest, library.doc_index, library.sentence_vectors
    spans, papers = library.sentence_spans, library.papers
    problems = []
    if len(papers) != manifest.papers or doc_index.count != manifest.papers:
        problems.append(f"{manifest.papers} papers in the manifest, {len(papers)} in "
                        f"{paths['papers'].name}, {doc_index.count} in {paths['docs'].name}")
    if doc_index.dim != manifest.dim or vectors.shape[1:] != (manifest.dim,):
        problems.append(f"vector dimension is not {manifest.dim}")
    if len(vectors) != manifest.sentences or spans.shape != (manifest.sentences, 3):
        problems.append(f"sentence files do not hold {manifest.sentences} sentences")
    elif len(spans) and (spans[:, 0].min() < 0 or spans[:, 0].max() >= len(papers)
                         or np.any(np.diff(spans[:, 0]) < 0)):
        problems.append("sentence spans point outside the papers")
    if len(library.hubness) != manifest.papers or library.lexical.count != manifest.papers:
        problems.append(f"hubness holds {len(library.hubness)} papers, "
                        f"BM25 {library.lexical.count}")
    return problems


def _damaged(path: Path, exc: Exception) -> LibraryError:
    return LibraryError(f"{path} is damaged ({_short(exc)}); {_REBUILD}")


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as fh:
        while block := fh.read(_READ_BLOCK):
            crc = zlib.crc32(block, crc)
    return crc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(name: str) -> str:
    """A file's name while it is written: its final name (which holds the generation) hidden."""
    return f".{name}.tmp"


def _recorded(manifest: Manifest | None) -> set[str]:
    """Every file and folder a committed build wrote, by its path in the library folder."""
    if manifest is None:
        return set()
    return {*manifest.files.values(), *manifest.checks}


def _is_inside(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _exists(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def _is_disk_full(exc: BaseException, root: Path) -> bool:
    """ENOSPC (or EDQUOT) anywhere in the chain; FAISS reports a failed write as a bare
    RuntimeError, taken for a full disk when the disk is nearly full."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "disk is full" in str(seen) or "No space left" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, RuntimeError):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(root).free < _LOW_SPACE
    return False


def _split_suffix(name: str) -> tuple[str, str]:
    """'papers.jsonl.gz' -> ('papers', '.jsonl.gz')."""
    stem, dot, rest = name.partition(".")
    return (stem, dot + rest) if stem else (name, "")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]

