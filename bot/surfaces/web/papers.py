"""The Papers tab: the library listed, filtered, downloaded; and how its corpus was read."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import gradio as gr

from bot.paperbot import PaperBot
from bot.records import Paper
from bot.surfaces.export import EXPORTS
from bot.surfaces.web.common import export_files

if TYPE_CHECKING:
    from bot.surfaces.web.app import ChatApp

# The table: each column's header, width and how a paper fills it.
PAPER_COLUMNS: list[tuple[str, str, Callable[[Paper], object]]] = [
    ("title", "38%", lambda p: p.display_title),
    ("authors", "28%", lambda p: p.author_line),
    ("year", "7%", lambda p: p.year or ""),
    ("category", "9%", lambda p: p.category or ""),
    ("code", "6%", lambda p: "yes" if p.has_code else ""),
    ("id", "12%", lambda p: p.id),
]


class PapersTab:
    def __init__(self, app: ChatApp):
        self.app = app

    def build(self) -> None:
        with gr.Tab("Papers"):
            paper_filter = gr.Textbox(label="Filter by title or author")
            rows, *listed = self.list("")
            with gr.Row():
                self.export_buttons = [
                    gr.DownloadButton(f"Listed papers as {export.name}", size="sm", value=file)
                    for export, file in zip(EXPORTS.values(), listed, strict=True)]
            self.table = gr.Dataframe(
                value=rows, headers=[name for name, _, _ in PAPER_COLUMNS],
                interactive=False, wrap=True,
                column_widths=[width for _, width, _ in PAPER_COLUMNS])
            paper_filter.change(self.list, paper_filter,
                                [self.table, *self.export_buttons], api_visibility="private")
            self.report_summary = gr.Markdown(report_summary(self.app.bot))
            with gr.Accordion("Ingest report", open=False):
                self.report_text = gr.Code(self.app.bot.report.render(), language=None,
                                           label="How the corpus was read")

    def list(self, query):
        """The table's rows and the listed papers' downloads, for a filter text."""
        wanted = (query or "").strip().lower()
        shown = [p for p in self.app.bot.papers
                 if not wanted or wanted in f"{p.display_title} {' '.join(p.authors)}".lower()]
        return [paper_row(p) for p in shown], *export_files(shown, "papers")


def paper_row(paper: Paper) -> list:
    return [cell(paper) for _, _, cell in PAPER_COLUMNS]


def report_summary(bot: PaperBot) -> str:
    report = bot.report
    return (f"Read **{report.records}** records from **{len(report.files)}** files: "
            f"**{report.merged}** merged into papers seen elsewhere, "
            f"**{report.rejected_count}** rejected, **{report.papers}** distinct papers"
            + (f" ({report.title_only} without an abstract: found by title, never cited)."
               if report.title_only else "."))
