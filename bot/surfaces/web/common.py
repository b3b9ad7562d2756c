"""What the web app's tabs share: how a failure becomes a message and files to download (what
every surface does with its inputs is bot.surfaces.inputs)."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path

import gradio as gr

from bot.errors import PaperchatError
from bot.records import Paper
from bot.surfaces.export import EXPORTS
from bot.surfaces.inputs import turns_of as turns_from

ANY = "Any"  # a dropdown's choice that filters nothing
STAR, STARRED = "☆ Star", "★ Starred"  # a star toggle, off and on
UNEXPECTED = ("Something went wrong on the server ({kind}); nothing was changed. The "
              "server's log has the details.")
log = logging.getLogger("bot.surfaces.web")


def tell(exc: Exception, *, outputs: int):
    """A mistake in the input, in the UI: a message, and every output left as it was (an
    error state would blank the chat)."""
    gr.Warning(message_of(exc))
    skipped = tuple(gr.skip() for _ in range(outputs))
    return skipped if outputs > 1 else skipped[0]


def message_of(exc: Exception) -> str:
    """What the page says of a failure: a domain error's own message; for anything else
    one line naming its kind, the traceback kept for the server's log."""
    if isinstance(exc, PaperchatError):
        return str(exc)
    log.error("unexpected failure in a request", exc_info=exc)
    return UNEXPECTED.format(kind=type(exc).__name__)


def user_error(message: str) -> gr.Error:
    """A message for the user; a mistake in the input, so no traceback in the server log."""
    return gr.Error(message, print_exception=False)


@contextlib.contextmanager
def user_errors():
    """A domain error in an API call reaches the caller as its message."""
    try:
        yield
    except PaperchatError as exc:
        raise user_error(str(exc)) from None


def export_files(papers: list[Paper], stem: str) -> list[str]:
    """A file of these papers in each export format, in `EXPORTS`' order."""
    return [_export_file(export.write(papers), stem + export.suffix)
            for export in EXPORTS.values()]


def _export_file(text: str, name: str) -> str:
    """A file to download, in a folder of its own so that two exports never overwrite."""
    path = Path(tempfile.mkdtemp(prefix="paperchat-export-")) / name
    path.write_text(text, encoding="utf-8")
    return str(path)


__all__ = ["ANY", "STAR", "STARRED", "export_files", "message_of", "tell", "turns_from",
           "user_error", "user_errors"]
