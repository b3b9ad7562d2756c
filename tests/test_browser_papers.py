"""The Papers tab as a person uses it, in Debian's chromium: a loose search, a header clicked
to sort, the row count, a row opened (abstract, links, BibTeX, papers like it), a phone's width
in both themes.

Each flow saves a screenshot under test-artifacts/browser/. Without /usr/bin/chromium these
tests are skipped, unless PAPERCHAT_REQUIRE_BROWSER=1 (as in CI), where that is a failure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.browser import new_page, playwright_api, shot

sync_api = playwright_api()
SEARCH = "Search by title, author, abstract or year"
MOD = "Mixture-of-Depths: Dynamically allocating compute in transformer-based language models"
PHONE = {"width": 390, "height": 844}


def papers_tab(page) -> None:
    """To the Papers tab: on a phone it is behind the tabs' "More tabs" menu."""
    page.get_by_role("button", name="Ask").wait_for()
    tab = page.get_by_role("tab", name="Papers", exact=True)
    if not tab.is_visible():
        page.get_by_role("button", name="More tabs").click()
        page.locator(".overflow-dropdown button", has_text="Papers").first.click()
    else:
        tab.click()
    sync_api.expect(page.locator("#papers-table")).to_be_visible()


def cell(page, row: int, column: int):
    return page.locator(f"#papers-table [data-testid='cell-{row}-{column}']")


def count(page):
    return page.locator("#papers-table").get_by_text(re.compile(r"^\d+ (of \d+ )?papers$"))


@pytest.fixture
def page(browser, server):
    page = new_page(browser, server)
    papers_tab(page)
    yield page
    page.close()


def test_a_loose_search_finds_the_paper_and_counts_the_rows(page):
    sync_api.expect(count(page)).to_have_text("68 papers")
    search = page.get_by_label(SEARCH)
    for query in ("mixture of depths", "depths mixture", "mixtre of depth"):
        search.fill(query)
        sync_api.expect(count(page)).to_have_text("1 of 68 papers")
        sync_api.expect(cell(page, 0, 0)).to_have_text(MOD)
    search.fill("Santoro 2018")
    sync_api.expect(count(page)).to_have_text(re.compile(r"^[2-9] of 68 papers$"))
    shot(page, "papers-search")
    # The listed papers' downloads follow the search.
    shown = int(count(page).inner_text().split()[0])
    with page.expect_download() as bibtex:
        page.get_by_role("button", name="Listed papers as BibTeX").click()
    entries = re.findall(r"^@\w+\{", Path(bibtex.value.path()).read_text(), re.M)
    assert len(entries) == shown
    search.fill("xqzvkw")
    sync_api.expect(count(page)).to_have_text("0 of 68 papers")


def test_a_click_on_a_header_sorts_by_it_and_again_reverses(page):
    year = page.locator("#papers-table th[data-heading='2']")
    label = year.locator(".header")  # the header's text, without Gradio's (hidden) menu
    year.click()
    sync_api.expect(label).to_have_text("year ▲")
    sync_api.expect(cell(page, 0, 2)).to_have_text("2015")
    year.click()
    sync_api.expect(label).to_have_text("year ▼")
    sync_api.expect(cell(page, 0, 2)).to_have_text("2025")
    shot(page, "papers-sorted", full_page=False)
    # The sort holds while searching: Raposo's papers, newest first.
    page.get_by_label(SEARCH).fill("Raposo")
    sync_api.expect(count(page)).to_have_text(re.compile(r"of 68 papers$"))
    sync_api.expect(cell(page, 0, 0)).to_have_text(MOD)  # 2024, his latest
    years = [int(cell(page, row, 2).inner_text()) for row in range(3)]
    assert years == sorted(years, reverse=True)
    year.click()  # a third time: the search's own order again
    sync_api.expect(label).to_have_text("year")


def test_a_row_opens_its_paper_and_leads_to_papers_like_it(page):
    page.get_by_label(SEARCH).fill("gemini 1.5 unlocking")
    sync_api.expect(cell(page, 0, 0)).to_contain_text("Gemini 1.5")
    view = page.locator("#paper-view")
    sync_api.expect(view).to_be_hidden()
    cell(page, 0, 0).click()
    sync_api.expect(view).to_be_visible()
    sync_api.expect(view.get_by_role("heading")).to_contain_text("Gemini 1.5: Unlocking")
    sync_api.expect(view).to_contain_text("Machel Reid, Nikolay Savinov")
    sync_api.expect(view).to_contain_text("and 629 more")  # of its 669 authors
    sync_api.expect(view).to_contain_text("Read from:")
    sync_api.expect(view.get_by_role("link", name="arXiv:2403.05530")).to_have_attribute(
        "href", "https://arxiv.org/abs/2403.05530")
    sync_api.expect(view).to_contain_text("millions of tokens")  # the abstract
    bibtex = view.locator(".cm-content")
    sync_api.expect(bibtex).to_contain_text("@misc{reid2024gemini,")
    sync_api.expect(bibtex).to_contain_text("title = {{Gemini 1.5: Unlocking")
    sync_api.expect(view.get_by_role("button", name=re.compile("copy", re.I))).to_be_visible()
    sync_api.expect(view).to_be_in_viewport()  # brought into view under the table
    shot(page, "papers-opened")
    view.get_by_role("button", name="Papers like this").click()
    sync_api.expect(page.get_by_role("tab", name="Similar papers")).to_have_attribute(
        "aria-selected", "true")
    # The Similar papers tab's cards (Gradio sets a group's class on two nested elements).
    cards = page.locator(".similar-card:not(.similar-card .similar-card)")
    sync_api.expect(cards).to_have_count(5)
    listed = [text.split("\n")[0] for text in cards.all_inner_texts()]
    assert not any("Gemini 1.5: Unlocking" in item for item in listed)
    shot(page, "papers-similar")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_papers_tab_fits_a_phone_in_both_themes(browser, server, theme):
    page = new_page(browser, f"{server}?__theme={theme}", PHONE)
    papers_tab(page)
    dark = page.evaluate("document.body.classList.contains('dark') || "
                         "document.documentElement.classList.contains('dark')")
    assert dark == (theme == "dark")
    # Title, authors and year fit, each header on one line; the other columns are hidden.
    shown = page.locator("#papers-table th").evaluate_all("""headers => headers
        .filter(h => getComputedStyle(h).display !== "none")
        .map(h => { const text = h.querySelector(".header");
                    return [text.innerText.trim(), text.getBoundingClientRect().height,
                            parseFloat(getComputedStyle(text).lineHeight)]; })""")
    assert [name for name, _, _ in shown] == ["title", "authors", "year"]
    assert all(height < 1.5 * line for _, height, line in shown), shown
    sync_api.expect(cell(page, 0, 5)).to_be_hidden()  # the id column
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.get_by_label(SEARCH).fill("relational")
    sync_api.expect(count(page)).to_have_text(re.compile(r"of 68 papers$"))
    cell(page, 0, 0).click()
    sync_api.expect(page.locator("#paper-view")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, f"papers-phone-{theme}")
    page.close()
