"""Typed settings. Environment overrides: PAPERCHAT_<FIELD> and PAPERCHAT_<SECTION>__<FIELD>."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetrievalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_threshold: float = Field(
        0.30,
        description="Least relevance for a paper to count as answering a question. Below it "
        "for every paper, the answer abstains. Chosen on SciFact: see README, 'Abstention'.",
    )
    candidates: int = Field(
        100, ge=1, description="Papers taken from the index before sentence-level re-scoring."
    )
    dense_weight: float = Field(
        0.4, ge=0, description="Weight of the cosine to a paper's whole text in its relevance."
    )
    sentence_weight: float = Field(
        0.6, ge=0, description="Weight of the cosine to its best abstract sentence."
    )
    lexical_weight: float = Field(
        0.3, ge=0, description="Weight of BM25 (scaled to the query's best) added for ranking."
    )
    similar_lexical_weight: float = Field(
        0.4, ge=0, description="Weight of BM25 in paper-to-paper similarity (the reference "
                               "paper's text as the query, scaled to its best match)."
    )
    similar_term_weight: float = Field(
        0.8, ge=0, description="Weight of the cosine of BM25 term-weight vectors in "
                               "paper-to-paper similarity."
    )
    hubness_weight: float = Field(
        0.5, ge=0, description="Share of a paper's hubness (mean cosine to its nearest papers) "
                               "taken off its similarity: keeps broad papers from crowding lists."
    )
    max_query_chars: int = Field(
        2000, ge=1, description="Longer questions are refused with a message."
    )
    max_reference_chars: int = Field(
        20000, ge=1, description="Longest pasted text accepted by the similar-paper lookup."
    )


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="Interface to bind; loopback unless exposed.")
    port: int = Field(7860, ge=0, le=65535, description="0 picks a free port.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PAPERCHAT_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("paperchat")),
        description="Where libraries are kept unless --index says otherwise.",
    )
    index_dir: Path | None = Field(
        None, description="The library folder; defaults to <home>/library."
    )
    encoder: Literal["onnx-int8", "torch"] = Field(
        "onnx-int8", description="What runs the embedding model: ONNX Runtime with int8 "
        "weights (about 2.5x faster, mean cosine 0.995 to torch) or sentence-transformers.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @property
    def library_dir(self) -> Path:
        return (self.index_dir or self.home / "library").expanduser()


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit values (flags, arguments) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
