"""Real parts: the bundled model (loaded once per session) and real FAISS libraries."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

from bot import PaperBot
from bot.paperbot import SEED_DIR
from embeddings import Encoder, EncoderSpec, make_encoder
from embeddings.model_files import default_cache_dir
from tests.helpers.browser import chromium
from tests.helpers.llm_stub import Stub

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


@contextlib.contextmanager
def serving():
    """`start(bot, **launch_kwargs) -> url` serves a bot's web app on a free loopback port;
    every app started is closed on the way out."""
    from bot.surfaces.web import launch  # gradio loads only for the tests that serve

    apps = []

    def start(bot: PaperBot, **launch_kwargs) -> str:
        app, url = launch(bot, **{"port": 0, "block": False, **launch_kwargs})
        apps.append(app)
        return url

    try:
        yield start
    finally:
        for app in apps:
            app.close()


@pytest.fixture
def serve():
    """`serve(bot, **launch_kwargs) -> url`, for the test's own apps."""
    with serving() as start:
        yield start


@pytest.fixture(scope="module")
def serve_for_module():
    """`serve(bot, **launch_kwargs) -> url`, for apps a module's tests share."""
    with serving() as start:
        yield start


@pytest.fixture(scope="session")
def server(seed_bot):
    """The web app on a free loopback port, shared by the API and browser tests."""
    with serving() as start:
        yield start(seed_bot)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, shared by a module's tests (skipped without it, see
    tests/helpers/browser.py)."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def stub():
    """A stub language-model server (tests/helpers/llm_stub.py), shut at the test's end."""
    stub = Stub()
    yield stub
    stub.close()
