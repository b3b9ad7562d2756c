"""The Papers tab: the library searched (bot/surfaces/browse.py), sorted by a click on a
column's header, downloaded; a paper opened from its row (starred there, or put in a set);
papers like a set chosen here; and how the corpus was read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr

from bot.paperbot import PaperBot
from bot.records import Paper
from bot.surfaces.browse import PaperSearch
from bot.surfaces.export import EXPORTS, to_bibtex
from bot.surfaces.text import as_written
from bot.surfaces.web.common import STAR, STARRED, export_files
from bot.surfaces.web.paper_view import paper_markdown
from bot.surfaces.web.similar import MAX_SET, paper_choices

if TYPE_CHECKING:
    from bot.surfaces.web.app import ChatApp


@dataclass(frozen=True)
class Column:
    """One column of the table: its header, its width on a wide screen and on a phone (None:
    hidden there, rather than squeezed to a letter a line), how a paper fills it, and how it
    sorts (None: the paper has no value there, and sorts last either way)."""

    name: str
    width: str
    phone_width: str | None
    cell: Callable[[Paper], object]
    sort_key: Callable[[Paper], object]


PAPER_COLUMNS = [
    Column("title", "38%", "45%", lambda p: as_written(p.display_title),
           lambda p: as_written(p.display_title).casefold()),
    Column("authors", "28%", "35%", lambda p: p.author_line,
           lambda p: p.author_line.casefold() if p.authors else None),
    Column("year", "7%", "20%", lambda p: p.year or "", lambda p: p.date),
    Column("category", "9%", None, lambda p: p.category or "", lambda p: p.category),
    Column("code", "6%", None, lambda p: "yes" if p.has_code else "",
           lambda p: p.has_code or None),
    Column("id", "12%", None, lambda p: p.id, lambda p: p.id),
]
ID_COLUMN = [c.name for c in PAPER_COLUMNS].index("id")
SORT_MARKS = {False: " ▲", True: " ▼"}  # ascending, descending
SEARCH_LABEL = "Search by title, author, abstract or year"
HELP = ("Click a column's header to sort by it (again to reverse, a third time for the "
        "search's order); click a row to open its paper.")
SET_LABEL = "Papers for a set (choose here, or open a paper and add it)"
PHONE = "(max-width: 640px)"


def _column_css(index: int, rule: str, *, within: str = "") -> str:
    """A rule for a column's header and cells (Gradio's table marks them with its index)."""
    return (f'#papers-table th[data-heading="{index}"]{within}, '
            f'#papers-table [role=gridcell][data-col="{index}"]{within} {{ {rule} }}')


def _phone_css() -> str:
    """On a phone, the columns that fit, at widths of their own (Gradio sets each cell's
    width in pixels from `width`, hence !important), the header's table laid out by them."""
    return "\n".join([
        "#papers-table table { table-layout: fixed; width: 100% !important; }",
        "#papers-table { font-size: var(--text-sm); }", *(
        _column_css(i, "display: none !important;") if c.phone_width is None else
        _column_css(i, f"width: {c.phone_width} !important; min-width: 0 !important; "
                       f"max-width: none !important; flex: 0 0 {c.phone_width} !important;")
        for i, c in enumerate(PAPER_COLUMNS))])


# Gradio's table sorts in a menu of its own, hidden here: a header's click sorts instead, on
# the server, so that the search, the downloads and the opened row all follow one order. An
# id is never broken across lines.
PAPERS_CSS = f"""
#papers-table th {{ cursor: pointer; }}
#papers-table .cell-menu-button {{ display: none; }}
{_column_css(ID_COLUMN, "word-break: keep-all; overflow-wrap: normal;", within=" *")}
@media {PHONE} {{
{_phone_css()}
}}
"""
# A click on a header of the table (not on a resize handle) tells the server its column.
SORT_ON_HEADER_CLICK = """
if (!window.papersSortBridge) {
  window.papersSortBridge = true;
  document.addEventListener("click", (event) => {
    const header = event.target.closest && event.target.closest("#papers-table th[data-heading]");
    if (!header || event.target.closest("[class*=resize]")) return;
    trigger("click", {column: Number(header.dataset.heading)});
  }, true);  // before the table's own handler, which keeps the click to itself
}
"""
# Once a paper is opened, bring it into view (it is below the table).
SHOW_OPENED = """() => { const view = document.getElementById("paper-view");
  if (view) view.scrollIntoView({behavior: "smooth", block: "start"}); }"""

Sort = tuple[str, bool] | None  # a column's name and whether descending; None: search order


class PapersTab:
    def __init__(self, app: ChatApp):
        self.app = app
        self._search: PaperSearch | None = None  # for the papers of `self._search_of`
        self._search_of: list[Paper] | None = None

    def build(self) -> None:
        similar = self.app.similar
        with gr.Tab("Papers", id="papers"):
            query = gr.Textbox(label=SEARCH_LABEL, elem_id="papers-search",
                               placeholder="e.g. mixture of depths · Santoro · 2018")
            gr.Markdown(HELP)
            with gr.Row(elem_classes=["set-row"]):
                self.set_choice = gr.Dropdown(
                    paper_choices(self.app.bot.papers), value=[], label=SET_LABEL,
                    multiselect=True, filterable=True, max_choices=MAX_SET, scale=4,
                    elem_id="papers-set")
                like_these = gr.Button("Papers like these", variant="primary", scale=1,
                                       min_width=120)
            like_these.click(similar.show_set, self.set_choice,
                             [self.app.tabs, *similar.shown_outputs], api_visibility="private")
            shown, count = self._listed("", None)
            listed = export_files(shown, "papers")
            with gr.Row():
                self.export_buttons = [
                    gr.DownloadButton(f"Listed papers as {export.name}", size="sm", value=file)
                    for export, file in zip(EXPORTS.values(), listed, strict=True)]
            self.table = gr.Dataframe(
                value=[paper_row(p) for p in shown], headers=headers(None), label=count,
                show_label=True, interactive=False, wrap=True,
                column_widths=[c.width for c in PAPER_COLUMNS], elem_id="papers-table")
            sort = gr.State(None)
            header_clicks = gr.HTML("", js_on_load=SORT_ON_HEADER_CLICK, elem_id="papers-sort")
            self._opened_view()
            self.report_summary = gr.Markdown(report_summary(self.app.bot))
            with gr.Accordion("Ingest report", open=False):
                self.report_text = gr.Code(self.app.bot.report.render(), language=None,
                                           label="How the corpus was read")
        listing = [self.table, *self.export_buttons]
        query.change(self.list, [query, sort], listing, api_visibility="private",
                     trigger_mode="always_last")
        header_clicks.click(self.sort_by_header, [query, sort], [*listing, sort],
                            api_visibility="private")
        self.table.select(self.open, self.app.starred,
                          [self.view, self.view_text, self.view_bibtex, self.opened,
                           self.star], api_visibility="private"
                          ).then(None, js=SHOW_OPENED)

    def _opened_view(self) -> None:
        """The panel a row opens: the paper, papers like it, its BibTeX."""
        similar = self.app.similar
        self.opened = gr.State(None)  # the opened paper's id
        with gr.Column(visible=False, variant="panel", elem_id="paper-view") as self.view:
            self.view_text = gr.Markdown()
            with gr.Row(elem_classes=["similar-actions"]):
                like = gr.Button("Papers like this", size="sm", variant="primary")
                self.star = gr.Button(STAR, size="sm", elem_classes=["star-toggle"],
                                      elem_id="paper-star")
                add_to_set = gr.Button("Add to the set", size="sm")
                close = gr.Button("Close", size="sm")
            # A large collaboration's entry runs to pages: it scrolls past a dozen lines.
            self.view_bibtex = gr.Code(language=None, label="BibTeX", interactive=False,
                                       wrap_lines=True, buttons=["copy"], max_lines=12)
        like.click(similar.show, self.opened, [self.app.tabs, *similar.shown_outputs],
                   api_visibility="private")
        close.click(lambda: (gr.Column(visible=False), None), None, [self.view, self.opened],
                    api_visibility="private")
        self.star.click(self.app.toggle_star, self.opened, self.app.starred,
                        api_visibility="private", show_progress="hidden")
        # A star given or taken anywhere (here, a card) shows on the opened paper.
        self.app.starred.change(lambda starred, opened: star_label(opened in starred),
                                [self.app.starred, self.opened], self.star,
                                api_visibility="private", show_progress="hidden")
        add_to_set.click(with_member, [self.set_choice, self.opened], self.set_choice,
                         api_visibility="private")

    def list(self, query, sort: Sort = None):
        """The table (its rows and count) and the listed papers' downloads, for a search
        text, in the order of the search or of `sort`."""
        shown, count = self._listed(query, sort)
        table = gr.Dataframe(value=[paper_row(p) for p in shown], headers=headers(sort),
                             label=count)
        return table, *export_files(shown, "papers")

    def _listed(self, query, sort: Sort) -> tuple[list[Paper], str]:
        """The papers a search lists, in order, and how many of the library's they are."""
        total = len(self.app.bot.papers)
        shown = sorted_papers(self._searcher().search(query or ""), sort)
        count = f"{len(shown)} of {total} papers" if (query or "").strip() else f"{total} papers"
        return shown, count

    def sort_by_header(self, query, sort: Sort, event: gr.EventData):
        """A click on a header: sort by its column, then reverse, then back to the search's
        order."""
        column = (event._data or {}).get("column")
        if not isinstance(column, int) or not 0 <= column < len(PAPER_COLUMNS):
            return (*(gr.skip() for _ in range(1 + len(EXPORTS))), sort)
        sort = next_sort(sort, PAPER_COLUMNS[column].name)
        return (*self.list(query, sort), sort)

    def open(self, starred, event: gr.SelectData):
        """The clicked row's paper in the panel below the table; `starred`, the starred
        papers' ids, for its star."""
        row = event.row_value or []
        paper = self.app.bot.get(str(row[ID_COLUMN])) if len(row) > ID_COLUMN else None
        if paper is None:
            return tuple(gr.skip() for _ in range(5))
        return (gr.Column(visible=True), paper_markdown(paper), to_bibtex([paper]), paper.id,
                star_label(paper.id in (starred or [])))

    def _searcher(self) -> PaperSearch:
        """The search over the current library's papers (rebuilt when papers are added)."""
        papers = self.app.bot.papers
        if self._search is None or self._search_of is not papers:
            self._search, self._search_of = PaperSearch(papers), papers
        return self._search


def star_label(starred: bool) -> str:
    return STARRED if starred else STAR


def with_member(members: list[str] | None, paper_id: str | None) -> list[str]:
    """The set with the opened paper in it (once)."""
    members = list(members or [])
    if paper_id is None or paper_id in members or len(members) >= MAX_SET:
        return members
    return [*members, paper_id]


def next_sort(sort: Sort, column: str) -> Sort:
    """Ascending, descending, then none: the order of a header's clicks."""
    if sort is None or sort[0] != column:
        return column, False
    return (column, True) if not sort[1] else None


def sorted_papers(papers: Sequence[Paper], sort: Sort) -> list[Paper]:
    """The papers by a column, those without a value there last; equal ones keep their order
    (the search's)."""
    if sort is None:
        return list(papers)
    name, descending = sort
    key = next(c.sort_key for c in PAPER_COLUMNS if c.name == name)
    valued = [p for p in papers if key(p) is not None]
    return (sorted(valued, key=key, reverse=descending)
            + [p for p in papers if key(p) is None])


def headers(sort: Sort) -> list[str]:
    return [c.name + (SORT_MARKS[sort[1]] if sort and sort[0] == c.name else "")
            for c in PAPER_COLUMNS]


def paper_row(paper: Paper) -> list:
    return [column.cell(paper) for column in PAPER_COLUMNS]


def report_summary(bot: PaperBot) -> str:
    report = bot.report
    return (f"Read **{report.records}** records from **{len(report.files)}** files: "
            f"**{report.merged}** merged into papers seen elsewhere, "
            f"**{report.rejected_count}** rejected, **{report.papers}** distinct papers"
            + (f" ({report.title_only} without an abstract: found by title, never cited)."
               if report.title_only else "."))
