"""Vectors only: encoders (an `Encoder` of each kind in `ENCODERS`, built from an
`EncoderSpec` by `make_encoder`), the embedding cache and its engines (this process, or Ray
in `embeddings.ray_engine`, imported only when asked for), and a FAISS index.
Knows nothing of papers."""

from embeddings.cache import (
    CacheError,
    EmbeddingCache,
    EmbeddingEngine,
    EngineError,
    LocalEngine,
)
from embeddings.encoder import Encoder, EncoderKind, EncoderSpec
from embeddings.index import IndexFileError, VectorIndex
from embeddings.model_files import (
    BUNDLED_MODEL_NAME,
    BUNDLED_WEIGHTS_SHA256,
    ModelUnavailable,
    bundled_model_path,
)
from embeddings.registry import ENCODERS, make_encoder
from embeddings.vector_file import Int8Vectors

__all__ = [
    "BUNDLED_MODEL_NAME",
    "BUNDLED_WEIGHTS_SHA256",
    "CacheError",
    "ENCODERS",
    "EmbeddingCache",
    "EmbeddingEngine",
    "Encoder",
    "EncoderKind",
    "EncoderSpec",
    "EngineError",
    "IndexFileError",
    "Int8Vectors",
    "LocalEngine",
    "ModelUnavailable",
    "VectorIndex",
    "bundled_model_path",
    "make_encoder",
]
