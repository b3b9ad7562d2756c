"""The Chat tab: a question box with filters, the conversation, and under the last answer a
card for each paper it cites."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import gradio as gr
from pydantic import ValidationError

from bot.answer.templates import escape_markdown, escape_untrusted
from bot.errors import QueryError
from bot.records import Citation, Filters, Paper, Turn
from bot.retrieve.query import clean_query
from bot.surfaces.cards import render_card
from bot.surfaces.export import EXPORTS
from bot.surfaces.web.common import ANY, export_files, message_of, tell, turns_from

if TYPE_CHECKING:
    from bot.surfaces.web.app import ChatApp

HAS_CODE_CHOICES = {ANY: None, "With code": True, "Without code": False}
EXAMPLE_COUNT = 4
NO_CITATION = "*No paper cited: nothing in the library answers this question.*"
CITATION_ANCHOR = "cited-"  # a card's element id is this and its number
# An unescaped [n] of an answer (a bracket inside a quote is escaped: \[).
CITATION_MARKER = re.compile(r"(?<!\\)\[(\d+)\]")
SEARCHING = "*Searching the library…*"
WRITING = "*Writing… the citations are checked when the answer is complete.*"
# Questions may wait on a language model for up to its timeout, using no CPU meanwhile: more
# of them run at once than the two CPU-bound workers, so slow answers do not hold the others.
ASK_CONCURRENCY = 8


class ChatTab:
    def __init__(self, app: ChatApp):
        self.app = app

    def build(self, papers: list[Paper]) -> None:
        with gr.Tab("Chat", id="chat"):
            self.chatbot = chatbot = gr.Chatbot(
                label="Answers", height=420, feedback_options=None, buttons=["copy"],
                placeholder=chat_placeholder(papers))
            with gr.Row():
                question = gr.Textbox(show_label=False, scale=6, autofocus=True,
                                      placeholder="Which papers study …?", max_lines=4)
                ask_button = gr.Button("Ask", variant="primary", scale=1)
            filters = self._filters(papers)
            # Not gr.Examples, whose questions are fixed when the page is built: these follow
            # the library as it grows (the Add tab and every page load refresh them).
            self.examples = gr.Dataset(components=[question], samples=example_samples(papers),
                                       label="Try", elem_id="example-questions")
            self.examples.click(lambda sample: sample[0], self.examples, question,
                                show_progress="hidden", queue=False, api_visibility="private")
            cited = gr.State(None)  # the last answer's citations; None before any question
            turns = gr.State([])  # the conversation so far, for follow-ups: Turn dicts
            for trigger in (question.submit, ask_button.click):
                trigger(self.respond, [question, chatbot, turns, *filters],
                        [chatbot, question, cited, turns],
                        api_visibility="private", concurrency_limit=ASK_CONCURRENCY)
            # A cleared chat is a new conversation: no follow-up refers back past it.
            chatbot.clear(lambda: (None, []), None, [cited, turns], api_visibility="private")
            gr.render(inputs=cited)(self.citation_cards)

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
        return [self.year_from, self.year_to, author, self.category, has_code]

    def respond(self, question, history, turns, year_from, year_to, author, category,
                has_code):
        """Streams: the question shows at once with a note that the library is being
        searched, then a language model's draft as it writes (when one is set up), then the
        answer replaces it. `turns`: the conversation so far, which a follow-up refers to."""
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
        shown = link_citations(answer.text)
        if answer.context:
            shown = f"*Read as {escape_markdown(answer.context)}.*\n\n{shown}"
        turns = [*(turns or []), Turn.of(answer).model_dump()]
        yield asked + [{"role": "assistant", "content": shown}], "", answer.citations, turns

    def citation_cards(self, citations: list[Citation] | None) -> None:
        """Under the answer: its cited papers to download, and a card per citation, the
        target of the answer's [n] link, with a button to papers like it."""
        if citations is None:
            return
        if not citations:
            gr.Markdown(NO_CITATION)
            return
        cited_papers = [c.paper for c in citations]
        with gr.Row():
            for export, file in zip(EXPORTS.values(), export_files(cited_papers, "cited"),
                                    strict=True):
                gr.DownloadButton(f"Cited papers as {export.name}", size="sm", value=file)
        similar = self.app.similar
        for citation in citations:
            gr.Markdown(render_card(citation, self.app.bot.templates),
                        elem_id=f"{CITATION_ANCHOR}{citation.n}", elem_classes=["citation-card"])
            more = gr.Button(f"Papers like [{citation.n}]", size="sm")
            more.click(lambda paper_id=citation.paper.id: similar.show(paper_id), None,
                       [self.app.tabs, *similar.shown_outputs], api_visibility="private")


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


def link_citations(text: str) -> str:
    """The answer's [n] markers as links to their cards."""
    return CITATION_MARKER.sub(
        lambda m: f"[\\[{m.group(1)}\\]](#{CITATION_ANCHOR}{m.group(1)})", text)


def example_questions(papers: list[Paper]) -> list[str]:
    """Questions drawn from the library itself: the subjects of a few of its papers."""
    plain = [p.title for p in papers if p.title and 3 <= len(p.title.split()) <= 8
             and p.title[-1].isalnum() and ":" not in p.title]
    step = max(1, len(plain) // EXAMPLE_COUNT)
    picks = plain[::step][:EXAMPLE_COUNT]
    return [f"What is known about {s[0].lower() + s[1:]}?" for s in picks] or [
        "Which papers study reinforcement learning?"]


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
