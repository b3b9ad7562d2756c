"""The Encoder interface: texts to unit vectors with one model, run one way.

An encoder is built from an `EncoderSpec`, a small picklable description (which model,
which kind of encoder, threads, device, cache folder), so a Ray worker can build the same
encoder on another machine. Each kind lives in its own module and is named in
`embeddings.registry.ENCODERS`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from embeddings.model_files import (
    BUNDLED_MODEL_NAME,
    bundled_model_path,
    default_cache_dir,
    weights_sha256,
    whole_words,
)

# The kinds of encoder, stated once: the registry checks that it has one class for each.
EncoderKind = Literal["onnx-int8", "torch"]


@dataclass(frozen=True)
class EncoderSpec:
    """What it takes to build an encoder, here or on a Ray worker."""

    model: Path | None = None  # a sentence-transformers folder; None: the bundled model
    kind: EncoderKind = "onnx-int8"
    threads: int | None = None  # ONNX sessions side by side; None: one per core
    device: str = "cpu"  # where the torch encoder runs ("cpu", "cuda")
    cache_dir: Path | None = None  # the weights' digest, exported models; None: user cache
    batch_size: int = 32  # texts a torch forward pass


def identity_of(weights_sha256: str, kind: str, revision: str = "") -> str:
    """Which vectors an encoder makes, as libraries and the embedding cache name them."""
    identity = f"{weights_sha256}:{kind}"
    return f"{identity}:{revision}" if revision else identity


class Encoder(ABC):
    """Documents and queries to unit vectors. The model loads on first use, once.

    A subclass sets `kind` and implements `dim` and `_encode` (a non-empty list of texts to
    an (n, dim) float32 array of unit vectors)."""

    kind: EncoderKind
    # A change to how this kind runs the model that changes its vectors: named in `identity`,
    # so neither the embedding cache nor a library reuses vectors of the earlier way, and
    # said in words (`revision_note`) when the earlier way's vectors are recomputed.
    revision: str = ""
    revision_note: str = ""

    def __init__(self, spec: EncoderSpec):
        self.spec = spec
        self.model_dir = Path(spec.model) if spec.model else bundled_model_path()
        self.name = BUNDLED_MODEL_NAME if spec.model is None else self.model_dir.name
        self.cache_dir = Path(spec.cache_dir) if spec.cache_dir else default_cache_dir()
        self._lock = threading.Lock()  # the model loads once, whichever thread asks first

    @property
    def weights_sha256(self) -> str:
        return weights_sha256(self.model_dir, self.cache_dir)

    def known_words(self) -> frozenset[str]:
        """The words the model knows whole (`model_files.whole_words`)."""
        return whole_words(self.model_dir)

    @property
    def identity(self) -> str:
        """Which vectors this encoder makes: the weights and the encoder that runs them."""
        return identity_of(self.weights_sha256, self.kind, self.revision)

    @property
    def earlier_identity(self) -> str:
        """The identity of this kind's vectors before its `revision`."""
        return identity_of(self.weights_sha256, self.kind)

    @property
    @abstractmethod
    def dim(self) -> int: ...

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray: ...

    def warm_up(self) -> None:
        """Load the model now (a background thread may call this while a library loads)."""
        self._encode(["warm-up"])

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) unit vector. all-MiniLM-L6-v2 takes no query prefix."""
        return self._encode([text])[0]
