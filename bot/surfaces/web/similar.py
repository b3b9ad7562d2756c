"""The Similar papers tab: papers like one chosen from the library, or like pasted text, each
as a card (prompts/similar_card.md) that says why it is similar, with actions.

A card shows the paper's title, authors, year, the opening of its abstract, its links, and
its match: the cosine of the two papers' embeddings (`Hit.relevance`, not the ranking score,
which has hubness subtracted and can be negative) on a scale of 0 to 100, with a title
attribute that says what it means. Why it is similar is the pair of sentences closest in
meaning between the two: the card paper's abstract sentences against the chosen paper's
(their stored vectors, `Library.sentence_vectors`) or against the pasted text's (embedded
here, at most `MAX_PASTED_SENTENCES` of them). A dozen sentences against a dozen is a small
product of stored vectors, so it costs next to nothing beside the search itself.

A card's actions: "Papers like this" runs the tab again on that paper; "Add to export" puts
it in the export the user builds (a list of paper ids in the session), downloadable in every
format of `EXPORTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

import gradio as gr
import numpy as np

from bot.answer.extractive import match_of
from bot.answer.templates import Templates, escape_markdown
from bot.errors import QueryError
from bot.library.contents import Library
from bot.library.sentences import split_sentences
from bot.paperbot import PaperBot
from bot.records import Hit, Paper
from bot.surfaces.export import EXPORTS
from bot.surfaces.text import as_written
from bot.surfaces.web.common import export_files, tell

if TYPE_CHECKING:
    from bot.surfaces.web.app import ChatApp

SIMILAR_FROM_CARD = 5
ABSTRACT_SENTENCES = 2  # a card opens its abstract this far
MAX_SHOWN_CHARS = 400  # and no further (an abstract may be one endless "sentence")
MAX_QUOTE_CHARS = 300  # each sentence of the pair that says why
# Pasted text is embedded sentence by sentence to be compared: this bounds that work (the
# whole text is bounded by `max_reference_chars` before it gets here).
MAX_PASTED_SENTENCES = 12
BAR_CELLS = 10
MATCH_MEANING = ("Match {match} of 100: how close the two are in meaning, the cosine "
                 "similarity of their embeddings × 100. 100 would be the same text; papers on "
                 "the same problem often score 60 or more, papers on unrelated subjects below "
                 "40.")
HOW_TO_READ = ("*Match*: closeness in meaning, out of 100 (the cosine of the two texts' "
               "embeddings × 100); unrelated subjects score below 40. The order also weighs "
               "shared terms and sets back papers close to almost everything. *Why similar*: "
               "the two sentences closest in meaning.")
NO_RESULTS = "*No similar papers found.*"
EXPORT_HINT = "*Add papers to an export with “Add to export” on their cards.*"
SUMMARY_ID = "similar-summary"  # what "Papers like this" scrolls back to
SCROLL_TO_SUMMARY = (f"() => document.getElementById('{SUMMARY_ID}')"
                     "?.scrollIntoView({behavior: 'smooth', block: 'start'})")


@dataclass(frozen=True)
class Reference:
    """What the cards are compared with: its sentences, their unit vectors, and how a card
    names it ("the chosen paper", "your text")."""

    named: str
    sentences: list[str]
    vectors: np.ndarray  # (len(sentences), dim)


@dataclass(frozen=True)
class SharedEvidence:
    """Why a paper is like the reference: its sentence and the reference's that are closest
    in meaning, and their cosine."""

    theirs: str
    ours: str
    closeness: float


class SimilarTab:
    def __init__(self, app: ChatApp):
        self.app = app

    def build(self, papers: list[Paper]) -> None:
        with gr.Tab("Similar papers", id="similar"):
            with gr.Row():
                self.paper_choice = gr.Dropdown(paper_choices(papers), label="Choose a paper",
                                                filterable=True, value=None)
                self.k_similar = gr.Slider(1, 20, value=5, step=1, label="How many")
            self.pasted = gr.Textbox(label="…or paste a title or an abstract", lines=3)
            similar_button = gr.Button("Find similar papers", variant="primary")
            self.similar_out = gr.Markdown(elem_id=SUMMARY_ID)
            # The cards shown: [paper id, card Markdown] pairs; the export: paper ids.
            self.cards = gr.State([])
            self.selection = gr.State([])
            similar_button.click(self.find, [self.paper_choice, self.pasted, self.k_similar],
                                 [self.similar_out, self.cards], api_visibility="private")
            gr.render(inputs=[self.cards, self.selection])(self.card_list)

    @property
    def shown_outputs(self) -> list[gr.components.Component]:
        """What `show` fills, after the tab it selects."""
        return [self.paper_choice, self.pasted, self.similar_out, self.cards]

    def find(self, paper_id, text, k):
        """The summary above the cards, and the cards: [paper id, Markdown] pairs."""
        ref = (text or "").strip() or paper_id
        bot = self.app.bot
        try:
            if not ref:
                raise QueryError("Choose a paper or paste a title or abstract.")
            hits = bot.similar(ref, k=int(k))
            reference = reference_of(bot, ref)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            return tell(exc, outputs=2)
        cards = [[hit.paper.id, render_similar_card(
            hit, shared_evidence(reference, *paper_sentences(bot.library, hit.paper.id)),
            reference.named, bot.templates)] for hit in hits]
        return summary(bot.get(ref), hits), cards

    def show(self, paper_id):
        """From elsewhere (a citation card) to this tab, filled in for that paper."""
        return (gr.Tabs(selected="similar"), paper_id, "",
                *self.find(paper_id, "", SIMILAR_FROM_CARD))

    def card_list(self, cards, selection):
        """The export being built (when there is one), then a card for each paper found, each
        with its actions."""
        if not cards and not selection:
            return
        self._export_area(selection)
        outputs = [self.paper_choice, self.pasted, self.similar_out, self.cards]
        for paper_id, card in cards:
            # Keyed, so a re-render (a paper added to the export) updates the cards in place;
            # nothing is kept from the last render (`preserved_by_key`): a card's text
            # depends on what it was compared with.
            with gr.Group(key=f"card-{paper_id}", elem_classes=["similar-card"]):
                gr.Markdown(card, padding=True, key=f"text-{paper_id}", preserved_by_key=None)
                with gr.Row(key=f"actions-{paper_id}"):
                    more = gr.Button("Papers like this", size="sm", key=f"more-{paper_id}",
                                     preserved_by_key=None)
                    chosen = paper_id in selection
                    pick = gr.Button("Remove from export" if chosen else "Add to export",
                                     size="sm", key=f"pick-{paper_id}", preserved_by_key=None)
            more.click(lambda k, paper_id=paper_id: (paper_id, "", *self.find(paper_id, "", k)),
                       self.k_similar, outputs, api_visibility="private"
                       ).then(None, js=SCROLL_TO_SUMMARY)
            pick.click(lambda picked, paper_id=paper_id: toggled(picked, paper_id),
                       self.selection, self.selection, api_visibility="private")

    def _export_area(self, selection: list[str]) -> None:
        """The papers picked for export, a download of them in each format, and a way to
        start again. Always the same components, shown or hidden, each keyed: a render that
        put a different kind of component where another was confuses the page."""
        bot = self.app.bot
        papers = [p for p in (bot.get(paper_id) for paper_id in selection) if p is not None]
        files = export_files(papers, "selected") if papers else [None] * len(EXPORTS)
        gr.Markdown(export_list(papers) if papers else EXPORT_HINT, key="export-list",
                    preserved_by_key=None)
        with gr.Row(key="export-actions", visible=bool(papers)):
            for export, file in zip(EXPORTS.values(), files, strict=True):
                gr.DownloadButton(f"Selected papers as {export.name}", value=file, size="sm",
                                  key=f"export-{export.suffix}", preserved_by_key=None)
            clear = gr.Button("Clear the export", size="sm", variant="stop",
                              key="export-clear", preserved_by_key=None)
        clear.click(lambda: [], None, self.selection, api_visibility="private")


def toggled(selection: list[str], paper_id: str) -> list[str]:
    """The export with the paper added, or taken out when it was there."""
    if paper_id in selection:
        return [chosen for chosen in selection if chosen != paper_id]
    return [*selection, paper_id]


def paper_choices(papers: list[Paper]) -> list[tuple[str, str]]:
    return [(p.display_title, p.id) for p in papers]


# -- why a paper is similar -----------------------------------------------------------------

def reference_of(bot: PaperBot, ref: str) -> Reference:
    """The chosen paper's abstract sentences, from the library; else the sentences of the
    text itself (pasted, or a paper's title when it has no abstract), embedded here."""
    paper = bot.get(ref)
    if paper is not None:
        sentences, vectors = paper_sentences(bot.library, paper.id)
        if sentences:
            return Reference("the chosen paper", sentences, vectors)
        ref = paper.display_title
    text = ref.strip()
    sentences = [text[start:end] for start, end in split_sentences(text)][:MAX_PASTED_SENTENCES]
    named = "the chosen paper" if paper is not None else "your text"
    return Reference(named, sentences, bot.embedder.embed_documents(sentences))


def paper_sentences(library: Library, paper_id: str) -> tuple[list[str], np.ndarray]:
    """A paper's abstract sentences and their stored vectors (none without an abstract)."""
    rows = np.array(library.sentence_rows(library.row_of[paper_id]), dtype=np.int64)
    return [library.sentence_text(int(r)) for r in rows], library.sentence_vectors[rows]


def shared_evidence(reference: Reference, sentences: list[str],
                    vectors: np.ndarray) -> SharedEvidence | None:
    """The pair of sentences, one of each, closest in meaning; None when either has none."""
    if not sentences or not reference.sentences:
        return None
    cosines = _unit(vectors) @ _unit(reference.vectors).T
    theirs, ours = np.unravel_index(int(np.argmax(cosines)), cosines.shape)
    return SharedEvidence(sentences[theirs], reference.sentences[ours],
                          float(cosines[theirs, ours]))


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1: stored vectors are int8, so only nearly so."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# -- the cards ------------------------------------------------------------------------------

def render_similar_card(hit: Hit, evidence: SharedEvidence | None, compared_with: str,
                        templates: Templates) -> str:
    """A similar paper as Markdown: everything from the paper as_written and escaped; the
    only markup is the app's own (its links, its match badge)."""
    paper = hit.paper
    return templates.render(
        "similar_card", title=shown(paper.display_title), authors=shown(paper.author_line),
        year=paper.year_label, links=links(paper), match=match_badge(hit.relevance),
        abstract=short_abstract(paper.abstract),
        evidence=evidence_lines(evidence, compared_with)).rstrip()


def match_badge(relevance: float) -> str:
    """The match as a number and a bar, its meaning in a tooltip: built from the number
    alone, so no text from outside is in it."""
    match = match_of(relevance)
    filled = round(match * BAR_CELLS / 100)
    bar = "▰" * filled + "▱" * (BAR_CELLS - filled)
    return (f'<span class="similar-match" title="{MATCH_MEANING.format(match=match)}">'
            f"match {match}/100 {bar}</span>")


def links(paper: Paper) -> str:
    """` · ` and the paper's arXiv and DOI links, which the app builds from ids it checked."""
    found = []
    if paper.arxiv_url:
        found.append(f"[arXiv:{paper.arxiv_id}]({paper.arxiv_url})")
    if paper.doi:
        # Escaped into the address (a DOI may hold brackets), as itself in the words.
        found.append(f"[DOI {escape_markdown(paper.doi)}](https://doi.org/{quote(paper.doi)})")
    return "".join(f" · {link}" for link in found)


def short_abstract(abstract: str) -> str:
    """The abstract's first sentences, as written; or that it has none."""
    if not abstract:
        return "*No abstract: found by its title.*"
    spans = split_sentences(abstract)
    end = spans[min(ABSTRACT_SENTENCES, len(spans)) - 1][1] if spans else len(abstract)
    opening = as_written(abstract[:end])
    if len(opening) > MAX_SHOWN_CHARS:
        return escape_markdown(_cut(opening, MAX_SHOWN_CHARS))
    return escape_markdown(opening + (" …" if end < len(abstract) else ""))


def evidence_lines(evidence: SharedEvidence | None, compared_with: str) -> str:
    if evidence is None:
        return ""
    return (f"*Why similar — the closest sentences (match {match_of(evidence.closeness)}"
            f"/100):*  \nthis paper: “{shown(evidence.theirs, MAX_QUOTE_CHARS)}”  \n"
            f"{compared_with}: “{shown(evidence.ours, MAX_QUOTE_CHARS)}”")


def summary(chosen: Paper | None, hits: list[Hit]) -> str:
    if not hits:
        return NO_RESULTS
    like = f"**{shown(chosen.display_title)}**" if chosen else "your text"
    return f"{_papers(len(hits))} like {like}, best first.\n\n{HOW_TO_READ}"


def export_list(papers: list[Paper]) -> str:
    titles = "; ".join(shown(p.display_title) for p in papers)
    return f"**Export: {_papers(len(papers))}** — {titles}"


def _papers(count: int) -> str:
    return f"{count} paper" + ("" if count == 1 else "s")


def shown(text: str, limit: int | None = None) -> str:
    """Text from a paper as a page shows it: LaTeX markup as its words (at most `limit` of
    them), then escaped."""
    written = as_written(text)
    return escape_markdown(_cut(written, limit) if limit else written)


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, ending at a word, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"
