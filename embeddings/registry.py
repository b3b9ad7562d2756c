"""Which encoders there are, and building one from its spec.

Adding an encoder is a module with an `Encoder` subclass, its kind added to
`embeddings.encoder.EncoderKind` (which settings offer), and one line here.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from embeddings.encoder import Encoder, EncoderSpec
from embeddings.onnx_int8 import OnnxInt8Encoder
from embeddings.sentence_transformer import SentenceTransformerEncoder

# By kind (each class's `kind`, one of EncoderKind): one line an encoder.
ENCODERS: dict[str, type[Encoder]] = {encoder.kind: encoder for encoder in (
    OnnxInt8Encoder,
    SentenceTransformerEncoder,
)}
log = logging.getLogger(__name__)


def make_encoder(spec: EncoderSpec) -> Encoder:
    """The encoder the spec asks for; torch's if ONNX Runtime cannot run here."""
    if spec.kind == "onnx-int8" and not _onnxruntime_installed():
        log.warning("onnxruntime is not installed: using the slower torch encoder")
        spec = replace(spec, kind="torch")
    return ENCODERS[spec.kind](spec)


def _onnxruntime_installed() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
