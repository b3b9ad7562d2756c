"""The discovery actions as a person uses them, in Debian's chromium: similar by an aspect
(the choice that re-ranks, a card's "Similar method" and "Similar result"), papers like a set
(the Papers tab's selection, an answer's citations, a bibliography's entries), the What's new
tab, and stars (on cards, on an opened paper, listed and downloaded); at desktop and phone
width, light and dark, with no error in the page's script.

Each flow saves a screenshot under test-artifacts/browser/. Starring writes to the library
folder, so those tests serve a copy of the seed library of their own. Without
/usr/bin/chromium these tests are skipped, unless PAPERCHAT_REQUIRE_BROWSER=1 (as in CI).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot import PaperBot
from bot.surfaces.export import to_bibtex
from tests.helpers.browser import ask, events_done, new_page, playwright_api, shot

sync_api = playwright_api()
expect = sync_api.expect
CHOSEN = "Relational recurrent neural networks"
SYNTHETIC_RETURNS = "Synthetic Returns for Long-Term Credit Assignment"
MOD = "Mixture-of-Depths: Dynamically allocating compute in transformer-based language models"
CREDIT = "Which papers study credit assignment over long delays?"
PHONE = {"width": 390, "height": 844}
CARDS = ".similar-card:not(.similar-card .similar-card)"  # Gradio nests the class twice


class Page:
    """A page of the app whose script errors are kept, to be checked at the end."""

    def __init__(self, browser, url: str, viewport: dict | None = None):
        self.page = new_page(browser, url, viewport)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda message: self.errors.append(message.text)
                     if message.type == "error" else None)
        self.page.get_by_role("button", name="Ask").wait_for()

    def close(self) -> None:
        self.page.close()
        assert self.errors == [], self.errors


@pytest.fixture
def app_page(browser, server):
    opened = Page(browser, server)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def starring_app(seed_library_dir, embedder, serve_for_module, tmp_path_factory):
    """The app over a copy of the seed library, whose stars are its own; and its bot."""
    folder = tmp_path_factory.mktemp("starred") / "library"
    shutil.copytree(seed_library_dir, folder)
    bot = PaperBot.open(folder, embedder=embedder)
    return serve_for_module(bot), bot


@pytest.fixture
def own_server(starring_app):
    """Its address; each test starts without stars, whatever the last one left."""
    url, bot = starring_app
    yield url
    for paper in bot.starred:
        bot.unstar(paper.id)


def open_tab(page, name: str) -> None:
    """To a tab: on a phone, the later ones are behind the tabs' "More tabs" menu."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if not tab.is_visible():
        page.get_by_role("button", name="More tabs").click()
        page.locator(".overflow-dropdown button", has_text=name).first.click()
    else:
        tab.click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute(
        "aria-selected", "true")


def cards(page):
    """The cards of the tab shown (the other tabs keep theirs, hidden)."""
    return page.locator(CARDS).filter(visible=True)


def titles(page) -> list[str]:
    return [text.split("\n")[0] for text in cards(page).all_inner_texts()]


def choose_paper(page, title: str, *, count: int = 5) -> None:
    page.get_by_label("Choose a paper").fill(title[:20])
    page.get_by_role("option", name=title, exact=True).click()
    with events_done(page):
        page.get_by_role("button", name="Find similar papers").click()
    expect(cards(page)).to_have_count(count)


def pick_many(page, label: str, chosen: list[str]) -> None:
    """Choose each title in a multi-selection, by typing part of it."""
    box = page.get_by_label(label)
    for title in chosen:
        box.fill(title[:24])
        page.get_by_role("option", name=title, exact=True).click()
    page.keyboard.press("Escape")  # the list of choices closed


def summary(page, element: str = "#similar-summary"):
    return page.locator(element)


# -- similar by an aspect ----------------------------------------------------------------------

def test_the_aspect_choice_reranks_and_the_cards_quote_sentences_of_that_role(app_page):
    page = app_page.page
    open_tab(page, "Similar papers")
    choose_paper(page, SYNTHETIC_RETURNS)
    whole = titles(page)
    expect(summary(page)).to_contain_text(f"5 papers like {SYNTHETIC_RETURNS}")
    with events_done(page):
        page.locator("#similar-aspect").get_by_text("Method", exact=True).click()
    expect(summary(page)).to_contain_text(f"5 papers with a method like {SYNTHETIC_RETURNS}")
    expect(cards(page).first).to_contain_text("the closest method sentences")
    method = titles(page)
    assert SYNTHETIC_RETURNS not in method and method != whole, (whole, method)
    assert "method sentences" in page.locator(".similar-match").first.get_attribute("title")
    shot(page, "discover-aspect-method")
    # Back to the whole paper: the first list again.
    with events_done(page):
        page.locator("#similar-aspect").get_by_text("Whole paper", exact=True).click()
    expect(summary(page)).to_contain_text(f"5 papers like {SYNTHETIC_RETURNS}")
    expect(cards(page).first).not_to_contain_text("closest method sentences")  # redrawn
    assert titles(page) == whole


def test_similar_result_on_a_card_runs_the_tab_on_that_paper_by_its_results(app_page):
    page = app_page.page
    open_tab(page, "Similar papers")
    choose_paper(page, CHOSEN)
    second = titles(page)[1]
    with events_done(page):
        cards(page).nth(1).get_by_role("button", name="Similar result").click()
    expect(summary(page)).to_contain_text(f"papers with results like {second}")
    expect(cards(page).get_by_text(second, exact=True)).to_have_count(0)
    expect(cards(page).first).to_contain_text("the closest result sentences")
    expect(page.locator("#similar-aspect input[value=result]")).to_be_checked()
    assert page.get_by_label("Choose a paper").input_value() == second
    shot(page, "discover-similar-result")
    third = titles(page)[2]
    with events_done(page):
        cards(page).nth(2).get_by_role("button", name="Similar method").click()
    expect(summary(page)).to_contain_text(f"papers with a method like {third}")
    expect(page.locator("#similar-aspect input[value=method]")).to_be_checked()


# -- papers like a set -------------------------------------------------------------------------

def test_papers_like_a_set_chosen_on_the_papers_tab_exclude_the_set(app_page):
    page = app_page.page
    open_tab(page, "Papers")
    pick_many(page, "Papers for a set", [CHOSEN, SYNTHETIC_RETURNS])
    # Another tab's outputs: waited for by what they show.
    page.get_by_role("button", name="Papers like these").click()
    expect(page.get_by_role("tab", name="Similar papers")).to_have_attribute(
        "aria-selected", "true")
    expect(summary(page)).to_contain_text("5 papers like the set of 2:")
    expect(summary(page)).to_contain_text(CHOSEN)
    expect(cards(page)).to_have_count(5)
    listed = titles(page)
    assert CHOSEN not in listed and SYNTHETIC_RETURNS not in listed, listed
    # Each card's evidence names the member its sentence is from.
    texts = cards(page).all_inner_texts()
    assert all(f"“{CHOSEN}”: “" in text or f"“{SYNTHETIC_RETURNS}”: “" in text
               for text in texts), texts
    shot(page, "discover-set-from-papers")
    # The set re-ranks by an aspect too.
    with events_done(page):
        page.locator("#similar-aspect").get_by_text("Method", exact=True).click()
    expect(summary(page)).to_contain_text("5 papers with a method like the set of 2:")


def test_an_opened_paper_goes_into_the_set(app_page):
    page = app_page.page
    open_tab(page, "Papers")
    page.get_by_label("Search by title, author, abstract or year").fill("mixture of depths")
    page.locator("#papers-table [data-testid='cell-0-0']").click()
    expect(page.locator("#paper-view")).to_be_visible()
    page.get_by_role("button", name="Add to the set").click()
    set_box = page.locator("#papers-set")
    expect(set_box).to_contain_text(MOD)
    page.get_by_role("button", name="Papers like these").click()
    expect(summary(page)).to_contain_text(f"5 papers like {MOD}")
    assert MOD not in titles(page)


def test_papers_like_an_answers_citations(app_page):
    page = app_page.page
    ask(page, CREDIT)
    section = page.locator("#answer-1")
    expect(section).to_be_visible()
    cards_of_answer = section.locator(".citation-card:not(.citation-card .citation-card)")
    cited = [text.split("\n")[0].split("] ", 1)[1] for text in cards_of_answer.all_inner_texts()]
    assert len(cited) >= 2, cited
    section.get_by_role("button", name="Papers like these").click()
    expect(page.get_by_role("tab", name="Similar papers")).to_have_attribute(
        "aria-selected", "true")
    expect(summary(page)).to_contain_text(f"papers like the set of {len(cited)}:")
    expect(cards(page)).to_have_count(5)
    listed = titles(page)
    assert listed and not set(listed) & set(cited), (listed, cited)
    shot(page, "discover-set-from-answer")


def test_a_bibliographys_entries_are_the_set_and_those_missing_are_named(app_page, seed_bot,
                                                                         tmp_path):
    page = app_page.page
    members = [seed_bot.get(CHOSEN), seed_bot.get(SYNTHETIC_RETURNS)]
    stranger = ("@article{nobody2020,\n  title = {A Paper This Library Has Never Seen "
                "<img src=x onerror=window.pwned=1>},\n  author = {Nobody, Ann},\n"
                "  year = {2020}\n}\n")
    bib = tmp_path / "reading-list.bib"
    bib.write_text(to_bibtex(members) + "\n" + stranger, encoding="utf-8")
    open_tab(page, "Similar papers")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Use a bibliography's papers").click()
    chooser.value.set_files(str(bib))
    expect(summary(page)).to_contain_text("papers like the set of 2:")
    told = page.get_by_text("1 of the file's entries are not in the library", exact=False)
    expect(told).to_be_visible()
    expect(told).to_contain_text("Never Seen <img src=x")  # the file's words, as text
    assert page.evaluate("window.pwned") is None
    expect(page.locator("#similar-set")).to_contain_text(CHOSEN)
    assert not {CHOSEN, SYNTHETIC_RETURNS} & set(titles(page))
    shot(page, "discover-set-from-bib", full_page=False)


# -- what's new, and stars ---------------------------------------------------------------------

def test_whats_new_is_newest_first_until_a_paper_is_starred(browser, own_server):
    opened = Page(browser, own_server)
    page = opened.page
    open_tab(page, "What's new")
    since = page.locator("#new-since textarea, #new-since input").first
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", since.input_value())
    expect(page.locator("#starred-list")).to_contain_text("No starred papers yet")
    with events_done(page):
        page.get_by_role("button", name="Show what's new").click()
    new_summary = summary(page, "#new-summary")
    # The library was built today: all its papers are new; none starred, so newest first.
    expect(new_summary).to_contain_text("20 papers added or dated since")
    expect(new_summary).to_contain_text("Newest first; star papers to rank by your interests")
    expect(cards(page).first).to_contain_text("added ")
    shot(page, "discover-new-newest")
    # A star on a card: the list of stars follows, and downloads.
    first = titles(page)[0]
    cards(page).first.get_by_role("button", name="☆ Star").click()
    expect(cards(page).first.get_by_role("button", name="★ Starred")).to_be_visible()
    expect(page.locator("#starred-list")).to_contain_text(f"Starred: 1 paper — {first}")
    with page.expect_download() as bibtex:
        page.get_by_role("button", name="Starred papers as BibTeX").click()
    assert first.split(":")[0] in Path(bibtex.value.path()).read_text()
    # Unstarred, and starred again, from its card.
    cards(page).first.get_by_role("button", name="★ Starred").click()
    expect(page.locator("#starred-list")).to_contain_text("No starred papers yet")
    cards(page).first.get_by_role("button", name="☆ Star").click()
    expect(page.locator("#starred-list")).to_contain_text(f"Starred: 1 paper — {first}")
    with events_done(page):
        page.get_by_role("button", name="Show what's new").click()
    expect(new_summary).to_contain_text("closest first to your 1 starred paper")
    expect(cards(page).first).to_contain_text("Why similar")
    expect(cards(page).first.locator(".similar-match")).to_be_visible()
    assert first not in titles(page)  # the starred paper is never among those it ranks
    shot(page, "discover-new-by-stars")
    # A paper named instead of the stars.
    pick_many(page, "Closest first to these papers (none chosen: your starred papers)",
              [CHOSEN])
    with events_done(page):
        page.get_by_role("button", name="Show what's new").click()
    expect(new_summary).to_contain_text("closest first to the 1 chosen paper")
    # A date that is none: one line, the cards left as they were.
    since.fill("last week")
    page.get_by_role("button", name="Show what's new").click()
    expect(page.get_by_text("YYYY-MM-DD", exact=False).last).to_be_visible()
    assert "Traceback" not in page.content()
    opened.close()


def test_a_paper_opened_on_the_papers_tab_is_starred_there(browser, own_server):
    opened = Page(browser, own_server)
    page = opened.page
    open_tab(page, "Papers")
    page.get_by_label("Search by title, author, abstract or year").fill("mixture of depths")
    page.locator("#papers-table [data-testid='cell-0-0']").click()
    star = page.locator("#paper-star")
    expect(star).to_have_text("☆ Star")
    star.click()
    expect(star).to_have_text("★ Starred")
    shot(page, "discover-paper-starred")
    open_tab(page, "What's new")
    expect(page.locator("#starred-list")).to_contain_text(f"Starred: 1 paper — {MOD}")
    # Kept in the library folder: a new page shows it.
    again = Page(browser, own_server)
    open_tab(again.page, "What's new")
    expect(again.page.locator("#starred-list")).to_contain_text(MOD)
    again.close()
    open_tab(page, "Papers")
    star.click()
    expect(star).to_have_text("☆ Star")
    opened.close()


# -- phone and desktop, light and dark ---------------------------------------------------------

@pytest.mark.parametrize(("theme", "viewport"), [("light", PHONE), ("dark", PHONE),
                                                 ("dark", None)])
def test_the_discovery_tabs_read_well_at_phone_width_in_both_themes(browser, own_server,
                                                                    theme, viewport):
    opened = Page(browser, f"{own_server}?__theme={theme}", viewport)
    page = opened.page
    width = (viewport or {"width": 1280})["width"]
    dark = page.evaluate("document.body.classList.contains('dark') || "
                         "document.documentElement.classList.contains('dark')")
    assert dark == (theme == "dark")
    name = f"{'phone' if viewport else 'desktop'}-{theme}"
    open_tab(page, "Similar papers")
    choose_paper(page, CHOSEN)
    with events_done(page):
        page.locator("#similar-aspect").get_by_text("Method", exact=True).click()
    expect(summary(page)).to_contain_text("with a method like")
    # A card's actions fit: each within the card, nothing wider than the screen.
    card_box = cards(page).first.bounding_box()
    for button in cards(page).first.get_by_role("button").all():
        box = button.bounding_box()
        assert box["x"] >= card_box["x"] - 1
        assert box["x"] + box["width"] <= card_box["x"] + card_box["width"] + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    shot(page, f"discover-similar-{name}")
    open_tab(page, "What's new")
    with events_done(page):
        page.get_by_role("button", name="Show what's new").click()
    expect(cards(page)).to_have_count(20)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    shot(page, f"discover-new-{name}")
    opened.close()
