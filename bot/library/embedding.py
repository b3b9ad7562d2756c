"""The encoder and the embedding engine that the settings name: the one place the bot
turns `Settings.embedding` into the parts of `embeddings/`."""

from __future__ import annotations

from bot.errors import LibraryError
from bot.settings import EmbeddingSettings, Engine, Settings
from embeddings import EmbeddingEngine, Encoder, EncoderSpec, EngineError, make_encoder


def encoder_for(settings: Settings) -> Encoder:
    """The encoder the settings name, its derived files kept under the settings' home."""
    embedding = settings.embedding
    return make_encoder(EncoderSpec(model=embedding.model, kind=embedding.encoder,
                                    cache_dir=settings.cache_dir))


def engine_for(embedding: EmbeddingSettings, embedder: Encoder, *, engine: Engine | None,
            ray_address: str | None) -> EmbeddingEngine | None:
    """None for this process; a Ray engine (Ray imported only now) for "ray". `engine` and
    `ray_address`, when given, override the settings'."""
    engine = engine or embedding.engine
    ray_address = ray_address or embedding.ray_address
    if engine == "local":
        if ray_address:
            raise LibraryError("a Ray address needs the Ray engine (engine='ray', --engine ray)")
        return None
    if engine != "ray":
        raise LibraryError(f"no embedding engine {engine!r}: choose 'local' or 'ray'")
    from embeddings.ray_engine import RayEngine  # Ray itself is imported by the engine

    try:
        return RayEngine(embedder, address=ray_address)
    except EngineError as exc:
        raise LibraryError(str(exc)) from None
