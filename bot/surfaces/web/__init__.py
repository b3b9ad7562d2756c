"""The Gradio web chat: built by `build_app(bot)` (a `ChatApp`, one module a tab), served by
`launch`.

Every handler calls PaperBot and formats what it returns; domain errors become messages the
user sees. `ask`, `search` and `similar` are also named API endpoints for gradio_client.
"""

from bot.surfaces.web.add import added_markdown
from bot.surfaces.web.app import FAVICON, QUEUE_SIZE, ChatApp, build_app, free_port, launch
from bot.surfaces.web.chat import SEARCHING, WRITING, filters_from, link_citations
from bot.surfaces.web.similar import render_similar_card

__all__ = ["FAVICON", "QUEUE_SIZE", "SEARCHING", "WRITING", "ChatApp", "added_markdown",
           "build_app", "filters_from", "free_port", "launch", "link_citations",
           "render_similar_card"]
