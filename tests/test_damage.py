"""Damaged library files: every file of a library truncated, emptied, overwritten, edited by
hand. Each is a LibraryError naming the file and the fix, through the API and the CLI (exit 1,
one line on stderr), never a traceback or a crash of FAISS or SciPy. Nothing is unpickled.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import zlib

import numpy as np
import pytest
from conftest import REPO

from bot import LibraryError, PaperBot
from bot.library.store import MANIFEST
from bot.paperbot import SEED_DIR
from bot.surfaces.cli import main

KINDS = ["papers", "docs", "sentences", "spans", "hubness", "lexical/data.csc.index.npy",
         "lexical/indices.csc.index.npy", "lexical/indptr.csc.index.npy",
         "lexical/vocab.index.json", "lexical/params.index.json", "lexical/paper_tokens.npy",
         "lexical/paper_token_offsets.npy"]


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _one_byte_short(data: bytes) -> bytes:
    return data[:-1]


def _emptied(data: bytes) -> bytes:
    return b""


def _garbage(data: bytes) -> bytes:
    return random.Random(len(data)).randbytes(len(data))


def _header_overwritten(data: bytes) -> bytes:
    return random.Random(1).randbytes(min(64, len(data))) + data[64:]


def _bytes_flipped(data: bytes) -> bytes:
    """A few bytes changed inside the file, its size unchanged."""
    damaged = bytearray(data)
    rng = random.Random(2)
    for _ in range(8):
        damaged[rng.randrange(len(damaged) // 4, len(damaged))] ^= 0x5A
    return bytes(damaged)


def _appended(data: bytes) -> bytes:
    return data + b"\x00junk" * 64


DAMAGES = [_truncated, _one_byte_short, _emptied, _garbage, _header_overwritten,
           _bytes_flipped, _appended]


def _file(library, kind: str):
    manifest = json.loads((library / MANIFEST).read_text())
    if kind.startswith("lexical/"):
        return library / manifest["files"]["lexical"] / kind.split("/", 1)[1]
    return library / manifest["files"][kind]


def _cases():
    for kind in KINDS:
        for damage in DAMAGES:
            if kind == "sentences" and damage is _bytes_flipped:
                continue  # vector values are checked by size and header only (FileCheck)
            yield pytest.param(kind, damage, id=f"{kind}-{damage.__name__.strip('_')}")


@pytest.mark.parametrize(("kind", "damage"), list(_cases()))
def test_a_damaged_file_is_refused_by_name(library_copy, embedder, kind, damage):
    target = _file(library_copy, kind)
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(LibraryError, match="paperchat ingest") as caught:
        PaperBot.open(library_copy, embedder=embedder)
    message = str(caught.value)
    assert target.name in message or str(library_copy) in message
    assert "Traceback" not in message and len(message) < 400


MANIFEST_EDITS = {
    "not JSON": lambda m: "{ not json",
    "empty": lambda m: "",
    "a field removed": lambda m: json.dumps({k: v for k, v in m.items() if k != "dim"}),
    "a count changed": lambda m: json.dumps(m | {"papers": m["papers"] - 1}),
    "another format": lambda m: json.dumps(m | {"format_version": 999}),
    "a file renamed": lambda m: json.dumps(m | {"files": m["files"] | {"docs": "docs.x.faiss"}}),
    "a path outside": lambda m: json.dumps(m | {"files": m["files"] | {"papers": "../x.json"}}),
    "a size changed": lambda m: json.dumps(m | {"checks": {
        k: v | {"size": v["size"] + 1} for k, v in m["checks"].items()}}),
    "a list for an object": lambda m: json.dumps([m]),
}


@pytest.mark.parametrize("edit", list(MANIFEST_EDITS))
def test_a_hand_edited_manifest_is_refused(library_copy, embedder, edit):
    path = library_copy / MANIFEST
    path.write_text(MANIFEST_EDITS[edit](json.loads(path.read_text())))
    with pytest.raises(LibraryError, match="paperchat ingest"):
        PaperBot.open(library_copy, embedder=embedder)


@pytest.fixture
def library_without_corpus(library_copy):
    """A library whose corpus files are gone: the CLI opens it as it is, not rebuilding."""
    path = library_copy / MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"corpus": [{"path": "/nonexistent/corpus.txt"}]}))
    return library_copy


@pytest.mark.parametrize("kind", ["manifest", "papers", "docs", "sentences", "spans",
                                  "lexical/indices.csc.index.npy"])
def test_the_cli_says_which_file_is_damaged(library_without_corpus, capsys, kind):
    target = (library_without_corpus / MANIFEST if kind == "manifest"
              else _file(library_without_corpus, kind))
    target.write_bytes(_garbage(target.read_bytes()))
    code = main(["search", "graph networks", "--index", str(library_without_corpus)])
    out, err = capsys.readouterr()
    assert code == 1 and not out
    assert err.startswith("paperchat: error: ") and target.name in err
    assert "paperchat ingest" in err and len(err.strip().splitlines()) == 1


def test_a_damaged_faiss_file_in_a_fresh_process_is_an_exit_1_not_a_crash(
        library_without_corpus):
    target = _file(library_without_corpus, "docs")
    target.write_bytes(_header_overwritten(target.read_bytes()))
    result = subprocess.run([sys.executable, "-m", "bot", "ask", "graph networks", "--index",
                             str(library_without_corpus)], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1, result.stderr  # a segfault would be -11, an abort -6
    assert target.name in result.stderr and "Traceback" not in result.stderr


def test_a_damaged_library_is_not_rebuilt_by_a_read_but_by_ingest(library_copy, capsys):
    target = _file(library_copy, "docs")
    target.write_bytes(_garbage(target.read_bytes()))
    assert main(["search", "graph networks", "--index", str(library_copy), "-k", "1"]) == 1
    out, err = capsys.readouterr()
    assert not out and target.name in err and len(err.strip().splitlines()) == 1
    assert main(["ingest", str(SEED_DIR), "--index", str(library_copy)]) == 0  # the fix it names
    capsys.readouterr()
    assert main(["search", "graph networks", "--index", str(library_copy), "-k", "1"]) == 0
    assert "graph networks" in capsys.readouterr().out
    assert len(PaperBot.open(library_copy).papers) == 68


class _Payload:
    """Unpickling this would leave a mark: the proof that nothing is unpickled."""

    def __reduce__(self):
        return (open, (str(REPO / "test-artifacts" / "unpickled"), "w"))


@pytest.mark.parametrize("kind", ["spans", "hubness", "lexical/paper_tokens.npy",
                                  "lexical/data.csc.index.npy"])
def test_no_array_is_ever_unpickled(library_copy, embedder, kind):
    mark = REPO / "test-artifacts" / "unpickled"
    mark.parent.mkdir(exist_ok=True)
    mark.unlink(missing_ok=True)
    target = _file(library_copy, kind)
    with target.open("wb") as fh:
        np.save(fh, np.array([_Payload()], dtype=object), allow_pickle=True)
    # Make the manifest vouch for the planted file, so that it reaches the array reader.
    path = library_copy / MANIFEST
    manifest = json.loads(path.read_text())
    data = target.read_bytes()
    name = str(target.relative_to(library_copy))
    manifest["checks"][name] = {"size": len(data), "crc32": zlib.crc32(data)}
    path.write_text(json.dumps(manifest))
    with pytest.raises(LibraryError, match="paperchat ingest"):
        PaperBot.open(library_copy, embedder=embedder)
    assert not mark.exists()


def test_the_embedding_cache_damaged_is_a_clear_error_on_ingest(library_copy, tmp_path,
                                                                capsys):
    keys = library_copy / "embedding-cache" / "keys.sqlite"
    keys.write_bytes(_garbage(keys.read_bytes()))
    extra = tmp_path / "more.txt"
    extra.write_text("Abstract:A new abstract about soft robots.\n", encoding="utf-8")
    code = main(["ingest", "--add", str(extra), "--index", str(library_copy)])
    err = capsys.readouterr().err
    assert code == 1 and "keys.sqlite" in err and "delete it" in err
    assert len(PaperBot.open(library_copy).papers) == 68  # the library itself is untouched
