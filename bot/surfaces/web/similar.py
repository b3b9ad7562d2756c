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

By an aspect (background, method or result: `PaperBot.similar(aspect=...)`), papers are
ranked by how alike their sentences of that role are; a card's match is then that
similarity, and its pair of sentences is its sentence that matched best (`Hit.evidence`) and
the reference's sentence of that role closest to it.

A card's actions: "Papers like this" runs the tab again on that paper, "Similar method" and
"Similar result" by that aspect; "Add to export" puts it in the export the user builds (a
list of paper ids in the session), downloadable in every format of `EXPORTS`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import gradio as gr
import numpy as np

from bot.answer.extractive import match_of
from bot.answer.templates import Templates, escape_markdown
from bot.errors import PaperchatError, QueryError
from bot.library.contents import Library
from bot.library.roles import Role, role_scores
from bot.library.sentences import split_sentences
from bot.paperbot import PaperBot
from bot.records import Hit, Paper
from bot.retrieve.aspects import role_rows
from bot.retrieve.sets import MAX_SET
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
ASPECT_MATCH_MEANING = ("Match {match} of 100: how close the two papers' {role} sentences are "
                        "in meaning: for each {role} sentence of the one compared with, the "
                        "cosine similarity of its closest here, averaged, × 100.")
HOW_TO_READ = ("*Match*: closeness in meaning, out of 100 (the cosine of the two texts' "
               "embeddings × 100); unrelated subjects score below 40. The order also weighs "
               "shared terms and sets back papers close to almost everything. *Why similar*: "
               "the two sentences closest in meaning.")
ASPECT_HOW_TO_READ = ("*Match*: how close the two papers' {role} sentences are in meaning, out "
                      "of 100 (each {role} sentence's closest counterpart, averaged); the "
                      "whole texts weigh less in the order. Each sentence's role is told from "
                      "its wording and its place in the abstract. *Why similar*: the two "
                      "{role} sentences closest in meaning.")
# The aspect choice: its label, and the value `PaperBot.similar(aspect=...)` takes (WHOLE: none).
WHOLE = "whole"
ASPECT_CHOICES = [("Whole paper", WHOLE), ("Background", Role.BACKGROUND.value),
                  ("Method", Role.METHOD.value), ("Result", Role.RESULT.value)]
# "5 papers with a method like …"
ASPECT_PHRASES = {Role.BACKGROUND: "with a background", Role.METHOD: "with a method",
                  Role.RESULT: "with results"}
CARD_ASPECTS = [("Similar method", Role.METHOD), ("Similar result", Role.RESULT)]
NO_RESULTS = "*No similar papers found.*"
EXPORT_HINT = "*Add papers to an export with “Add to export” on their cards.*"
# A set of papers to find papers like: at most MAX_SET (PaperBot's bound), their sentences
# compared with a card's up to MAX_SET_SENTENCES; the summary names a few.
MAX_SET_SENTENCES = 240
SET_TITLES_SHOWN = 5
BIBLIOGRAPHY_TYPES = [".bib", ".ris", ".json", ".csv", ".txt"]
SUMMARY_ID = "similar-summary"  # what "Papers like this" scrolls back to
SCROLL_TO_SUMMARY = (f"() => document.getElementById('{SUMMARY_ID}')"
                     "?.scrollIntoView({behavior: 'smooth', block: 'start'})")


@dataclass(frozen=True)
class Reference:
    """What the cards are compared with: its sentences, their unit vectors, and how a card
    names it ("the chosen paper", "your text"); for a set of papers, each sentence's paper
    (`owners`), which the card names instead."""

    named: str
    sentences: list[str]
    vectors: np.ndarray  # (len(sentences), dim)
    owners: tuple[str, ...] = ()

    def of_role(self, role: Role) -> Reference:
        """Only its sentences of that role, as an aspect search compares them; all of them
        when none has it (as the search does: bot.retrieve.aspects)."""
        chosen = role_rows(role_scores(self.sentences), role)
        if len(chosen) == 0:
            return self
        return Reference(self.named, [self.sentences[i] for i in chosen], self.vectors[chosen],
                         tuple(self.owners[i] for i in chosen) if self.owners else ())


@dataclass(frozen=True)
class SharedEvidence:
    """Why a paper is like the reference: its sentence and the reference's that are closest
    in meaning, and their cosine; `from_paper`, which of a set's papers that sentence is of."""

    theirs: str
    ours: str
    closeness: float
    from_paper: str | None = None


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
            with gr.Row(elem_classes=["set-row"]):
                self.members = gr.Dropdown(
                    paper_choices(papers), label="…or papers like a set of them", value=[],
                    multiselect=True, filterable=True, max_choices=MAX_SET, scale=4,
                    elem_id="similar-set")
                bibliography = gr.UploadButton(
                    "Use a bibliography's papers", size="sm", scale=1, file_count="single",
                    file_types=BIBLIOGRAPHY_TYPES, elem_id="similar-bib")
            self.aspect = gr.Radio(ASPECT_CHOICES, value=WHOLE, label="Similar in",
                                   elem_id="similar-aspect")
            similar_button = gr.Button("Find similar papers", variant="primary")
            self.similar_out = gr.Markdown(elem_id=SUMMARY_ID)
            # The cards shown: [paper id, card Markdown] pairs; the export: paper ids.
            self.cards = gr.State([])
            self.selection = gr.State([])
            inputs = [self.paper_choice, self.pasted, self.k_similar, self.aspect,
                      self.members]
            similar_button.click(self.find, inputs, [self.similar_out, self.cards],
                                 api_visibility="private")
            # One paper or one set: choosing either puts the other aside.
            self.paper_choice.input(lambda: [], None, self.members, api_visibility="private")
            self.members.input(lambda: None, None, self.paper_choice, api_visibility="private")
            bibliography.upload(self.members_of_file, [bibliography, self.k_similar,
                                                       self.aspect],
                                self.shown_outputs, api_visibility="private")
            # Another aspect re-ranks what is shown (nothing, when nothing was chosen yet).
            self.aspect.input(self.rerank, inputs, [self.similar_out, self.cards],
                              api_visibility="private")
            gr.render(inputs=[self.cards, self.selection, self.app.starred])(self.card_list)

    @property
    def shown_outputs(self) -> list[gr.components.Component]:
        """What `show` fills, after the tab it selects."""
        return [self.paper_choice, self.pasted, self.members, self.aspect, self.similar_out,
                self.cards]

    def find(self, paper_id, text, k, aspect=WHOLE, members=None):
        """The summary above the cards, and the cards: [paper id, Markdown] pairs. Like the
        pasted text, else the set of `members` (paper ids), else the chosen paper."""
        text = (text or "").strip()
        members = list(members or [])
        bot = self.app.bot
        try:
            role = role_of_choice(aspect)
            if not (text or members or paper_id):
                raise QueryError("Choose a paper, paste a title or abstract, or choose a set "
                                 "of papers.")
            if not text and members:
                hits = bot.similar(members, k=int(k), aspect=role)
                reference, like = reference_of_set(bot, members), set_summary(bot, members)
            else:
                ref = text or paper_id
                hits = bot.similar(ref, k=int(k), aspect=role)
                reference, like = reference_of(bot, ref), like_words(bot.get(ref))
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            return tell(exc, outputs=2)
        cards = [[hit.paper.id, similar_card(bot, hit, reference, role)] for hit in hits]
        return summary(like, hits, role), cards

    def rerank(self, paper_id, text, k, aspect, members):
        if not ((text or "").strip() or paper_id or members):
            return gr.skip(), gr.skip()
        return self.find(paper_id, text, k, aspect, members)

    def show(self, paper_id, aspect=WHOLE):
        """From elsewhere (a citation card) to this tab, filled in for that paper."""
        return (gr.Tabs(selected="similar"), *self._run_on(paper_id, SIMILAR_FROM_CARD, aspect))

    def show_set(self, members):
        """From elsewhere (the Papers tab's selection, an answer's citations) to this tab,
        filled in for papers like that set."""
        members = list(members or [])
        return (gr.Tabs(selected="similar"), None, "", members, WHOLE,
                *self.find(None, "", SIMILAR_FROM_CARD, WHOLE, members))

    def members_of_file(self, file, k, aspect):
        """A bibliography's entries found in the library, as the set; those not found said."""
        try:
            if file is None:
                raise QueryError("No file was uploaded.")
            found = self.app.bot.references_in(file)
        except PaperchatError as exc:  # it names the file: by its name, not the server's path
            return tell(QueryError(str(exc).replace(str(file), Path(file).name)), outputs=6)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            return tell(exc, outputs=6)
        members = list(found.ids)[:MAX_SET]
        if found.missing:
            gr.Info(not_in_library(found.missing))
        return None, "", members, aspect, *self.find(None, "", k, aspect, members)

    def _run_on(self, paper_id: str, k, aspect: str) -> tuple:
        """The tab's inputs set to one paper and an aspect, and what it finds."""
        return paper_id, "", [], aspect, *self.find(paper_id, "", k, aspect)

    def card_list(self, cards, selection, starred=()):
        """The export being built (when there is one), then a card for each paper found, each
        with its actions; `starred`, the ids of the starred papers."""
        if not cards and not selection:
            return
        self._export_area(selection)
        outputs = self.shown_outputs
        for paper_id, card in cards:
            # Keyed, so a re-render (a paper added to the export) updates the cards in place;
            # nothing is kept from the last render (`preserved_by_key`): a card's text
            # depends on what it was compared with.
            with gr.Group(key=f"card-{paper_id}", elem_classes=["similar-card"]):
                gr.Markdown(card, padding=True, key=f"text-{paper_id}", preserved_by_key=None)
                with gr.Row(key=f"actions-{paper_id}", elem_classes=["similar-actions"]):
                    runs = [(gr.Button("Papers like this", size="sm", key=f"more-{paper_id}",
                                       preserved_by_key=None), WHOLE)]
                    runs += [(gr.Button(label, size="sm", key=f"{role}-{paper_id}",
                                        preserved_by_key=None), role.value)
                             for label, role in CARD_ASPECTS]
                    self.app.star_button(paper_id, paper_id in starred, key=f"star-{paper_id}")
                    chosen = paper_id in selection
                    pick = gr.Button("Remove from export" if chosen else "Add to export",
                                     size="sm", key=f"pick-{paper_id}", preserved_by_key=None)
            for button, aspect in runs:
                button.click(lambda k, paper_id=paper_id, aspect=aspect:
                             self._run_on(paper_id, k, aspect),
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


def role_of_choice(aspect: str | None) -> Role | None:
    """The aspect a choice names (None: the whole paper); QueryError for any other."""
    if aspect in (None, "", WHOLE):
        return None
    try:
        return Role(aspect)
    except ValueError:
        raise QueryError(f"no such aspect: {aspect!r}") from None


def similar_card(bot: PaperBot, hit: Hit, reference: Reference, role: Role | None) -> str:
    """A hit's card, with why it is similar: by an aspect, the sentence that matched best
    (the hit's evidence) beside the reference's sentence of that role closest to it."""
    sentences, vectors = paper_sentences(bot.library, hit.paper.id)
    if role is not None:
        reference = reference.of_role(role)
        if hit.evidence in sentences:
            at = sentences.index(hit.evidence)
            sentences, vectors = [hit.evidence], vectors[at:at + 1]
    return render_similar_card(hit, shared_evidence(reference, sentences, vectors),
                               reference.named, bot.templates, role)


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
                          float(cosines[theirs, ours]),
                          reference.owners[ours] if reference.owners else None)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1: stored vectors are int8, so only nearly so."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def reference_of_set(bot: PaperBot, members: list[str]) -> Reference:
    """A set's papers' abstract sentences, each named by its paper, up to
    `MAX_SET_SENTENCES` (the first papers' when there are more)."""
    sentences: list[str] = []
    vectors: list[np.ndarray] = []
    owners: list[str] = []
    for paper in (bot.get(ref) for ref in members):
        if paper is None:
            continue
        theirs, their_vectors = paper_sentences(bot.library, paper.id)
        room = MAX_SET_SENTENCES - len(sentences)
        sentences += theirs[:room]
        vectors += list(their_vectors[:room])
        owners += [paper.display_title] * len(theirs[:room])
    dim = bot.library.sentence_vectors.shape[1]
    return Reference("the set", sentences,
                     np.stack(vectors) if vectors else np.zeros((0, dim), np.float32),
                     tuple(owners))


def set_summary(bot: PaperBot, members: list[str]) -> str:
    """"these 3: **A**; **B**; **C**", the titles up to `SET_TITLES_SHOWN`."""
    titles = [shown(p.display_title) for p in (bot.get(ref) for ref in members) if p]
    listed = "; ".join(f"**{title}**" for title in titles[:SET_TITLES_SHOWN])
    if len(titles) == 1:
        return listed
    more = len(titles) - SET_TITLES_SHOWN
    return f"the set of {len(titles)}: {listed}" + (f" and {more} more" if more > 0 else "")


def not_in_library(missing: list[str]) -> str:
    """The bibliography's entries the library lacks, named (the first few), for a message:
    Gradio shows a message as HTML, so the file's words are escaped into it."""
    named = "; ".join(as_written(str(entry))[:80] for entry in missing[:SET_TITLES_SHOWN])
    more = len(missing) - SET_TITLES_SHOWN
    return html.escape(f"{len(missing)} of the file's entries are not in the library: {named}"
                       + (f" and {more} more" if more > 0 else ""), quote=False)


# -- the cards ------------------------------------------------------------------------------

def render_similar_card(hit: Hit, evidence: SharedEvidence | None, compared_with: str,
                        templates: Templates, role: Role | None = None) -> str:
    """A similar paper as Markdown: everything from the paper as_written and escaped; the
    only markup is the app's own (its links, its match badge). `role`: the aspect it was
    found by, which its match and evidence speak of."""
    paper = hit.paper
    return templates.render(
        "similar_card", title=shown(paper.display_title), authors=shown(paper.author_line),
        year=paper.year_label, links=links(paper), match=match_badge(hit.relevance, role),
        abstract=short_abstract(paper.abstract),
        evidence=evidence_lines(evidence, compared_with, role)).rstrip()


def match_badge(relevance: float, role: Role | None = None) -> str:
    """The match as a number and a bar, its meaning in a tooltip: built from the number
    (and the aspect's name) alone, so no text from outside is in it."""
    match = match_of(relevance)
    filled = round(match * BAR_CELLS / 100)
    bar = "▰" * filled + "▱" * (BAR_CELLS - filled)
    meaning = (ASPECT_MATCH_MEANING.format(match=match, role=role.value) if role
               else MATCH_MEANING.format(match=match))
    return (f'<span class="similar-match" title="{meaning}">'
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


def evidence_lines(evidence: SharedEvidence | None, compared_with: str,
                   role: Role | None = None) -> str:
    """Why similar: the pair of sentences, each named by its paper (a set's sentence by the
    member it is from)."""
    if evidence is None:
        return ""
    closest = f"closest {role.value} sentences" if role else "closest sentences"
    ours_of = (f"“{shown(evidence.from_paper, MAX_QUOTE_CHARS)}”" if evidence.from_paper
               else compared_with)
    return (f"*Why similar — the {closest} (match {match_of(evidence.closeness)}"
            f"/100):*  \nthis paper: “{shown(evidence.theirs, MAX_QUOTE_CHARS)}”  \n"
            f"{ours_of}: “{shown(evidence.ours, MAX_QUOTE_CHARS)}”")


def like_words(chosen: Paper | None) -> str:
    """What the cards are like, in words: a paper's title, or "your text"."""
    return f"**{shown(chosen.display_title)}**" if chosen else "your text"


def summary(like: str, hits: list[Hit], role: Role | None = None) -> str:
    """"5 papers with a method like **Title**, best first.", and how to read the cards;
    `like`, what they are like in words (`like_words`, `set_summary`)."""
    if not hits:
        return NO_RESULTS
    how = ASPECT_HOW_TO_READ.format(role=role.value) if role else HOW_TO_READ
    kind = f" {ASPECT_PHRASES[role]}" if role else ""
    return f"{_papers(len(hits))}{kind} like {like}, best first.\n\n{how}"


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
