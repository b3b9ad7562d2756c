"""Real parts: the bundled model (loaded once per session) and real FAISS libraries."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot import PaperBot
from bot.paperbot import SEED_DIR
from embeddings import Encoder, EncoderSpec, make_encoder
from embeddings.model_files import default_cache_dir

REPO = Path(__file__).resolve().parent.parent
# The test session is a process entry point, as the CLI is: nothing in it fetches a model.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


# The model's derived files (the weights' digest, the exported int8 model) are kept for
# every test, and between runs, in the user cache: exporting the model is slow, and the
# files depend on the weights alone, never on a library.
MODEL_CACHE = default_cache_dir()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Each test gets its own data folder: nothing reads or writes the user's libraries.
    The model's cache is shared (MODEL_CACHE), also with the commands tests run."""
    home = tmp_path / "paperchat-home"
    monkeypatch.setenv("PAPERCHAT_HOME", str(home))
    monkeypatch.setenv("PAPERCHAT_EMBEDDING__CACHE_DIR", str(MODEL_CACHE))
    monkeypatch.delenv("PAPERCHAT_INDEX_DIR", raising=False)
    return home


@pytest.fixture(scope="session")
def embedder() -> Encoder:
    return make_encoder(EncoderSpec(cache_dir=MODEL_CACHE))


@pytest.fixture(autouse=True)
def shared_embedder(embedder, monkeypatch):
    """PaperBot's default encoder is the session's model, so no test loads it twice."""
    monkeypatch.setattr("bot.paperbot.encoder_for", lambda *_: embedder)


@pytest.fixture(scope="session")
def seed_library_dir(tmp_path_factory, embedder) -> Path:
    """The bundled corpus, built once for the whole session."""
    index_dir = tmp_path_factory.mktemp("seed-library")
    PaperBot.from_corpus(None, index_dir, embedder=embedder)
    return index_dir


@pytest.fixture(scope="session")
def seed_bot(seed_library_dir, embedder) -> PaperBot:
    return PaperBot.open(seed_library_dir, embedder=embedder)


@pytest.fixture
def library_copy(seed_library_dir, tmp_path) -> Path:
    """A private copy of the seed library, for tests that change or damage it."""
    target = tmp_path / "library"
    shutil.copytree(seed_library_dir, target)
    return target


@pytest.fixture
def seed_files() -> list[Path]:
    return sorted(SEED_DIR.glob("*.txt"))


@pytest.fixture(scope="session")
def server(seed_bot):
    """The web app on a free loopback port, shared by the API and browser tests."""
    from bot.surfaces.web import launch

    app, url = launch(seed_bot, port=0, block=False)
    yield url
    app.close()
