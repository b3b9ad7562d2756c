"""The Chat tab: a question box with filters, the conversation, and for each answer its own
cards, one a paper it cites.

Each answer of the conversation keeps what it cited: its [n] markers link to its own cards
(`cited-<turn>-<n>`, in the section `answer-<turn>`), however many questions came after it.
The sections are listed newest first; those before the latest answer that cites papers are
folded, and a click on one of their markers opens them (the page's script, app.py). Each
section has the answer as clean text to copy, and its cited papers to download.

The filters in force show as chips by the question box, each removing its filter; an answer
made under filters says so, and an abstention under them says they may be why.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gradio as gr
from pydantic import ValidationError

from bot.answer.templates import escape_markdown, escape_untrusted
from bot.errors import QueryError
from bot.records import Answer, Citation, Filters, Paper, Turn
from bot.retrieve.followup import resolve
from bot.retrieve.query import clean_query
from bot.surfaces.cards import render_card, shown_text
from bot.surfaces.export import EXPORTS
from bot.surfaces.text import as_written
from bot.surfaces.web.common import ANY, export_files, message_of, tell, turns_from
from bot.surfaces.web.examples import example_questions

if TYPE_CHECKING:
    from bot.surfaces.web.app import ChatApp

HAS_CODE_CHOICES = {ANY: None, "With code": True, "Without code": False}
NO_CITATION = "*No paper cited: nothing in the library answers this question.*"
NO_CITATION_AMONG = "*No paper cited: nothing {scope} answers this question.*"
FILTERS_MAY_BE_WHY = ("*The filters may be why: the library was searched only {scope}. Remove "
                      "a filter (the chips by the question box) to search all of it.*")
CITATION_ANCHOR = "cited-"  # a card's element id: this, its answer's turn, "-", its number
ANSWER_ANCHOR = "answer-"  # the element id of an answer's section of cards: this, its turn
# An unescaped [n] of an answer (a bracket inside a quote is escaped: \[).
CITATION_MARKER = re.compile(r"(?<!\\)\[(\d+)\]")
# Markdown as text: an escaped character is itself, emphasis and code marks are dropped.
_MARKUP = re.compile(r"\\([\\`*_\[\]<>|#~])|[*`]")
SEARCHING = "*Searching the library…*"
WRITING = "*Writing… the citations are checked when the answer is complete.*"
SECTION_QUESTION_CHARS = 80  # of the question, in its section's heading
# The answers whose cards a conversation keeps (the server holds them for every session);
# an older answer's markers then lead nowhere.
KEPT_ANSWERS = 30
# Questions may wait on a language model for up to its timeout, using no CPU meanwhile: more
# of them run at once than the two CPU-bound workers, so slow answers do not hold the others.
ASK_CONCURRENCY = 8
# "Copy answer": the clipboard where the page may write it (a secure page: https or this
# machine), else the browser's older copy command; the button shows it was done.
COPY_SCRIPT = """() => {
  const text = %s;
  const button = document.activeElement;
  const done = () => {
    if (!button || !button.classList.contains("copy-answer")) return;
    button.classList.add("copied");
    setTimeout(() => button.classList.remove("copied"), 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  if (document.execCommand("copy")) done();
  area.remove();
}"""


@dataclass(frozen=True, eq=False)  # hashed as itself: Gradio tells a changed State by hash
class ShownAnswer:
    """An answer of the conversation as its section shows it: what it cited, its text to
    copy, and its cited papers' files to download."""

    turn: int  # 1 for the conversation's first answer
    question: str
    citations: list[Citation] = field(default_factory=list)
    plain: str = ""
    downloads: list[str] = field(default_factory=list)  # one file a format, as EXPORTS
    scope: str | None = None  # "among papers from 2023 on", when filters narrowed it


class ChatTab:
    def __init__(self, app: ChatApp):
        self.app = app

    def build(self, papers: list[Paper]) -> None:
        with gr.Tab("Chat", id="chat"):
            # Copying is "Copy answer" in each answer's section: the message's own copy
            # button would copy its Markdown, links and escapes included.
            self.chatbot = chatbot = gr.Chatbot(
                label="Answers", height=420, feedback_options=None, buttons=[],
                placeholder=chat_placeholder(papers))
            with gr.Row():
                question = gr.Textbox(show_label=False, scale=6, autofocus=True,
                                      placeholder="Which papers study …?", max_lines=4)
                ask_button = gr.Button("Ask", variant="primary", scale=1)
            chips = gr.Column(elem_classes=["filter-chips"])
            filters = self._filters(papers)
            with chips:
                gr.render(inputs=filters, show_progress="hidden")(self.filter_chips)
            # Not gr.Examples, whose questions are fixed when the page is built: these follow
            # the library as it grows (the Add tab and every page load refresh them).
            self.examples = gr.Dataset(components=[question], samples=example_samples(papers),
                                       label="Try", elem_id="example-questions")
            self.examples.click(lambda sample: sample[0], self.examples, question,
                                show_progress="hidden", queue=False, api_visibility="private")
            answers = gr.State([])  # the conversation's answers: ShownAnswer, oldest first
            turns = gr.State([])  # the conversation so far, for follow-ups: Turn dicts
            for trigger in (question.submit, ask_button.click):
                trigger(self.respond, [question, chatbot, turns, *filters, answers],
                        [chatbot, question, answers, turns],
                        api_visibility="private", concurrency_limit=ASK_CONCURRENCY)
            # A cleared chat is a new conversation: no follow-up refers back past it, and
            # no card or download of its answers stays.
            chatbot.clear(lambda: ([], []), None, [answers, turns], api_visibility="private")
            gr.render(inputs=answers)(self.answer_sections)

    def _filters(self, papers: list[Paper]) -> list[gr.components.Component]:
        """The filter inputs, in the order `respond` takes them."""
        years = year_choices(papers)
        with gr.Accordion("Filters", open=False), gr.Row():
            # The corpus's own years: a range that can't be mistyped or empty.
            self.year_from = gr.Dropdown(years, value=ANY, label="From year")
            self.year_to = gr.Dropdown(years, value=ANY, label="To year")
            author = gr.Textbox(label="Author contains")
            self.category = gr.Dropdown([ANY, *categories(papers)], value=ANY,
                                        label="Category")
            has_code = gr.Radio(list(HAS_CODE_CHOICES), value=ANY, label="Code")
        self.filter_inputs = [self.year_from, self.year_to, author, self.category, has_code]
        return self.filter_inputs

    def filter_chips(self, *values) -> None:
        """A chip for each filter set, by the question box; a click on it clears it."""
        for label, position, cleared in active_filters(*values):
            chip = gr.Button(f"{label} ✕", size="sm", elem_classes=["filter-chip"])
            chip.click(lambda value=cleared: value, None, self.filter_inputs[position],
                       api_visibility="private", show_progress="hidden")

    def respond(self, question, history, turns, year_from, year_to, author, category,
                has_code, answers=None):
        """Streams: the question shows at once with a note that the library is being
        searched, then a language model's draft as it writes (when one is set up), then the
        answer replaces it. `turns`: the conversation so far, which a follow-up refers to;
        `answers`: what its answers cited (ShownAnswer)."""
        bot = self.app.bot
        try:
            filters = filters_from(year_from, year_to, author, category, has_code)
            question = clean_query(question, max_chars=bot.settings.retrieval.max_query_chars)
            earlier = turns_from(turns)
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            yield tell(exc, outputs=4)
            return
        asked = list(history or []) + [{"role": "user", "content": escape_markdown(question)}]
        yield asked + [{"role": "assistant", "content": SEARCHING}], "", gr.skip(), gr.skip()
        try:
            for update in bot.ask_stream(question, filters=filters, history=earlier):
                if isinstance(update, str):  # a language model's draft, not yet verified
                    draft = escape_untrusted(update) + "\n\n" + WRITING
                    yield (asked + [{"role": "assistant", "content": draft}], "", gr.skip(),
                           gr.skip())
                else:
                    answer = update
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            gr.Warning(message_of(exc))
            yield history, question, gr.skip(), gr.skip()
            return
        # The filters the answer was made under: a follow-up's years narrow them ("and in
        # 2023?"), as PaperBot read it.
        scope = scope_of(resolve(question, earlier, filters).filters)
        turn = answers[-1].turn + 1 if answers else 1
        shown = shown_answer(answer, turn, scope)
        turns = [*(turns or []), Turn.of(answer).model_dump()]
        message = {"role": "assistant", "content": answer_markdown(answer, shown)}
        yield asked + [message], "", [*(answers or []), shown][-KEPT_ANSWERS:], turns

    def answer_sections(self, answers: list[ShownAnswer]) -> None:
        """Each answer's section, newest first: its text to copy, its cited papers to
        download, and a card per citation, the target of the answer's [n] link, with a
        button to papers like it. Sections older than the latest that cites papers are
        folded (a click on one of their markers opens them)."""
        if not answers:
            return
        latest = max((shown.turn for shown in answers if shown.citations), default=0)
        for shown in reversed(answers):
            with gr.Accordion(section_heading(shown), open=shown.turn >= latest,
                              elem_id=f"{ANSWER_ANCHOR}{shown.turn}",
                              elem_classes=["answer-cards"]):
                self._section(shown)

    def _section(self, shown: ShownAnswer) -> None:
        with gr.Row(elem_classes=["answer-actions"]):
            copy = gr.Button("Copy answer", size="sm", elem_classes=["copy-answer"])
            copy.click(None, js=COPY_SCRIPT % json.dumps(shown.plain),
                       api_visibility="private")
            for export, file in zip(EXPORTS.values(), shown.downloads, strict=False):
                gr.DownloadButton(f"Cited papers as {export.name}", size="sm", value=file)
            if len(shown.citations) > 1:  # one cited paper has its own "Papers like [1]"
                like_these = gr.Button("Papers like these", size="sm")
                cited = [citation.paper.id for citation in shown.citations]
                like_these.click(lambda cited=cited: self.app.similar.show_set(cited), None,
                                 [self.app.tabs, *self.app.similar.shown_outputs],
                                 api_visibility="private")
        if not shown.citations:
            gr.Markdown(NO_CITATION_AMONG.format(scope=escape_markdown(shown.scope))
                        if shown.scope else NO_CITATION)
            return
        similar = self.app.similar
        for citation in shown.citations:
            gr.Markdown(render_card(citation, self.app.bot.templates),
                        elem_id=f"{CITATION_ANCHOR}{shown.turn}-{citation.n}",
                        elem_classes=["citation-card"], latex_delimiters=[])
            more = gr.Button(f"Papers like [{citation.n}]", size="sm")
            more.click(lambda paper_id=citation.paper.id: similar.show(paper_id), None,
                       [self.app.tabs, *similar.shown_outputs], api_visibility="private")


def shown_answer(answer: Answer, turn: int, scope: str | None) -> ShownAnswer:
    """What an answer's section holds, its files written once, when the answer is made."""
    papers = [c.paper for c in answer.citations]
    return ShownAnswer(turn=turn, question=answer.question, citations=answer.citations,
                       plain=plain_answer(answer, scope),
                       downloads=export_files(papers, "cited") if papers else [], scope=scope)


def answer_markdown(answer: Answer, shown: ShownAnswer) -> str:
    """The answer as its message shows it: how it was read and among which papers, its text
    with each [n] a link to this answer's card n, and under filters, an abstention says
    they may be why."""
    text = link_citations(text_as_written(answer), shown.turn)
    if lead := reading_line(answer.context, shown.scope):
        text = f"*{escape_markdown(lead)}.*\n\n{text}"
    if answer.abstained and shown.scope:
        text += "\n\n" + FILTERS_MAY_BE_WHY.format(scope=escape_markdown(shown.scope))
    return text


def reading_line(context: str | None, scope: str | None) -> str | None:
    """"Read as a follow-up …; among papers from 2023 on", as far as either applies."""
    if context and scope:
        return f"Read as {context}; {scope}"
    if context:
        return f"Read as {context}"
    return scope[0].upper() + scope[1:] if scope else None


def section_heading(shown: ShownAnswer) -> str:
    question = shown.question
    if len(question) > SECTION_QUESTION_CHARS:
        question = question[:SECTION_QUESTION_CHARS - 1].rstrip() + "…"
    cited = len(shown.citations)
    count = ("no citation" if not cited else "1 paper cited" if cited == 1
             else f"{cited} papers cited")
    return f"Answer {shown.turn}: “{question}” — {count}"


def filters_from(year_from, year_to, author, category, has_code) -> Filters | None:
    """The filters as the form holds them ("Any" for no bound); None when none is set."""
    try:
        filters = Filters(
            year_from=None if year_from in (None, "", ANY) else int(year_from),
            year_to=None if year_to in (None, "", ANY) else int(year_to),
            author=author or None,
            category=None if category in (None, ANY) else category,
            has_code=HAS_CODE_CHOICES.get(has_code),
        )
    except ValidationError as exc:
        raise QueryError("; ".join(e["msg"] for e in exc.errors())) from None
    return None if filters.is_empty() else filters


def active_filters(year_from, year_to, author, category, has_code) -> list[tuple[str, int, object]]:
    """Each filter the form sets: its chip's words, its position among the filter inputs,
    and the value that clears it."""
    chips: list[tuple[str, int, object]] = []
    if year_from not in (None, "", ANY):
        chips.append((f"From {year_from}", 0, ANY))
    if year_to not in (None, "", ANY):
        chips.append((f"To {year_to}", 1, ANY))
    if author and author.strip():
        chips.append((f"Author: {author.strip()}", 2, ""))
    if category not in (None, "", ANY):
        chips.append((f"Category: {category}", 3, ANY))
    if HAS_CODE_CHOICES.get(has_code) is not None:
        chips.append((has_code, 4, ANY))
    return chips


def scope_of(filters: Filters | None) -> str | None:
    """The papers a search was limited to, in words: "among papers from 2023 on, by authors
    matching “Abramson”"; None without filters."""
    if filters is None or filters.is_empty():
        return None
    parts = ["among papers" + _years_phrase(filters.year_from, filters.year_to)]
    if filters.author:
        parts.append(f"by authors matching “{filters.author}”")
    if filters.category:
        parts.append(f"in {filters.category}")
    if filters.has_code is not None:
        parts.append("with code" if filters.has_code else "without code")
    return ", ".join(parts).replace("among papers, ", "among papers ", 1)


def _years_phrase(year_from: int | None, year_to: int | None) -> str:
    if year_from and year_to:
        return f" from {year_from}" if year_from == year_to else f" from {year_from} to {year_to}"
    if year_from:
        return f" from {year_from} on"
    if year_to:
        return f" up to {year_to}"
    return ""


def link_citations(text: str, turn: int) -> str:
    """The answer's [n] markers as links to its own cards, those of answer `turn`."""
    return CITATION_MARKER.sub(
        lambda m: f"[\\[{m.group(1)}\\]](#{CITATION_ANCHOR}{turn}-{m.group(1)})", text)


def text_as_written(answer: Answer) -> str:
    """The answer's Markdown with the titles and quotes it shows as their cards show them: as
    written (`\\textit{Relational Memory Core}` as its words), escaped, an address as code
    rather than a link the paper made."""
    text = answer.text
    papers = [c.paper for c in answer.citations] + [h.paper for h in answer.nearest]
    for raw in sorted({c.quote for c in answer.citations} | {p.display_title for p in papers},
                      key=len, reverse=True):  # a title inside a quote: the quote first
        if (escaped := escape_markdown(raw)) != (shown := shown_text(raw)):
            text = text.replace(escaped, shown)
    return text


def plain_answer(answer: Answer, scope: str | None = None) -> str:
    """The answer as clean text, for the clipboard: plain [n] markers, no Markdown, then its
    references, each with its title, authors, year and link, and its quote where the answer's
    text does not already give it."""
    body = plain_text(text_as_written(answer))
    if lead := reading_line(answer.context, scope):
        body = f"{lead}.\n\n{body}"
    if answer.abstained and scope:
        body += "\n\n" + plain_text(FILTERS_MAY_BE_WHY.format(scope=escape_markdown(scope)))
    if not answer.citations:
        return body
    references = [reference_line(c, quoted=as_written(c.quote) in body)
                  for c in answer.citations]
    return body + "\n\nReferences\n" + "\n".join(references)


def reference_line(citation: Citation, *, quoted: bool) -> str:
    """"[1] Title. Authors. 2021. https://arxiv.org/abs/…", and the quote unless `quoted`."""
    paper = citation.paper
    parts = [as_written(paper.display_title), as_written(paper.author_line), paper.year_label]
    line = f"[{citation.n}] " + " ".join(part.rstrip(".") + "." for part in parts)
    if link := paper.arxiv_url or (f"https://doi.org/{paper.doi}" if paper.doi else None):
        line += f" {link}"
    return line if quoted or not citation.quote else f"{line}\n    “{as_written(citation.quote)}”"


def plain_text(markdown: str) -> str:
    """Markdown that paperchat wrote (escaped text, emphasis, code spans) as the text it
    shows."""
    lines = (_MARKUP.sub(lambda m: m.group(1) or "", line).rstrip()
             for line in markdown.splitlines())
    return "\n".join(lines).strip()


def example_samples(papers: list[Paper]) -> list[list[str]]:
    """The example questions as the examples' Dataset holds them: one sample each."""
    return [[question] for question in example_questions(papers)]


def chat_placeholder(papers: list[Paper]) -> str:
    """What the empty chat says, with the library's first example question."""
    return ("Ask about the papers in the library, e.g. *"
            + escape_markdown(example_questions(papers)[0]) + "*")


def categories(papers: list[Paper]) -> list[str]:
    return sorted({c for p in papers for c in p.categories})


def year_choices(papers: list[Paper]) -> list:
    return [ANY, *sorted({p.year for p in papers if p.year})]
