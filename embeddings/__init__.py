"""Vectors only: the bundled sentence embedder, the embedding cache and its engines (this
process, or Ray in `embeddings.ray_engine`, imported only when asked for), and a FAISS index.
Knows nothing of papers."""

from embeddings.cache import (
    CacheError,
    EmbeddingCache,
    EmbeddingEngine,
    EngineError,
    LocalEngine,
)
from embeddings.index import IndexFileError, VectorIndex
from embeddings.model import (
    BUNDLED_MODEL_NAME,
    BUNDLED_WEIGHTS_SHA256,
    Embedder,
    ModelUnavailable,
    bundled_model_path,
)
from embeddings.vector_file import Int8Vectors

__all__ = [
    "BUNDLED_MODEL_NAME",
    "BUNDLED_WEIGHTS_SHA256",
    "CacheError",
    "Embedder",
    "EmbeddingCache",
    "EmbeddingEngine",
    "EngineError",
    "IndexFileError",
    "Int8Vectors",
    "LocalEngine",
    "ModelUnavailable",
    "VectorIndex",
    "bundled_model_path",
]
