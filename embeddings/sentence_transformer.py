"""The `torch` encoder: the model through sentence-transformers, at full precision.

The reference the int8 encoder is measured against, and the one that runs on a GPU. The
model is read from its folder only (`local_files_only`): nothing is fetched from a hub.
"""

from __future__ import annotations

import numpy as np

from embeddings.encoder import Encoder, EncoderSpec


class SentenceTransformerEncoder(Encoder):
    """Batches of texts through sentence-transformers, normalised to unit length."""

    kind = "torch"

    def __init__(self, spec: EncoderSpec):
        super().__init__(spec)
        self.batch_size = spec.batch_size
        self.device = spec.device
        self._model = None

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self.model_dir), device=self.device,
                                                  local_files_only=True)
            return self._model

    @property
    def dim(self) -> int:
        """As the model's own configuration says (a Dense layer may change the width)."""
        return int(self.model.get_embedding_dimension())

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode_document(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)
