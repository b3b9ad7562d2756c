"""The web chat as a person uses it: Debian's chromium, driven by Playwright, clicking.

Each flow saves a screenshot under test-artifacts/browser/. Without /usr/bin/chromium these
tests are skipped, unless PAPERCHAT_REQUIRE_BROWSER=1 (as in CI), where that is a failure.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from tests.helpers.browser import (
    ask,
    new_page,
    playwright_api,
    record_texts,
    shot,
    wait_until_opaque,
)

sync_api = playwright_api()
QUESTION = "Which papers study credit assignment over long delays?"
# The Similar papers tab's cards (Gradio sets a group's class on two nested elements).
SIMILAR_CARDS = ".similar-card:not(.similar-card .similar-card)"


@pytest.fixture
def page(browser, server):
    page = new_page(browser, server)
    page.get_by_role("button", name="Ask").wait_for()
    yield page
    page.close()


def test_page_has_a_title_and_an_empty_state(page):
    assert page.title() == "paperchat"
    sync_api.expect(page.get_by_text(re.compile(r"Ask the library of \d+ papers"))).to_be_visible()
    sync_api.expect(page.get_by_text("Ask about the papers in the library")).to_be_visible()
    shot(page, "start")
    page.get_by_text("Filters").click()
    assert page.get_by_label("To year").input_value() == "Any"  # an empty filter reads "Any"


def test_the_browser_gets_paperchats_own_favicon(page, server):
    from bot.surfaces.web import FAVICON

    response = page.request.get(server.rstrip("/") + "/favicon.ico")
    assert response.ok and response.headers["content-type"] == "image/png"
    assert response.body() == FAVICON.read_bytes()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_an_answer_reads_well_in_both_themes_and_at_phone_width(browser, server, theme):
    page = new_page(browser, f"{server}?__theme={theme}", {"width": 390, "height": 844})
    ask(page, QUESTION)
    sync_api.expect(page.locator(".message.bot, [data-testid='bot']").last).to_contain_text("[1]")
    dark = page.evaluate("document.body.classList.contains('dark') || "
                         "document.documentElement.classList.contains('dark')")
    assert dark == (theme == "dark")
    # The marked sentence keeps the theme's text colour (black on yellow is unreadable in dark).
    colours = page.locator("mark").first.evaluate(
        "m => [getComputedStyle(m).color, getComputedStyle(m.parentElement).color]")
    assert colours[0] == colours[1]
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(page, f"phone-{theme}")
    page.close()


def test_a_question_gets_an_answer_with_numbered_citations(page):
    ask(page, QUESTION)
    answer = page.locator(".message.bot, [data-testid='bot']").last
    sync_api.expect(answer).to_contain_text("[1]")
    sync_api.expect(answer).to_contain_text("Synthetic Returns for Long-Term Credit Assignment")
    # The card shows the whole abstract with the supporting sentence marked.
    marked = page.locator("mark").first
    sync_api.expect(marked).to_contain_text("Since the earliest days of reinforcement learning")
    sync_api.expect(page.get_by_text("We propose state-associative (SA) learning", exact=False)
                    ).to_be_visible()
    shot(page, "answer")


def test_the_answer_streams_in_after_an_immediate_searching_note(page):
    record_texts(page, ".message.bot")  # every text the chat shows while the answer comes in
    ask(page, QUESTION)
    sync_api.expect(page.locator(".message.bot").last).to_contain_text("[1]")
    seen = page.evaluate("window.seen")
    assert any("Searching the library" in text for text in seen)
    assert "Searching the library" not in page.locator(".message.bot").last.inner_text()


def test_an_off_topic_question_is_refused_plainly(page):
    ask(page, "What is the best recipe for chocolate cake?")
    sync_api.expect(page.get_by_text("No paper cited", exact=False)).to_be_visible()
    shot(page, "abstained")


def test_a_year_filter_scopes_the_answer(page):
    page.get_by_text("Filters").click()
    page.get_by_label("From year").click()
    page.get_by_role("option", name="2022", exact=True).click()
    ask(page, QUESTION)
    answer = page.locator(".message.bot, [data-testid='bot']").last
    sync_api.expect(answer).to_contain_text(re.compile(r"\(20\d\d"))
    # The 2021 paper that leads the unfiltered answer is gone: every paper named is 2022 or later.
    sync_api.expect(page.get_by_text("Synthetic Returns for Long-Term Credit Assignment")
                    ).to_have_count(0)
    years = [int(y) for y in re.findall(r"\((20\d\d)", answer.inner_text())]
    assert years and min(years) >= 2022, years
    shot(page, "filtered")


def test_cited_papers_download_as_bibtex_csl_json_and_csv(page):
    import json

    import bibtexparser

    ask(page, QUESTION)
    with page.expect_download() as bibtex:
        page.get_by_role("button", name="Cited papers as BibTeX").click()
    entries = bibtexparser.parse_string(Path(bibtex.value.path()).read_text()).entries
    assert [e.fields_dict["title"].value for e in entries][0] == (
        "{Synthetic Returns for Long-Term Credit Assignment}")
    with page.expect_download() as table:
        page.get_by_role("button", name="Cited papers as CSV").click()
    rows = Path(table.value.path()).read_text().splitlines()
    assert rows[0].startswith("id,title") and len(rows) - 1 == len(entries)
    with page.expect_download() as csl:
        page.get_by_role("button", name="Cited papers as CSL-JSON").click()
    items = json.loads(Path(csl.value.path()).read_text())
    assert [i["title"] for i in items][0] == "Synthetic Returns for Long-Term Credit Assignment"
    assert len(items) == len(entries)
    shot(page, "downloads")


def test_a_cited_paper_leads_to_papers_like_it(page):
    ask(page, QUESTION)
    page.get_by_role("button", name="Papers like [1]").click()
    cards = page.locator(SIMILAR_CARDS)
    sync_api.expect(cards).to_have_count(5)
    sync_api.expect(cards.first).to_contain_text("Why similar")
    sync_api.expect(page.get_by_role("tab", name="Similar papers")).to_have_attribute(
        "aria-selected", "true")
    sync_api.expect(page.get_by_text(
        "5 papers like Synthetic Returns for Long-Term Credit Assignment", exact=False)
                    ).to_be_visible()
    # The paper itself is never among its neighbours.
    titles = [text.split("\n")[0] for text in cards.all_inner_texts()]
    assert "Synthetic Returns for Long-Term Credit Assignment" not in titles, titles
    shot(page, "similar-from-card")


def test_similar_papers_tab_finds_neighbours_of_a_chosen_paper(page):
    page.get_by_role("tab", name="Similar papers").click()
    pasted = page.get_by_label("…or paste a title or an abstract")
    pasted.fill("Relational recurrent neural networks")
    page.get_by_role("button", name="Find similar papers").click()
    cards = page.locator(SIMILAR_CARDS)
    sync_api.expect(cards).to_have_count(5)
    titles = [text.split("\n")[0] for text in cards.all_inner_texts()]
    assert "Relational recurrent neural networks" not in titles, titles
    shot(page, "similar")


def test_a_bad_question_shows_a_message_not_a_traceback(page):
    ask(page, QUESTION)
    sync_api.expect(page.locator(".message.bot, [data-testid='bot']").last).to_contain_text("[1]")
    ask(page, "   ")
    sync_api.expect(page.get_by_text("the question is empty", exact=False).first).to_be_visible()
    wait_until_opaque(page, ".toast-body")  # the message fades in
    shot(page, "error", full_page=False)  # the message is pinned to the window
    assert "Traceback" not in page.content()
    # A message, and the earlier answer stays where it was: no error state over the chat.
    sync_api.expect(page.get_by_text("Error", exact=True)).to_have_count(0)
    sync_api.expect(page.get_by_text("Synthetic Returns for Long-Term Credit Assignment").first
                    ).to_be_visible()


def test_each_citation_marker_leads_to_its_card(page):
    ask(page, QUESTION)
    answer = page.locator(".message.bot, [data-testid='bot']").last
    marker = answer.get_by_role("link", name="[2]")
    sync_api.expect(marker).to_be_visible()
    card = page.locator("#cited-1-2")  # the first answer's card 2
    sync_api.expect(card).to_contain_text("[2]")
    page.evaluate("window.scrollTo(0, 0)")
    pages_before = len(page.context.pages)
    marker.click()
    # The card scrolls into view and flashes; no new tab or navigation.
    sync_api.expect(card).to_have_class(re.compile(r"\bflash\b"))
    sync_api.expect(card).to_be_in_viewport()
    assert len(page.context.pages) == pages_before
    shot(page, "citation-link", full_page=False)


@pytest.fixture
def own_server(serve, library_copy, embedder):
    """A server over a private library, for flows that change it."""
    from bot import PaperBot

    return serve(PaperBot.open(library_copy, embedder=embedder))


def test_uploaded_files_join_the_library_with_their_report(browser, own_server, tmp_path):
    listing = tmp_path / "my-papers.txt"
    listing.write_text(
        "Abstract:Juggling robots learn to catch three balls with tactile feedback.\n"
        "Abstract:\n"
        "Abstract:Protein folding predicted from sequence by graph neural networks.\n",
        encoding="utf-8")
    page = new_page(browser, own_server)
    sync_api.expect(page.get_by_text("Ask the library of 68 papers")).to_be_visible()
    page.get_by_role("tab", name="Add papers").click()
    page.locator("input[type=file]").set_input_files(str(listing))
    record_texts(page, ".progress-text, .progress-level")  # Gradio's progress indicators
    page.get_by_role("button", name="Add to the library").click()
    report = page.locator("#added-report")
    sync_api.expect(report).to_contain_text("2 new papers", timeout=60_000)
    sync_api.expect(report).to_contain_text("my-papers.txt")
    sync_api.expect(report).to_contain_text("line 2")  # the empty record, and why
    sync_api.expect(page.get_by_text("Ask the library of 70 papers")).to_be_visible()
    # A progress bar showed while the files were read and embedded.
    progress = " ".join(page.evaluate("window.seen"))
    assert "Reading the files" in progress or "embedding" in progress, progress
    shot(page, "added")
    # The new papers answer questions at once.
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Which papers teach robots to juggle?")
    sync_api.expect(page.locator(".message.bot").last).to_contain_text("Juggling robots")
    shot(page, "answer-from-upload")
    page.close()


def test_an_unreadable_upload_is_a_message_and_changes_nothing(browser, own_server, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("just some notes\nnothing like a paper listing\n", encoding="utf-8")
    page = new_page(browser, own_server)
    page.get_by_role("tab", name="Add papers").click()
    page.locator("input[type=file]").set_input_files(str(junk))
    page.get_by_role("button", name="Add to the library").click()
    message = page.locator("#added-report")
    sync_api.expect(message).to_contain_text("none of the formats paperchat reads")
    shot(page, "upload-refused")
    text = message.inner_text()
    assert "notes.txt" in text and str(tmp_path) not in text and "--layout" not in text
    sync_api.expect(page.get_by_text("Ask the library of 68 papers")).to_be_visible()
    page.close()


WORDS = ("graph kernel robot sensor protein sequence token agent reward policy gradient "
         "camera depth lidar speech audio image video molecule enzyme climate ocean market "
         "price traffic route query index cache memory circuit qubit photon lattice tensor "
         "neuron spike cortex gene cell tissue drug trial cohort").split()


def upload(page, path) -> None:
    page.get_by_role("tab", name="Add papers").click()
    page.locator("input[type=file]").set_input_files(str(path))


def test_two_people_adding_files_at_once_both_get_their_papers(browser, own_server, tmp_path):
    """Same file name, other papers, both sent while the other is still being embedded:
    taken in turn, neither refused nor deleting the other's file."""
    rng = random.Random(7)  # abstracts that share no run of words: none merge
    pages = []
    for n, topic in enumerate(["juggling robots", "protein folding"]):
        folder = tmp_path / f"user{n}"
        folder.mkdir()
        (folder / "papers.txt").write_text("".join(
            f"Abstract:{' '.join(rng.sample(WORDS, 12))} in {topic}.\n" for _ in range(150)),
            encoding="utf-8")
        page = new_page(browser, own_server)
        upload(page, folder / "papers.txt")
        pages.append(page)
    for page in pages:
        page.get_by_role("button", name="Add to the library").click()
    for page in pages:
        sync_api.expect(page.locator("#added-report")).to_contain_text("150 new papers",
                                                                       timeout=120_000)
    shot(pages[1], "added-at-once")
    reports = [page.locator("#added-report").inner_text() for page in pages]
    assert sorted("→ 368" in text for text in reports) == [False, True], reports
    for page in pages:
        page.close()


@pytest.fixture
def small_upload_server(serve, library_copy, embedder):
    """A server that takes files of up to 2 KB."""
    from bot import PaperBot
    from bot.settings import get_settings

    settings = get_settings(server={"max_upload_mb": 0.002})
    return serve(PaperBot.open(library_copy, embedder=embedder, settings=settings))


def test_a_file_over_the_upload_limit_is_refused_and_the_limit_is_stated(
        browser, small_upload_server, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("Abstract:" + "word " * 1000 + "\n", encoding="utf-8")
    page = new_page(browser, small_upload_server)
    page.get_by_role("tab", name="Add papers").click()
    sync_api.expect(page.get_by_text("up to 0.002 MB a file", exact=False)).to_be_visible()
    page.locator("input[type=file]").set_input_files(str(big))
    page.get_by_role("button", name="Add to the library").click()
    sync_api.expect(page.get_by_text("big.txt", exact=False).last).to_be_visible()
    shot(page, "upload-too-large")
    page.reload()
    sync_api.expect(page.get_by_text("Ask the library of 68 papers")).to_be_visible()
    page.close()


def test_a_follow_up_is_answered_among_the_previous_answers_papers(page):
    ask(page, "Which papers train agents from human demonstrations?")
    answers = page.locator(".message.bot")
    sync_api.expect(answers.last).to_contain_text("[5]")
    ask(page, "and which of those use imitation learning?")
    sync_api.expect(answers).to_have_count(2)
    follow_up = answers.last
    sync_api.expect(follow_up).to_contain_text("Read as a follow-up: among the 5 papers of the "
                                               "previous answer")
    sync_api.expect(follow_up).to_contain_text("Creating Multimodal Interactive Agents")
    assert "Imitation Game" not in follow_up.inner_text()
    shot(page, "follow-up")
