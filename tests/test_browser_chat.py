"""The Chat tab as a person uses it, in Debian's chromium: each answer's markers lead to its
own cards, however many questions came after it; the filters in force show as chips by the
question box; Clear empties the cards too; "Copy answer" gives clean text; cards show LaTeX
markup as the words it marks; the example questions are natural and answered.

Each flow saves a screenshot under test-artifacts/browser/. Without /usr/bin/chromium these
tests are skipped, unless PAPERCHAT_REQUIRE_BROWSER=1 (as in CI), where that is a failure.
"""

from __future__ import annotations

import re

import pytest

from tests.helpers.browser import ask, new_page, playwright_api, shot

sync_api = playwright_api()
expect = sync_api.expect
BOT = ".message.bot"
CREDIT = "Which papers study credit assignment over long delays?"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(browser, server):
    page = new_page(browser, server)
    page.get_by_role("button", name="Ask").wait_for()
    yield page
    page.close()


def answered(page, question: str, count: int):
    """Ask, and wait until the conversation holds `count` answers, the last one complete."""
    ask(page, question)
    answers = page.locator(BOT)
    expect(answers).to_have_count(count)
    expect(answers.last).not_to_contain_text("Searching the library")
    expect(page.locator(f"#answer-{count}")).to_be_visible()
    return answers.last


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_marker_of_an_earlier_answer_leads_to_that_answers_own_card(page):
    answered(page, CREDIT, 1)
    # The card its [2] leads to, while its section is the newest: "[2] Title" first.
    second_card = page.locator("#cited-1-2").inner_text().splitlines()[0]
    second_title = second_card.removeprefix("[2] ")
    for n, question in enumerate(["Which papers study continual learning?",
                                  "Which papers study relational reasoning?",
                                  "Which papers study language models?"], start=2):
        answered(page, question, n)
    # Newest first; the earlier sections are folded, their cards out of sight.
    headings = page.locator(".answer-cards > .label-wrap").all_inner_texts()
    assert [h.split(":")[0] for h in headings] == ["Answer 4", "Answer 3", "Answer 2",
                                                   "Answer 1"]
    card = page.locator("#cited-1-2")
    expect(card).to_be_hidden()
    page.evaluate("window.scrollTo(0, 0)")
    pages_before = len(page.context.pages)
    page.locator(BOT).first.get_by_role("link", name="[2]").click()
    # Its section opens, and its card 2 (not the newest answer's) scrolls into view, flashing.
    expect(card).to_be_visible()
    expect(card).to_contain_text(second_card)
    expect(card).to_have_class(re.compile(r"\bflash\b"))
    expect(card).to_be_in_viewport()
    assert len(page.context.pages) == pages_before
    assert page.locator("#cited-4-2").inner_text() != card.inner_text()
    shot(page, "chat-earlier-marker", full_page=False)
    # The newest answer's markers lead to its own cards still.
    page.locator(BOT).last.get_by_role("link", name="[1]").click()
    expect(page.locator("#cited-4-1")).to_be_in_viewport()
    # Papers like [n] of the earlier answer: papers like its own paper.
    page.locator("#answer-1").get_by_role("button", name="Papers like [2]").click()
    expect(page.get_by_role("tab", name="Similar papers")).to_have_attribute(
        "aria-selected", "true")
    # The Similar papers tab's cards (Gradio sets a group's class on two nested elements).
    cards = page.locator(".similar-card:not(.similar-card .similar-card)")
    expect(cards.first).to_contain_text("Why similar")
    listed = [text.split("\n")[0] for text in cards.all_inner_texts()]
    assert listed and not any(second_title in item for item in listed)


def test_filters_show_as_chips_that_remove_them_and_the_answer_names_them(page):
    page.get_by_text("Filters", exact=True).click()
    choose(page, "From year", "2023")
    page.get_by_text("Filters", exact=True).click()  # the panel closed again
    expect(page.get_by_label("From year")).to_be_hidden()
    chip = page.get_by_role("button", name="From 2023 ✕")
    expect(chip).to_be_visible()
    # Asked under a filter, the abstention says what was searched and that it may be why.
    abstained = answered(page, CREDIT, 1)
    expect(abstained).to_contain_text("Among papers from 2023 on.")
    expect(abstained).to_contain_text("The library holds no paper that answers this question.")
    expect(abstained).to_contain_text("The filters may be why: the library was searched only "
                                      "among papers from 2023 on.")
    expect(page.locator("#answer-1")).to_contain_text(
        "No paper cited: nothing among papers from 2023 on answers this question.")
    shot(page, "chat-filter-abstained")
    # A click on the chip removes the filter: the same question is answered.
    chip.click()
    expect(chip).to_have_count(0)
    page.get_by_text("Filters", exact=True).click()
    expect(page.get_by_label("From year")).to_have_value("Any")
    answer = answered(page, CREDIT, 2)
    expect(answer).to_contain_text("Synthetic Returns for Long-Term Credit Assignment")
    expect(answer).not_to_contain_text("Among papers")
    # An author filter: its chip, and the answer names it.
    page.get_by_label("Author contains").fill("Abramson")
    author_chip = page.get_by_role("button", name="Author: Abramson ✕")
    expect(author_chip).to_be_visible()
    by_author = answered(page, "Which papers train agents from human demonstrations?", 3)
    expect(by_author).to_contain_text("Among papers by authors matching “Abramson”.")
    expect(by_author).to_contain_text("Multimodal Interactive Agents")
    shot(page, "chat-filter-chips")
    author_chip.click()
    expect(page.get_by_label("Author contains")).to_have_value("")
    expect(author_chip).to_have_count(0)


def test_clear_empties_the_chat_its_cards_and_its_downloads(page):
    answered(page, CREDIT, 1)
    answered(page, "Which papers study relational reasoning?", 2)
    expect(page.locator(".citation-card").first).to_be_visible()
    expect(page.get_by_role("button", name="Cited papers as BibTeX").first).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    expect(page.locator(BOT)).to_have_count(0)
    expect(page.locator(".citation-card")).to_have_count(0)
    expect(page.locator(".answer-cards")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Cited papers as"))).to_have_count(0)
    shot(page, "chat-cleared")
    # A new conversation: its first answer is answer 1 again, its markers lead to its cards.
    answered(page, CREDIT, 1)
    expect(page.locator(".answer-cards")).to_have_count(1)
    expect(page.locator("#cited-1-1")).to_contain_text("Synthetic Returns")


def test_copy_answer_gives_clean_text_with_the_references(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
    page = context.new_page()
    page.goto(server)
    answered(page, CREDIT, 1)
    # The message's own copy button (its Markdown, links and escapes) is not offered.
    expect(page.locator(BOT).first.get_by_role("button", name="Copy message")).to_have_count(0)
    copy = page.locator("#answer-1").get_by_role("button", name="Copy answer")
    copy.click()
    expect(copy).to_have_class(re.compile(r"\bcopied\b"))
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("These papers in the library address it:")
    assert "[1]" in copied and "](#" not in copied and "\\" not in copied
    assert "**" not in copied and "cited-" not in copied
    body, references = copied.split("\n\nReferences\n")
    assert "- Synthetic Returns for Long-Term Credit Assignment (2021) — “" in body
    assert references.startswith("[1] Synthetic Returns for Long-Term Credit Assignment. "
                                 "David Raposo, Sam Ritter, Adam Santoro et al. 2021.")
    shot(page, "chat-copied", full_page=False)
    context.close()


def test_cards_show_latex_markup_as_the_words_it_marks(page):
    ask(page, "Which papers study relational memory cores?")
    card = page.locator("[id^=cited-]", has_text="Relational recurrent neural networks")
    expect(card).to_contain_text("a new memory module – a Relational Memory Core (RMC)")
    cards = "\n".join(page.locator(".citation-card").all_inner_texts())
    assert "\\textit" not in cards and "textit{" not in cards
    shot(page, "chat-latex-as-written")
    # An address in an abstract, or in an answer's quote of it, is text, not a link the
    # paper made.
    answered(page, "Which papers train agents from human demonstrations?", 2)
    video = page.locator("[id^=cited-]", has_text="youtu.be").first
    expect(video).to_be_visible()
    assert video.locator("a[href*='youtu']").count() == 0
    expect(page.locator(BOT).last).to_contain_text("https://youtu.be/v_Z9F2_eKk4")
    assert page.locator(BOT).last.locator("a[href*='youtu']").count() == 0


def test_example_questions_read_naturally_and_are_answered(page, seed_bot):
    from bot.surfaces.web.examples import example_questions

    questions = example_questions(seed_bot.papers)
    for question in questions:
        assert re.match(r"^(Which|What) [\w\s-]+\?$", question), question
        assert "an investigation" not in question and "What is known about an" not in question
    expect(page.get_by_text(f"e.g. {questions[0]}", exact=False)).to_be_visible()
    for n, question in enumerate(questions, start=1):
        page.get_by_role("button", name=question).click()  # it fills the question box
        expect(page.get_by_placeholder("Which papers study …?")).to_have_value(question)
        page.get_by_role("button", name="Ask").click()
        answers = page.locator(BOT)
        expect(answers).to_have_count(n)
        expect(answers.last).to_contain_text("[1]")
        expect(answers.last).not_to_contain_text("holds no paper")
    shot(page, "chat-examples")


@pytest.mark.parametrize(("theme", "viewport"), [("light", PHONE), ("dark", PHONE),
                                                 ("dark", None)])
def test_two_answers_with_chips_read_well_in_both_themes_and_at_phone_width(
        browser, server, theme, viewport):
    page = new_page(browser, f"{server}?__theme={theme}", viewport)
    page.get_by_text("Filters", exact=True).click()
    choose(page, "From year", "2019")
    page.get_by_text("Filters", exact=True).click()
    answered(page, CREDIT, 1)
    answered(page, "Which papers study relational reasoning?", 2)
    expect(page.get_by_role("button", name="From 2019 ✕")).to_be_visible()
    dark = page.evaluate("document.body.classList.contains('dark') || "
                         "document.documentElement.classList.contains('dark')")
    assert dark == (theme == "dark")
    width = (viewport or {"width": 1280})["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    # The chip sits in a row of its own width, not stretched across the page.
    chip_width = page.get_by_role("button", name="From 2019 ✕").bounding_box()["width"]
    assert chip_width < width / 2
    shot(page, f"chat-{'phone' if viewport else 'desktop'}-{theme}")
    page.close()
