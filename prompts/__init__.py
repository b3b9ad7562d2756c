"""Answer and citation templates, shipped as package data. Loaded and checked by
bot.answer.templates."""

from pathlib import Path

PROMPTS_DIR = Path(__file__).parent
