"""The Add papers tab: files uploaded, read into the library, and what became of each; and
the one rendering of the library into every component that shows it (`AddTab.library_shown`),
which an upload and every page load both use, so that no page shows an older library."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from bot.answer.templates import escape_markdown
from bot.ingest import readers
from bot.reporting import Reporter
from bot.surfaces.uploads import ACCEPTED, Refusal, Upload, UploadOutcome, UploadRefused
from bot.surfaces.web.chat import categories, chat_placeholder, example_samples, year_choices
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
NOTHING_ADDED = "Nothing was added: the files and why are listed under the button."
# The names the person's files had, from the page: the server's copies shorten long names
# and drop some characters. The browser holds them with the files (Gradio's FileData).
SENT_NAMES_JS = "(files, names) => [files, (files || []).map(file => file.orig_name)]"


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
            sent_names = gr.JSON(visible=False)
            add_button = gr.Button("Add to the library", variant="primary")
            added = gr.Markdown(elem_id="added-report")
        # `add` returns one value for each: the report, the library, the upload box emptied.
        self.outputs = [added, *self.library_outputs, uploads]
        add_button.click(self.add, [uploads, sent_names], self.outputs, js=SENT_NAMES_JS,
                         show_progress_on=[added], api_visibility="private")

    @property
    def library_outputs(self) -> list[gr.components.Component]:
        """Every component that shows the library, in the order `library_shown` fills them."""
        app = self.app
        chat, papers = app.chat, app.papers
        return [app.header, app.similar.paper_choice, papers.table, *papers.export_buttons,
                papers.report_summary, papers.report_text, chat.category, chat.year_from,
                chat.year_to, chat.examples, chat.chatbot, *self.paper_sets]

    @property
    def paper_sets(self) -> list[gr.components.Component]:
        """The choices of several papers (a set, the papers to rank new ones by)."""
        app = self.app
        return [app.similar.members, app.papers.set_choice, app.new.like]

    def library_shown(self) -> tuple:
        """The library as it is now (`self.app.bot`) in every one of `library_outputs`; the
        choices a person made are kept where the new choices still hold them."""
        bot = self.app.bot
        rows, *listed = self.app.papers.list("")
        years = year_choices(bot.papers)
        return (header(bot.papers), gr.Dropdown(choices=paper_choices(bot.papers)),
                rows, *listed, report_summary(bot), bot.report.render(),
                gr.Dropdown(choices=[ANY, *categories(bot.papers)]),
                gr.Dropdown(choices=years), gr.Dropdown(choices=years),
                gr.Dataset(samples=example_samples(bot.papers)),
                gr.Chatbot(placeholder=chat_placeholder(bot.papers)),
                *(gr.Dropdown(choices=paper_choices(bot.papers)) for _ in self.paper_sets))

    def add(self, files: list[str] | None, names: list[str | None] | None,
            progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio's idiom)
        """Keep the uploads in the library folder, rebuild the library over its corpus
        plus them (only new text is embedded), and answer from the new library. `names`:
        the names the files had on the person's computer, in their order."""
        app = self.app
        try:
            progress(0, desc="Reading the files")
            outcome = app.desk.add(app.bot, uploads_of(files, names),
                                   reporter=Reporter.terminal())
        except UploadRefused as exc:
            gr.Warning(NOTHING_ADDED)  # the files and reasons stay in the report area
            return (refused_markdown(exc.refusals), *(gr.skip() for _ in self.outputs[1:]))
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            message = message_of(exc)
            gr.Warning(message)  # and in the report area, where it stays
            return (escape_markdown(message), *(gr.skip() for _ in self.outputs[1:]))
        app.bot = outcome.bot
        return added_markdown(outcome), *self.library_shown(), None


def uploads_of(files: list[str] | None, names: list[str | None] | None) -> list[Upload]:
    """The uploaded files, each with the name it was sent under where the page gave one."""
    paths = [Path(file) for file in files or []]
    sent = names if isinstance(names, list) and len(names) == len(paths) else []
    return [Upload(path, name if isinstance(name, str) and name else path.name)
            for path, name in zip(paths, sent or [None] * len(paths), strict=True)]


def header(papers) -> str:
    return (f"# paperchat\nAsk the library of **{len(papers)} papers** a question; "
            "every answer cites the papers it comes from.")


def added_markdown(outcome: UploadOutcome) -> str:
    """What an upload did: per file, records read, merged and rejected, and each rejected
    chunk with its line and reason; then the files refused, by their own names."""
    bot = outcome.bot
    shown = {str(kept): outcome.names.get(kept, kept.name) for kept in outcome.kept}
    files = [f for f in bot.report.files if f.file in shown]
    lines = [f"**{len(bot.papers) - outcome.papers_before} new papers** "
             f"({outcome.papers_before} → {len(bot.papers)}); "
             f"{bot.last_embedded} texts embedded.", "",
             "| file | layout | records | merged | rejected |", "|---|---|---:|---:|---:|"]
    for f in files:
        lines.append(f"| {escape_markdown(shown[f.file])} | {f.layout.value} | {f.records} "
                     f"| {f.merged} | {f.rejected_count} |")
    rejected = [(f, r) for f in files for r in f.rejected]
    if rejected:
        lines += ["", "**Rejected** (not added):", ""]
        lines += [f"- {escape_markdown(shown[f.file])}, line {r.line}: "
                  f"{escape_markdown(r.reason)} — “{escape_markdown(r.text)}”"
                  + (f" (and {r.count - 1:,} more like it)" if r.count > 1 else "")
                  for f, r in rejected]
    if outcome.refused:
        lines += ["", "**Files not added:**", "", *refusal_lines(outcome.refused)]
    return "\n".join(lines)


def refused_markdown(refusals: list[Refusal]) -> str:
    """An upload none of whose files joined the library: each file and why."""
    return "\n".join(["**Nothing was added.**", "", *refusal_lines(refusals)])


def refusal_lines(refusals: list[Refusal]) -> list[str]:
    """The refused files as a list, each by its own name with what it looked like and why;
    then what would have been read."""
    items = []
    for refusal in refusals:
        said = "; ".join(escape_markdown(part) for part in (refusal.looks, refusal.reason)
                         if part)
        items.append(f"- **{escape_markdown(refusal.name)}**: {said}" if refusal.name
                     else f"- {said}")
    return [*items, "", f"paperchat reads {escape_markdown(ACCEPTED)}."]
