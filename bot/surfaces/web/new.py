"""The What's new tab: the papers added to the library (or dated) since a day, ranked by
closeness to papers the person names, else to the papers they starred, else newest first
(`PaperBot.new`); each as a Similar-tab card with the day it was added and its date. Above
them, the starred papers, listed and downloadable in every format of `EXPORTS`.

Stars are kept in the library folder (`PaperBot.star`), so they belong to the library and
every page that serves it; a page holds the ids it shows as starred (`ChatApp.starred`),
refreshed when it loads and by each star toggle, and every card and opened paper reads them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import gradio as gr

from bot.records import Hit, Paper
from bot.surfaces.export import EXPORTS
from bot.surfaces.web.common import export_files, tell
from bot.surfaces.web.similar import (
    MAX_SET,
    Reference,
    match_badge,
    paper_choices,
    paper_sentences,
    reference_of_set,
    render_similar_card,
    shared_evidence,
    shown,
)

if TYPE_CHECKING:
    from bot.surfaces.web.app import ChatApp

DEFAULT_DAYS = 30  # the day the tab starts from: this many days ago
NEW_K = 20
SINCE_LABEL = "Added or dated since (YYYY-MM-DD)"
LIKE_LABEL = "Closest first to these papers (none chosen: your starred papers)"
NEWEST_FIRST = "*Newest first; star papers to rank by your interests.*"
NOTHING_NEW = "*Nothing was added or dated since {since}.*"
NO_STARS = ("*No starred papers yet: star a paper with ☆ on its card, or on the Papers tab "
            "when it is opened.*")
SUMMARY_ID = "new-summary"
STARS_SHOWN = 12  # titles in the starred list; the downloads have them all


def default_since(today: dt.date | None = None) -> str:
    """DEFAULT_DAYS before today, as the date box holds it."""
    return ((today or dt.date.today()) - dt.timedelta(days=DEFAULT_DAYS)).isoformat()


class NewTab:
    def __init__(self, app: ChatApp):
        self.app = app

    def build(self, papers: list[Paper]) -> None:
        with gr.Tab("What's new", id="new"):
            with gr.Row():
                # A function: the default follows the day each page is loaded on.
                self.since = gr.Textbox(default_since, label=SINCE_LABEL, max_lines=1,
                                        elem_id="new-since")
                self.k = gr.Slider(1, 50, value=NEW_K, step=1, label="How many")
            self.like = gr.Dropdown(paper_choices(papers), value=[], label=LIKE_LABEL,
                                    multiselect=True, filterable=True, max_choices=MAX_SET,
                                    elem_id="new-like")
            # The stars, above the results: on a phone, twenty cards are a long way down.
            gr.render(inputs=self.app.starred)(self.stars_area)
            button = gr.Button("Show what's new", variant="primary")
            self.summary = gr.Markdown(elem_id=SUMMARY_ID)
            self.cards = gr.State([])  # [paper id, card Markdown] pairs
            for trigger in (button.click, self.since.submit):
                trigger(self.find, [self.since, self.k, self.like], [self.summary, self.cards],
                        api_visibility="private")
            gr.render(inputs=[self.cards, self.app.starred])(self.card_list)

    def find(self, since, k, like):
        """The summary above the cards, and the cards: [paper id, Markdown] pairs."""
        bot = self.app.bot
        like = list(like or [])
        try:
            hits = bot.new((since or "").strip(), k=int(k), like=like or None)
            starred = [] if like else [p.id for p in bot.starred]
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            return tell(exc, outputs=2)
        basis = like or starred
        reference = reference_of_set(bot, basis) if basis else None
        cards = [[hit.paper.id, new_card(self.app, hit, reference)] for hit in hits]
        return new_summary(str(since).strip(), hits, len(like), len(starred)), cards

    def card_list(self, cards, starred):
        similar = self.app.similar
        for paper_id, card in cards:
            with gr.Group(key=f"new-{paper_id}", elem_classes=["similar-card", "new-card"]):
                gr.Markdown(card, padding=True, key=f"new-text-{paper_id}",
                            preserved_by_key=None)
                with gr.Row(key=f"new-actions-{paper_id}", elem_classes=["similar-actions"]):
                    more = gr.Button("Papers like this", size="sm", key=f"new-more-{paper_id}",
                                     preserved_by_key=None)
                    self.app.star_button(paper_id, paper_id in starred,
                                         key=f"new-star-{paper_id}")
            more.click(lambda paper_id=paper_id: similar.show(paper_id), None,
                       [self.app.tabs, *similar.shown_outputs], api_visibility="private")

    def stars_area(self, starred):
        """The starred papers, named, and downloadable in each format."""
        bot = self.app.bot
        papers = [p for p in (bot.get(paper_id) for paper_id in starred) if p is not None]
        # Always the same components, shown or hidden (as the Similar tab's export).
        files = export_files(papers, "starred") if papers else [None] * len(EXPORTS)
        gr.Markdown(stars_list(papers) if papers else NO_STARS, elem_id="starred-list",
                    key="starred-list", preserved_by_key=None)
        with gr.Row(key="starred-downloads", visible=bool(papers)):
            for export, file in zip(EXPORTS.values(), files, strict=True):
                gr.DownloadButton(f"Starred papers as {export.name}", value=file, size="sm",
                                  key=f"starred-{export.suffix}", preserved_by_key=None)


def new_card(app: ChatApp, hit: Hit, reference: Reference | None) -> str:
    """A new paper's card: when it was added and its date; how close, and why, when ranked
    by papers (`reference`); else neither."""
    bot = app.bot
    evidence = None
    if reference is not None:
        evidence = shared_evidence(reference, *paper_sentences(bot.library, hit.paper.id))
    card = render_similar_card(hit, evidence, reference.named if reference else "",
                               bot.templates)
    when = when_line(hit.paper, hit.added)
    badge = match_badge(hit.relevance)
    # The card's match line says when, then how close (when the order is by closeness).
    return card.replace(badge, f"{when} · {badge}" if reference is not None else when, 1)


def when_line(paper: Paper, added: dt.date | None) -> str:
    """"added 2025-06-01 · dated 2024-03-08" (each as far as it is known)."""
    parts = [f"added {added.isoformat()}" if added else "",
             f"dated {paper.date.isoformat()}" if paper.date else ""]
    return '<span class="new-when">' + " · ".join(p for p in parts if p) + "</span>"


def new_summary(since: str, hits: list[Hit], liked: int, starred: int) -> str:
    """How many, since when, in what order."""
    day = shown(since)
    if not hits:
        return NOTHING_NEW.format(since=day)
    head = f"**{len(hits)} paper{'' if len(hits) == 1 else 's'}** added or dated since {day}"
    if liked:
        return f"{head}, closest first to the {_count(liked, 'chosen paper')}."
    if starred:
        return f"{head}, closest first to your {_count(starred, 'starred paper')}."
    return f"{head}.\n\n{NEWEST_FIRST}"


def stars_list(papers: list[Paper]) -> str:
    titles = "; ".join(shown(p.display_title) for p in papers[:STARS_SHOWN])
    more = len(papers) - STARS_SHOWN
    return (f"**Starred: {_count(len(papers), 'paper')}** — {titles}"
            + (f" and {more} more" if more > 0 else ""))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")

