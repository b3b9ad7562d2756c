"""The Add papers tab: files uploaded, read into the library, and what became of each."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from bot.answer.templates import escape_markdown
from bot.ingest import readers
from bot.reporting import Reporter
from bot.surfaces.uploads import ACCEPTED, UploadOutcome
from bot.surfaces.web.chat import categories, year_choices
from bot.surfaces.web.common import ANY, message_of
from bot.surfaces.web.papers import report_summary
from bot.surfaces.web.similar import paper_choices

if TYPE_CHECKING:
    from bot.surfaces.web.app import ChatApp

UPLOAD_TYPES = readers.upload_suffixes()
ADD_HELP = ("Add your own papers: {accepted}, up to {limit:g} MB a file. They are read, "
            "merged with the papers already here (the same paper seen twice becomes one), and "
            "only new text is embedded. Input that cannot be read as a paper is listed below "
            "with its file and line.")


class AddTab:
    def __init__(self, app: ChatApp):
        self.app = app

    def build(self) -> None:
        app = self.app
        with gr.Tab("Add papers", id="add"):
            gr.Markdown(ADD_HELP.format(accepted=escape_markdown(ACCEPTED),
                                        limit=app.bot.settings.server.max_upload_mb))
            uploads = gr.File(label="Listing or JSONL files", file_count="multiple",
                              file_types=UPLOAD_TYPES, type="filepath")
            add_button = gr.Button("Add to the library", variant="primary")
            added = gr.Markdown(elem_id="added-report")
        chat, papers = app.chat, app.papers
        # Everything that shows the library: `add` returns one value for each.
        self.outputs = [added, app.header, app.similar.paper_choice, papers.table,
                        *papers.export_buttons, papers.report_summary, papers.report_text,
                        chat.category, chat.year_from, chat.year_to, uploads]
        add_button.click(self.add, uploads, self.outputs, api_visibility="private")

    def add(self, files, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's idiom)
        """Keep the uploads in the library folder, rebuild the library over its corpus
        plus them (only new text is embedded), and answer from the new library."""
        app = self.app
        try:
            progress(0, desc="Reading the files")
            outcome = app.desk.add(app.bot, files or [], reporter=Reporter.terminal())
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            message = message_of(exc)
            gr.Warning(message)  # and in the report area, where it stays
            return (escape_markdown(message), *(gr.skip() for _ in self.outputs[1:]))
        app.bot = outcome.bot
        return self._library_shown(outcome)

    def _library_shown(self, outcome: UploadOutcome) -> tuple:
        """The new library in every output of `outputs`, the upload box emptied."""
        bot = outcome.bot
        rows, *listed = self.app.papers.list("")
        years = year_choices(bot.papers)
        return (added_markdown(outcome), header(bot.papers),
                gr.Dropdown(choices=paper_choices(bot.papers)),
                rows, *listed, report_summary(bot), bot.report.render(),
                gr.Dropdown(choices=[ANY, *categories(bot.papers)]),
                gr.Dropdown(choices=years), gr.Dropdown(choices=years), None)


def header(papers) -> str:
    return (f"# paperchat\nAsk the library of **{len(papers)} papers** a question; "
            "every answer cites the papers it comes from.")


def added_markdown(outcome: UploadOutcome) -> str:
    """What an upload did: per file, records read, merged and rejected, and each rejected
    chunk with its line and reason; then the files refused, by their own names."""
    bot = outcome.bot
    names = {str(k) for k in outcome.kept}
    files = [f for f in bot.report.files if f.file in names]
    lines = [f"**{len(bot.papers) - outcome.papers_before} new papers** "
             f"({outcome.papers_before} → {len(bot.papers)}); "
             f"{bot.last_embedded} texts embedded.", "",
             "| file | layout | records | merged | rejected |", "|---|---|---:|---:|---:|"]
    for f in files:
        lines.append(f"| {escape_markdown(Path(f.file).name)} | {f.layout.value} | {f.records} "
                     f"| {f.merged} | {f.rejected_count} |")
    rejected = [(f, r) for f in files for r in f.rejected]
    if rejected:
        lines += ["", "**Rejected** (not added):", ""]
        lines += [f"- {escape_markdown(Path(f.file).name)}, line {r.line}: "
                  f"{escape_markdown(r.reason)} — “{escape_markdown(r.text)}”"
                  + (f" (and {r.count - 1:,} more like it)" if r.count > 1 else "")
                  for f, r in rejected]
    if outcome.refused:
        lines += ["", "**Files not added:**", ""]
        lines += [f"- {escape_markdown(name or 'the library')}: {escape_markdown(reason)}"
                  for name, reason in outcome.refused]
    return "\n".join(lines)
