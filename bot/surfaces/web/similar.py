"""The Similar papers tab: papers like one chosen from the library, or like pasted text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from bot.answer.templates import escape_markdown
from bot.errors import QueryError
from bot.records import Hit, Paper
from bot.surfaces.web.common import tell

if TYPE_CHECKING:
    from bot.surfaces.web.app import ChatApp

SIMILAR_FROM_CARD = 5


class SimilarTab:
    def __init__(self, app: ChatApp):
        self.app = app

    def build(self, papers: list[Paper]) -> None:
        with gr.Tab("Similar papers", id="similar"):
            with gr.Row():
                self.paper_choice = gr.Dropdown(paper_choices(papers), label="Choose a paper",
                                                filterable=True, value=None)
                k_similar = gr.Slider(1, 20, value=5, step=1, label="How many")
            self.pasted = gr.Textbox(label="…or paste a title or an abstract", lines=3)
            similar_button = gr.Button("Find similar papers", variant="primary")
            self.similar_out = gr.Markdown()
            similar_button.click(self.find, [self.paper_choice, self.pasted, k_similar],
                                 self.similar_out, api_visibility="private")

    @property
    def shown_outputs(self) -> list[gr.components.Component]:
        """What `show` fills, after the tab it selects."""
        return [self.paper_choice, self.pasted, self.similar_out]

    def find(self, paper_id, text, k):
        ref = (text or "").strip() or paper_id
        try:
            if not ref:
                raise QueryError("Choose a paper or paste a title or abstract.")
            hits = self.app.bot.similar(ref, k=int(k))
        except Exception as exc:  # noqa: BLE001 (every failure becomes a message)
            return tell(exc, outputs=1)
        return hits_markdown(hits)

    def show(self, paper_id):
        """From elsewhere (a citation card) to this tab, filled in for that paper."""
        return (gr.Tabs(selected="similar"), paper_id, "",
                self.find(paper_id, "", SIMILAR_FROM_CARD))


def paper_choices(papers: list[Paper]) -> list[tuple[str, str]]:
    return [(p.display_title, p.id) for p in papers]


def hits_markdown(hits: list[Hit]) -> str:
    if not hits:
        return "*No similar papers found.*"
    lines = []
    for i, h in enumerate(hits, start=1):
        p = h.paper
        link = f" · [arXiv:{p.arxiv_id}]({p.arxiv_url})" if p.arxiv_url else ""
        lines.append(f"{i}. **{escape_markdown(p.display_title)}** ({p.year_label}) — "
                     f"similarity {h.score:.2f}{link}  \n   {escape_markdown(p.author_line)}")
    return "\n".join(lines)
