"""Typed settings. Environment overrides: PAPERCHAT_<FIELD> and PAPERCHAT_<SECTION>__<FIELD>."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SettingsError
from embeddings import EncoderKind

Engine = Literal["local", "ray"]  # where texts are embedded: this process, or Ray workers


class RetrievalSettings(BaseModel):
    # inf and nan are refused: a weight of inf made every score nan, a threshold of nan
    # made every answer abstain.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # How strongly a paper answers a question, its "evidence": its relevance plus
    # coverage_weight times the share of the question's terms its text holds
    # (bot/answer/evidence.py). Chosen on SciFact train and the hand-labelled seed questions:
    # see README, "How many papers an answer cites".
    evidence_threshold: float = Field(
        0.75, description="Least evidence for a paper to answer a question directly. A "
                          "question that is not a \"which papers …\" one cites the papers that "
                          "reach it; when none does, the answer abstains.")
    list_evidence_threshold: float = Field(
        0.5, description="Least evidence for a paper to be cited in answer to a \"which "
                         "papers …\" question (below evidence_threshold: shown as related).")
    evidence_margin: float = Field(
        0.05, ge=0, description="A question that is not a \"which papers …\" one cites only the "
                                "papers this close to the best evidence: one, unless others are "
                                "as strong.")
    coverage_weight: float = Field(
        0.75, ge=0, description="Weight of a paper's coverage of the question's terms in its "
                                "evidence.")
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
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    host: str = Field("127.0.0.1", description="Interface to bind; loopback unless exposed.")
    port: int = Field(7860, ge=0, le=65535, description="0 picks a free port.")
    auth: SecretStr | None = Field(
        None, description="Require a login: 'user:password', several separated by commas. "
                          "`paperchat serve --auth-file` reads them from a file instead.")
    max_upload_mb: float = Field(
        50, gt=0, le=10_000,
        description="Largest file the web app's upload tab takes, in megabytes (10^6 bytes).")


class LLMSettings(BaseModel):
    """An OpenAI-compatible chat server (Ollama, llama.cpp, vLLM, LM Studio…) that writes the
    answer from the retrieved papers. Off unless `url` is set."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    url: str | None = Field(
        None, description="Base URL of the API, up to and including /v1, e.g. "
                          "http://127.0.0.1:11434/v1 for Ollama. None: extractive answers only.")
    model: str = Field("default", min_length=1,
                       description="Model name as the server knows it (llama.cpp's server "
                                   "takes any name for the model it serves).")
    api_key: SecretStr | None = Field(None, description="Sent as a bearer token when set.")
    timeout: float = Field(
        60.0, gt=0, le=3600, description="Seconds the whole call may take: connecting, and "
                                         "the answer streaming in to its end.")
    temperature: float = Field(0.0, ge=0, le=2, description="0 gives the most literal answers.")
    max_tokens: int = Field(400, ge=16, description="Longest answer the server may write.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        _ = parts.port  # a ValueError for a port out of range
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"the LLM URL must start with http:// or https://, not {value!r}")
        return value


class EmbeddingSettings(BaseModel):
    """Which model embeds papers and questions, what runs it, and where."""

    model_config = ConfigDict(extra="forbid")

    model: Path | None = Field(
        None, description="A sentence-transformers model folder; None: the bundled "
                          "all-MiniLM-L6-v2. A library is searched with the model it was "
                          "built with.")
    encoder: EncoderKind = Field(
        "onnx-int8", description="What runs the model: ONNX Runtime with int8 weights (the "
        "faster on a CPU; see README, 'How it works') or sentence-transformers (torch, full "
        "precision, a GPU if asked for).")
    engine: Engine = Field(
        "local", description="Where `ingest` embeds texts: this process, or Ray workers.")
    ray_address: str | None = Field(
        None, description="The Ray cluster for the Ray engine, e.g. ray://head:10001; "
                          "None: $RAY_ADDRESS, else a local Ray.")
    cache_dir: Path | None = Field(
        None, description="Files derived from the model (its weights' digest, the exported "
                          "int8 model); defaults to <home>/cache.")


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
    encoder: EncoderKind | None = Field(
        None, description="Shorthand for embedding.encoder ($PAPERCHAT_ENCODER); it wins "
                          "when set.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @model_validator(mode="after")
    def _encoder_shorthand(self) -> Settings:
        if self.encoder is not None:
            self.embedding = self.embedding.model_copy(update={"encoder": self.encoder})
        return self

    @property
    def library_dir(self) -> Path:
        return (self.index_dir or self.home / "library").expanduser()

    @property
    def cache_dir(self) -> Path:
        return (self.embedding.cache_dir or self.home / "cache").expanduser()


def parse_credentials(text: str, source: str, *, separator: str = ",") -> list[tuple[str, str]]:
    """'user:password' pairs (split at the first colon) from a setting or a file; blank
    entries and '#' comments skipped. Errors name the entry by position, never its text."""
    pairs = []
    for number, entry in enumerate(text.split(separator), start=1):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        user, colon, password = entry.partition(":")
        if not colon or not user.strip() or not password:
            what = "line" if separator == "\n" else "entry"
            raise SettingsError(f"{source}: {what} {number} is not 'user:password'")
        pairs.append((user.strip(), password))
    if not pairs:
        raise SettingsError(f"{source}: no 'user:password' login in it")
    return pairs


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit values (flags, arguments) on top.
    A section given as a dict is merged field by field into the environment's."""
    settings = Settings(**{k: v for k, v in overrides.items()
                           if v is not None and not isinstance(v, dict)})
    for section, fields in overrides.items():
        if isinstance(fields, dict):
            current = getattr(settings, section)
            given = {k: v for k, v in fields.items() if v is not None}
            merged = type(current).model_validate({**current.model_dump(), **given})
            settings = settings.model_copy(update={section: merged})
    return settings
