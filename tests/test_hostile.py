"""Hostile content: papers whose titles, authors, categories and abstracts carry HTML,
scripts, event handlers, `javascript:` links, LaTeX links, control characters and huge
strings — and the same typed as questions. Everything shows as inert text.

The browser test serves a library built from such a listing in Debian's chromium, asks,
opens the cards, the similar-papers tab and the papers tab, and checks that no script ran
(a `window.__pwned` flag, dialogs) and that no element or link from the content exists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot import PaperBot
from bot.answer.extractive import compose_answer
from bot.answer.templates import Templates
from bot.records import Hit
from bot.settings import RetrievalSettings
from bot.surfaces.cards import render_card
from bot.surfaces.uploads import Refusal, UploadOutcome
from bot.surfaces.web import added_markdown, render_similar_card
from bot.surfaces.web.similar import SharedEvidence, match_badge
from tests.helpers.browser import events_done, new_page, playwright_api, shot

# Each sets window.__pwned or opens a dialog if it ever runs.
PAYLOADS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
    "<iframe src=\"javascript:window.__pwned = 'iframe'\"></iframe>",
    "[click me](javascript:window.__pwned='link')",
    "![pic](javascript:window.__pwned='image')",
    "<a href=\"javascript:alert('anchor')\">anchor</a>",
    "<javascript:alert('autolink')>",
    "\"><script>alert('attribute')</script>",
    "$\\href{javascript:alert('katex')}{math link}$",
    "$$\\href{javascript:alert('katex block')}{math block}$$",
    "&lt;script&gt;alert('entity')&lt;/script&gt;",
    "<style>body { display: none }</style>",
    "<details open ontoggle=\"window.__pwned = 'details'\">x</details>",
    "`<code onmouseover=alert(1)>` **bold** _em_ # heading | table |",
    "\x00\x07\x1b[2J\u202eevil\u200b\x7f",
]
TOPIC = ("Graph neural networks are fragile under adversarial attacks on their edges. "
         "We study the robustness of graph neural networks to adversarial perturbations.")
QUESTION = "Are graph neural networks robust to adversarial attacks?"


def hostile_records() -> list[dict]:
    records = []
    for n, payload in enumerate(PAYLOADS):
        records.append({
            "id": f"2401.{10000 + n}",
            "title": f"Robust graph networks {n} {payload}",
            "authors": [f"Alice {payload}", "Bob Smith"],
            "categories": [f"cs.LG{payload}"[:60]],
            "abstract": f"{TOPIC} {payload} Our defence {n} certifies robustness. {payload}",
            "listing_date": "2024-01-15",
        })
    records.append({"id": "2401.20000", "title": "A huge record " + "<b>big</b> " * 2000,
                    "authors": ["Carol " + "<i>x</i>" * 500],
                    "abstract": TOPIC + " " + "Graph robustness matters. " * 400,
                    "listing_date": "2024-02-01"})
    return records


@pytest.fixture(scope="module")
def hostile_library(tmp_path_factory, embedder) -> PaperBot:
    folder = tmp_path_factory.mktemp("hostile")
    listing = folder / "hostile.jsonl"
    listing.write_text("\n".join(json.dumps(r) for r in hostile_records()) + "\n",
                       encoding="utf-8")
    return PaperBot.from_corpus([listing], folder / "library", embedder=embedder)


def _inert(markdown: str) -> None:
    """No HTML tag but <mark>, and no Markdown link or image, can come out of this text."""
    without_marks = markdown.replace("<mark>", "").replace("</mark>", "")
    assert not re.search(r"(?<!\\)<", without_marks), markdown[:300]
    assert not re.search(r"(?<!\\)\]\(", markdown), markdown[:300]


def test_every_markdown_surface_escapes_scraped_text(hostile_library):
    bot = hostile_library
    answer = bot.ask(QUESTION)
    assert len(answer.citations) >= 5
    _inert(answer.text)
    for citation in answer.citations:
        _inert(render_card(citation, Templates()).replace(
            f"]({citation.paper.arxiv_url})", ""))  # the one link: to arxiv.org
    for paper in bot.papers:  # the one link is to arxiv.org; the match badge is the app's
        quoted = paper.abstract[:200]
        card = render_similar_card(Hit(paper=paper, score=-0.1, relevance=0.5),
                                   SharedEvidence(quoted, quoted, 0.7), "your text", Templates())
        _inert(re.sub(r"\]\(https://arxiv\.org/abs/[\d.]+\)", "",
                      card.replace(match_badge(0.5), "")))
    abstained = compose_answer("x", [Hit(paper=p, score=0.1, relevance=0.1)
                                     for p in bot.papers[:3]],
                               settings=RetrievalSettings(), templates=Templates())
    _inert(abstained.text)
    _inert(added_markdown(UploadOutcome(
        bot=bot, kept=[Path(bot.report.files[0].file)],
        refused=[Refusal(f"{payload}.txt", payload, payload) for payload in PAYLOADS])))


# -- in the browser ------------------------------------------------------------------------

HUNT = """() => {
    const found = [];
    for (const el of document.querySelectorAll('*')) {
        for (const attr of el.attributes) {
            if (attr.name.startsWith('on')) found.push(`${el.tagName} ${attr.name}`);
            if (/^\\s*javascript:/i.test(attr.value)) found.push(`${el.tagName} ${attr.name}=js`);
        }
    }
    for (const s of document.querySelectorAll('script')) {
        // Gradio's own config script carries the papers as JSON data; any other script
        // mentioning the payloads came from content.
        if (s.textContent.startsWith('window.gradio_config =')) continue;
        if (/__pwned|alert\\(/.test(s.textContent)) found.push('script from content');
    }
    for (const tag of ['iframe', 'svg[onload]', 'img[src="x"]', 'details[ontoggle]', 'style']) {
        for (const el of document.querySelectorAll(tag)) {
            if (/pwned/.test(el.outerHTML) || el.outerHTML.includes('body { display: none }')) {
                found.push(`${tag} from content`);
            }
        }
    }
    return {found, pwned: window.__pwned === undefined ? null : String(window.__pwned)};
}"""


@pytest.fixture(scope="module")
def hostile_server(serve_for_module, hostile_library):
    return serve_for_module(hostile_library)


def _assert_clean(page, dialogs) -> None:
    state = page.evaluate(HUNT)
    assert state["pwned"] is None, state
    assert not state["found"], state["found"][:10]
    assert not dialogs, dialogs


def test_hostile_papers_and_questions_stay_inert_in_the_browser(browser, hostile_server):
    sync_api = playwright_api()
    dialogs: list[str] = []
    page = new_page(browser, "about:blank")
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(hostile_server)
    page.get_by_role("button", name="Ask").wait_for()
    box = page.get_by_placeholder("Which papers study …?")

    # A question that cites the hostile papers: their cards show titles, authors, abstracts.
    box.fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".message.bot").last
    sync_api.expect(answer).to_contain_text("[5]")
    sync_api.expect(page.get_by_role("button", name="Papers like [1]")).to_be_visible()
    page.mouse.move(300, 300)
    for card in page.locator(".citation-card").all()[:6]:
        card.hover()  # mouse-over handlers, if any had survived
    cards = "\n".join(page.locator(".citation-card").all_inner_texts())
    shown = [p for p in PAYLOADS if p in cards]  # the markup shown as text, not run
    assert len(shown) >= 3, cards[:500]
    assert "\u202e" not in cards and "\x1b" not in cards  # removed when the paper was read
    _assert_clean(page, dialogs)
    shot(page, "hostile-answer")

    # Hostile questions typed by the user: each shows as text (or a plain message).
    for payload in PAYLOADS[:6] + ["x" * 10_000, "\x00\x1b\u202e"]:
        box.fill(payload)
        with events_done(page):  # answered, or refused with a message
            page.get_by_role("button", name="Ask").click()
    _assert_clean(page, dialogs)
    assert "Traceback" not in page.content()

    # Papers like [1]: the similar-papers tab lists hostile titles and authors.
    page.get_by_role("button", name="Papers like [1]").click()
    sync_api.expect(page.get_by_text("Why similar", exact=False).first).to_be_visible()
    pasted = page.get_by_label("…or paste a title or an abstract")
    pasted.fill(PAYLOADS[1] + " graph networks")
    with events_done(page):
        page.get_by_role("button", name="Find similar papers").click()
    page.get_by_label("Choose a paper").click()  # the drop-down of hostile titles
    sync_api.expect(page.get_by_role("option").first).to_be_visible()
    page.keyboard.press("Escape")
    _assert_clean(page, dialogs)
    shot(page, "hostile-similar")

    # The papers tab: a table of every hostile title and author, filtered by a hostile string.
    page.get_by_role("tab", name="Papers", exact=True).click()
    page.get_by_label("Search by title, author, abstract or year").fill("<img")
    page.wait_for_function("""() => {  // the table lists only the papers filtered for
        const rows = {};  // a row's title and authors, by row
        for (const cell of document.querySelectorAll("[role=gridcell][data-testid^=cell-]")) {
            const [, row, column] = cell.dataset.testid.split("-");
            if (column === "0" || column === "1") rows[row] = (rows[row] || "") + cell.innerText;
        }
        const shown = Object.values(rows);
        return shown.length > 0 && shown.every(text => text.includes("<img"));
    }""")
    page.get_by_text("Ingest report").click()
    sync_api.expect(page.get_by_text("How the corpus was read")).to_be_visible()
    _assert_clean(page, dialogs)
    shot(page, "hostile-papers")
    page.close()
