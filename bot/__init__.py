"""paperchat: ask a corpus of research papers a question, get an answer that cites them.

    from bot import PaperBot
    bot = PaperBot.from_corpus()          # the bundled seed corpus
    answer = bot.ask("Which papers study credit assignment over long delays?")
"""

from bot.errors import IngestError, LibraryError, PaperchatError, QueryError, SettingsError
from bot.ingest import Corpus, ingest
from bot.paperbot import PaperBot
from bot.records import (
    Answer,
    Citation,
    FileReport,
    Filters,
    Hit,
    IngestReport,
    Layout,
    Paper,
    References,
    RejectedChunk,
    Source,
    Turn,
)
from bot.reporting import Reporter
from bot.settings import EmbeddingSettings, LLMSettings, Settings, get_settings

__all__ = [
    "Answer",
    "Citation",
    "Corpus",
    "EmbeddingSettings",
    "FileReport",
    "Filters",
    "Hit",
    "IngestError",
    "IngestReport",
    "Layout",
    "LLMSettings",
    "LibraryError",
    "Paper",
    "PaperBot",
    "PaperchatError",
    "QueryError",
    "References",
    "RejectedChunk",
    "Reporter",
    "Settings",
    "SettingsError",
    "Source",
    "Turn",
    "get_settings",
    "ingest",
]
