"""The library folder on disk: the one place that reads and writes it.

    manifest.json            written last, by rename: the commit point of a build
    papers.<gen>.json        papers and the ingest report
    docs.<gen>.faiss         paper vectors (FAISS)
    lexical.<gen>/           BM25 index of the paper texts (bm25s; numpy arrays and JSON)
    sentences.<gen>.npy      abstract-sentence vectors (int8, memory-mapped)
    spans.<gen>.npy          (paper row, start, end) of each sentence
    hubness.<gen>.npy        each paper's mean cosine to its nearest papers
    embedding-cache/         vectors by (model, text hash): outlives builds and formats
    parse-cache/             each corpus file's sightings as last read, by its bytes
    uploads/                 corpus files added through the web app

Every build writes files under a fresh generation name, then swaps the manifest in with an
atomic rename, then deletes other generations. A crash at any moment leaves the previous
manifest pointing at complete files. The manifest records each file's size and CRC-32
(`FileCheck`), checked before the file is read. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from bot.collector import collector_paused
from bot.errors import LibraryError
from bot.ingest import ParseCache
from bot.lexical import LexicalIndex
from bot.library import FORMAT_VERSION, FileCheck, Library, Manifest
from bot.records import IngestReport, Paper
from embeddings import EmbeddingCache, IndexFileError, Int8Vectors, VectorIndex

MANIFEST = "manifest.json"
EMBEDDING_CACHE = "embedding-cache"
PARSE_CACHE = "parse-cache"  # the sightings of each corpus file as last read
# The cache of earlier versions (vectors inside SQLite): its vectors move to the new one.
LEGACY_EMBEDDING_CACHE = ("embeddings.sqlite", "embeddings.sqlite-wal", "embeddings.sqlite-shm")
LOCK = ".lock"
UPLOADS = "uploads"  # files added through the web app
_REBUILD = "re-run `paperchat ingest` to rebuild it"
_UNCHECKED = ("sentences",)  # by size and header only: see FileCheck
_READ_BLOCK = 1 << 22


class _PaperFile(BaseModel):
    papers: list[Paper]
    report: IngestReport


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
            raise LibraryError(f"{path} is damaged ({_short(exc)}); {_REBUILD}") from None
        if manifest.format_version != FORMAT_VERSION:
            raise LibraryError(f"{path} has format {manifest.format_version}, this paperchat "
                               f"reads {FORMAT_VERSION}; {_REBUILD}")
        return manifest

    def load(self) -> Library:
        # A concurrent build may delete the generation we just read the manifest of: retry once.
        for attempt in range(2):
            manifest = self.read_manifest()
            try:
                with collector_paused():
                    return self._load(manifest)
            except FileNotFoundError:
                if attempt:
                    raise LibraryError(f"{self.root}: files named by {MANIFEST} are missing; "
                                       f"{_REBUILD}") from None
        raise AssertionError("unreachable")

    def _load(self, manifest: Manifest) -> Library:
        def path(kind: str) -> Path:
            name = manifest.files.get(kind)
            if not name or "/" in name or name.startswith("."):
                raise LibraryError(f"{self.manifest_path} names no valid {kind} file; {_REBUILD}")
            found = self.root / name
            if not found.exists():
                raise FileNotFoundError(found)
            return found

        self._verify(manifest)
        papers_path = path("papers")
        try:
            stored = _PaperFile.model_validate_json(papers_path.read_bytes())
        except (ValidationError, ValueError) as exc:
            raise LibraryError(f"{papers_path} is damaged ({_short(exc)}); {_REBUILD}") from None
        docs_path = path("docs")
        try:
            doc_index = VectorIndex.read(docs_path)
        except IndexFileError as exc:
            raise LibraryError(f"{exc}; {_REBUILD}") from None
        sentences_path = path("sentences")
        try:  # the largest file, of which a query reads only its candidates' rows
            vectors = Int8Vectors.open(sentences_path)
        except (ValueError, OSError) as exc:
            raise LibraryError(f"{sentences_path} is damaged ({_short(exc)}); {_REBUILD}") from None
        spans = self._read_array(path("spans"), np.int32)
        hubness = self._read_array(path("hubness"), np.float32).ravel()
        lexical_path = path("lexical")
        try:
            lexical = LexicalIndex.read(lexical_path)
        except (OSError, ValueError, KeyError, EOFError, IndexError, TypeError) as exc:
            raise LibraryError(f"{lexical_path} is damaged ({_short(exc)}); {_REBUILD}") from None

        problems = []
        if len(stored.papers) != manifest.papers or doc_index.count != manifest.papers:
            problems.append(f"{manifest.papers} papers in the manifest, {len(stored.papers)} in "
                            f"{papers_path.name}, {doc_index.count} in {docs_path.name}")
        if doc_index.dim != manifest.dim or vectors.shape[1:] != (manifest.dim,):
            problems.append(f"vector dimension is not {manifest.dim}")
        if len(vectors) != manifest.sentences or spans.shape != (manifest.sentences, 3):
            problems.append(f"sentence files do not hold {manifest.sentences} sentences")
        elif len(spans) and (spans[:, 0].min() < 0 or spans[:, 0].max() >= len(stored.papers)
                             or np.any(np.diff(spans[:, 0]) < 0)):
            problems.append("sentence spans point outside the papers")
        if len(hubness) != manifest.papers or lexical.count != manifest.papers:
            problems.append(f"hubness holds {len(hubness)} papers, BM25 {lexical.count}")
        if problems:
            raise LibraryError(f"{self.root}: files disagree ({'; '.join(problems)}); {_REBUILD}")
        return Library(papers=stored.papers, report=stored.report, doc_index=doc_index,
                       lexical=lexical, sentence_vectors=vectors, sentence_spans=spans,
                       hubness=hubness, manifest=manifest)

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

    @staticmethod
    def _read_array(path: Path, dtype: type) -> np.ndarray:
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise LibraryError(f"{path} is damaged ({_short(exc)}); {_REBUILD}") from None
        if array.dtype != dtype or array.ndim != 2:
            raise LibraryError(f"{path} holds {array.dtype} of shape {array.shape}; {_REBUILD}")
        return array

    def save(self, library: Library) -> None:
        """Write a new generation, commit it by renaming the manifest, drop older ones."""
        self.root.mkdir(parents=True, exist_ok=True)
        generation = secrets.token_hex(6)
        files = {kind: f"{kind}.{generation}.{ext}" for kind, ext in
                 [("papers", "json"), ("docs", "faiss"), ("sentences", "npy"), ("spans", "npy"),
                  ("hubness", "npy"), ("lexical", "bm25")]}
        paper_file = _PaperFile(papers=library.papers, report=library.report)
        self._write(files["papers"], lambda p: p.write_bytes(paper_file.model_dump_json().encode()))
        self._write(files["docs"], library.doc_index.write)
        self._write(files["sentences"], library.sentence_vectors.save)
        self._write(files["spans"], lambda p: _save_npy(p, library.sentence_spans))
        self._write(files["hubness"], lambda p: _save_npy(p, library.hubness.reshape(-1, 1)))
        self._write_dir(files["lexical"], library.lexical.write)
        library.manifest = library.manifest.model_copy(
            update={"generation": generation, "files": files,
                    "checks": self._checks(files)})
        manifest_json = library.manifest.model_dump_json(indent=2).encode()
        self._write(MANIFEST, lambda p: p.write_bytes(manifest_json))
        _fsync_dir(self.root)
        self._sweep(set(files.values()))

    def leftovers(self, manifest: Manifest) -> list[Path]:
        """Files of other builds and temporary files: what a killed build leaves behind."""
        keep = {MANIFEST, LOCK, *manifest.files.values()}
        return [p for p in self.root.iterdir() if p.name not in keep and _is_ours(p.name)]

    def tidy(self, manifest: Manifest) -> None:
        """Remove what a killed build left behind, unless a build is running now (whose new
        files are not in the manifest yet)."""
        if not self.leftovers(manifest):
            return
        try:
            with self.writing():
                self._sweep(set(self.read_manifest().files.values()))
        except LibraryError:
            pass  # a build is running; it sweeps when it commits

    def _sweep(self, current: set[str]) -> None:
        keep = {MANIFEST, LOCK, *current}
        for stale in self.root.iterdir():
            if stale.name in keep or not _is_ours(stale.name):
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)

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

    def _write(self, name: str, write) -> None:
        final = self.root / name
        temp = self.root / f".{name}.{os.getpid()}.tmp"
        try:
            write(temp)
            with temp.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)

    def _write_dir(self, name: str, write) -> None:
        """A folder written aside, its files synced, then renamed into place."""
        final = self.root / name
        temp = self.root / f".{name}.{os.getpid()}.tmp"
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
        """Hold the folder's write lock; a second writer fails at once with a clear message."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / LOCK).open("a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LibraryError(f"{self.root} is being written by another paperchat process; "
                                   "wait for it to finish, then try again") from None
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


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


def _is_ours(name: str) -> bool:
    return name.startswith(("papers.", "docs.", "sentences.", "spans.", "hubness.",
                             "lexical.")) or (
        name.startswith(".") and name.endswith(".tmp"))


def _split_suffix(name: str) -> tuple[str, str]:
    """'papers.jsonl.gz' -> ('papers', '.jsonl.gz')."""
    stem, dot, rest = name.partition(".")
    return (stem, dot + rest) if stem else (name, "")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]

