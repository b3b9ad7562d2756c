"""The Similar papers tab as a person uses it: a paper chosen or text pasted, the cards it
gives (abstract, why similar, a match with its meaning in a tooltip), "Papers like this" on a
card, an export built from cards and downloaded, at desktop and phone width, light and dark.

Each flow saves a screenshot under test-artifacts/browser/. Without /usr/bin/chromium these
tests are skipped, unless PAPERCHAT_REQUIRE_BROWSER=1 (as in CI), where that is a failure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers.browser import events_done, new_page, playwright_api, shot

sync_api = playwright_api()
CHOSEN = "Relational recurrent neural networks"
PHONE = {"width": 390, "height": 844}


def open_similar_tab(browser, url: str, viewport: dict | None = None):
    page = new_page(browser, url, viewport)
    page.get_by_role("tab", name="Similar papers").click()
    return page


def choose(page, title: str, *, count: int = 5) -> None:
    """Choose a paper in the drop-down by typing part of its title, find its likes, and wait
    for their cards (drawn after the search, by a render of their own)."""
    page.get_by_label("Choose a paper").fill(title[:20])
    page.get_by_role("option", name=title, exact=True).click()
    with events_done(page):
        page.get_by_role("button", name="Find similar papers").click()
    sync_api.expect(cards(page)).to_have_count(count)


def cards(page):
    """The cards shown (Gradio sets a group's class on two nested elements: the outer one)."""
    return page.locator(".similar-card:not(.similar-card .similar-card)")


@pytest.fixture
def page(browser, server):
    page = open_similar_tab(browser, server)
    yield page
    page.close()


def test_a_chosen_paper_gets_cards_with_abstract_evidence_and_a_match(page):
    choose(page, CHOSEN)
    sync_api.expect(cards(page)).to_have_count(5)
    sync_api.expect(page.get_by_text(f"5 papers like {CHOSEN}", exact=False)).to_be_visible()
    first = cards(page).first
    # An opening of the abstract, why it is similar (a sentence of each), and a links line.
    sync_api.expect(first).to_contain_text("Why similar")
    sync_api.expect(first).to_contain_text("this paper: “")
    sync_api.expect(first).to_contain_text("the chosen paper: “")
    texts = cards(page).all_inner_texts()
    assert not any(text.startswith(CHOSEN + "\n") for text in texts)  # never itself
    assert all(len(text) > 300 for text in texts)  # each shows an abstract's opening
    # The match reads 0-100, its meaning in the tooltip.
    badge = page.locator(".similar-match").first
    sync_api.expect(badge).to_have_text(re.compile(r"match \d{1,3}/100 [▰▱]{10}"))
    assert "cosine similarity" in badge.get_attribute("title")
    matches = [int(m) for m in re.findall(r"match (\d+)/100 ", "\n".join(texts))]
    assert len(matches) == 5 and all(40 <= m <= 100 for m in matches), matches
    shot(page, "similar-cards")


def test_papers_like_this_on_a_card_runs_the_tab_on_that_paper(page):
    choose(page, CHOSEN)
    sync_api.expect(cards(page)).to_have_count(5)
    second = cards(page).nth(1).inner_text().split("\n")[0]
    with events_done(page):
        cards(page).nth(1).get_by_role("button", name="Papers like this").click()
    sync_api.expect(page.get_by_text(f"papers like {second}", exact=False)).to_be_visible()
    # The cards follow the summary: once the paper's own card is gone.
    sync_api.expect(cards(page).get_by_text(second, exact=True)).to_have_count(0)
    sync_api.expect(cards(page)).to_have_count(5)
    titles = [text.split("\n")[0] for text in cards(page).all_inner_texts()]
    assert second not in titles and CHOSEN in titles, titles  # the first paper is like it
    assert page.get_by_label("Choose a paper").input_value() == second
    shot(page, "similar-papers-like-this")


def test_two_cards_added_to_the_export_download_as_bibtex_csl_json_and_csv(page):
    import bibtexparser

    choose(page, CHOSEN)
    titles = [text.split("\n")[0] for text in cards(page).all_inner_texts()[:2]]
    for added, _ in enumerate(titles, start=1):  # "Add to export" turns "Remove from export"
        page.get_by_role("button", name="Add to export").first.click()
        sync_api.expect(page.get_by_role("button", name="Remove from export")
                        ).to_have_count(added)
    sync_api.expect(page.get_by_text("Export: 2 papers", exact=False)).to_be_visible()
    with page.expect_download() as bibtex:
        page.get_by_role("button", name="Selected papers as BibTeX").click()
    entries = bibtexparser.parse_string(Path(bibtex.value.path()).read_text()).entries
    assert [e.fields_dict["title"].value.strip("{}") for e in entries] == titles
    with page.expect_download() as csl:
        page.get_by_role("button", name="Selected papers as CSL-JSON").click()
    assert [i["title"] for i in json.loads(Path(csl.value.path()).read_text())] == titles
    with page.expect_download() as table:
        page.get_by_role("button", name="Selected papers as CSV").click()
    assert len(Path(table.value.path()).read_text().splitlines()) == 1 + 2
    shot(page, "similar-export")
    # The export outlives a new search, and is cleared on request.
    fourth = cards(page).nth(3).inner_text().split("\n")[0]
    with events_done(page):
        cards(page).nth(3).get_by_role("button", name="Papers like this").click()
    sync_api.expect(cards(page).get_by_text(fourth, exact=True)).to_have_count(0)
    sync_api.expect(page.get_by_text("Export: 2 papers", exact=False)).to_be_visible()
    page.get_by_role("button", name="Clear the export").click()
    sync_api.expect(page.get_by_text("Export: ", exact=False)).to_have_count(0)
    sync_api.expect(page.get_by_role("button", name="Selected papers as CSV")).to_be_hidden()
    sync_api.expect(page.get_by_role("button", name="Remove from export")).to_have_count(0)


def test_pasted_text_is_compared_sentence_by_sentence(page):
    page.get_by_label("…or paste a title or an abstract").fill(
        "A family of multimodal models. They reason over a long context of text, images, "
        "audio and video, up to millions of tokens.")
    with events_done(page):
        page.get_by_role("button", name="Find similar papers").click()
    sync_api.expect(page.get_by_text("5 papers like your text", exact=False)).to_be_visible()
    sync_api.expect(cards(page)).to_have_count(5)
    sync_api.expect(cards(page).first).to_contain_text("your text: “")
    # The links the app builds: the arXiv page of a paper that has an arXiv id.
    link = cards(page).locator('a[href^="https://arxiv.org/abs/"]').first
    sync_api.expect(link).to_have_text(re.compile(r"arXiv:\d{4}\.\d{4,5}"))
    shot(page, "similar-pasted")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_cards_read_well_at_phone_width_in_both_themes(browser, server, theme):
    page = open_similar_tab(browser, f"{server}?__theme={theme}", PHONE)
    choose(page, CHOSEN)
    sync_api.expect(cards(page)).to_have_count(5)
    page.get_by_role("button", name="Add to export").first.click()
    sync_api.expect(page.get_by_text("Export: 1 paper", exact=False)).to_be_visible()
    dark = page.evaluate("document.body.classList.contains('dark') || "
                         "document.documentElement.classList.contains('dark')")
    assert dark == (theme == "dark")
    # The bar is text in the theme's own colour; nothing is wider than the phone.
    colours = page.locator(".similar-match").first.evaluate(
        "m => [getComputedStyle(m).color, getComputedStyle(m.parentElement).color]")
    assert colours[0] == colours[1]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, f"similar-phone-{theme}")
    page.close()
