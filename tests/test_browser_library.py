"""One library everywhere, and uploads that explain themselves: Debian's chromium, driven by
Playwright, as a person uses the web app.

After papers are added, every part of the page that shows the library (the header's count,
the Papers table and ingest report, the Similar tab's paper choice, the chat's category and
year filters and its example questions) shows them: on the page that added them, after a
reload, and on a page opened since. A file that cannot be added is told back by its own name,
what it looked like and what would have been read, never by the server's path, a command
flag or its raw bytes. Each flow saves a screenshot under test-artifacts/browser/.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re

import pytest

from tests.helpers.browser import (
    events_done,
    new_page,
    playwright_api,
    shot,
    wait_until_opaque,
)

sync_api = playwright_api()
PHONE = {"width": 390, "height": 844}
# Two papers of a category and a year the seed library has none of.
ADDED = [
    {"id": "0704.9001", "authors": "Ada Lovelace, Charles Babbage", "categories": "cs.RO",
     "title": "Juggling robots with tactile feedback",
     "abstract": "Robots learn to juggle three balls using touch sensors in their hands.",
     "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}]},
    {"id": "0704.9002", "authors": "Grace Hopper", "categories": "cs.RO",
     "title": "Catching thrown objects with soft grippers",
     "abstract": "Soft grippers catch objects thrown at them by estimating their flight.",
     "versions": [{"version": "v1", "created": "Tue, 3 Apr 2007 10:00:00 GMT"}]},
]
NEW_TITLE, NEW_CATEGORY, NEW_YEAR = ADDED[0]["title"], "cs.RO", "2007"
# Characters a message about a binary file must not hold: replacement characters, controls
# and the Latin-1 range where mangled bytes show (Ã, ¥, ...).
MOJIBAKE = re.compile(r"[\ufffd\x00-\x08\x0b-\x1f\x7f-\xff]")


@pytest.fixture
def library_copy_bot(library_copy, embedder):
    from bot import PaperBot

    return PaperBot.open(library_copy, embedder=embedder)


@pytest.fixture
def own_server(serve, library_copy_bot):
    """A server over a private library, for flows that change it."""
    return serve(library_copy_bot)


def opened(browser, url: str, viewport: dict | None = None):
    page = new_page(browser, url, viewport)
    page.get_by_role("button", name="Ask").wait_for()
    return page


def open_tab(page, name: str) -> None:
    """Select a tab; at phone width the tabs that do not fit are under "More tabs"."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.is_visible():
        tab.click()
        return
    page.get_by_role("button", name="More tabs").click()
    page.locator(".overflow-dropdown button", has_text=name).click()


def options_of(page, label: str) -> list[str]:
    """The choices a dropdown offers, as the person sees them."""
    page.get_by_label(label).click()
    options = page.get_by_role("option")
    options.first.wait_for()
    texts = [text.replace("✓", "").strip() for text in options.all_inner_texts()]
    page.get_by_label(label).blur()  # the list closes
    sync_api.expect(options).to_have_count(0)
    return texts


def example_questions_on(page) -> list[str]:
    return page.locator("#example-questions button").all_inner_texts()


def shown_as(question: str, text: str) -> bool:
    """Whether `text` is how the examples show `question`: whole, or its start and '...'."""
    return text == question or (text.endswith("...") and question.startswith(text[:-3]))


def listed_titles(page) -> list[str]:
    """The titles of the papers the Papers tab lists, from its CSV download."""
    with page.expect_download() as download:
        page.get_by_role("button", name="Listed papers as CSV").click()
    with open(download.value.path(), encoding="utf-8", newline="") as table:
        return [row["title"] for row in csv.DictReader(table)]


def assert_shows_library(page, papers) -> None:
    """Every part of the page that shows the library shows these papers."""
    from bot.surfaces.web.chat import categories, example_questions, year_choices

    count = len(papers)
    sync_api.expect(page.get_by_text(f"Ask the library of {count} papers")).to_be_visible()
    page.get_by_role("tab", name="Chat").click()
    examples = example_questions(papers)
    sync_api.expect(page.locator("#example-questions button")).to_have_count(len(examples))
    shown = example_questions_on(page)
    assert all(map(shown_as, examples, shown)), (shown, examples)
    sync_api.expect(page.get_by_text("Ask about the papers in the library")).to_contain_text(
        examples[0])
    page.get_by_text("Filters").click()
    assert options_of(page, "Category") == ["Any", *categories(papers)]
    assert options_of(page, "From year") == [str(y) for y in year_choices(papers)]
    assert options_of(page, "To year") == [str(y) for y in year_choices(papers)]
    page.get_by_text("Filters").click()
    page.get_by_role("tab", name="Similar papers").click()
    page.get_by_label("Choose a paper").fill(NEW_TITLE[:12])
    sync_api.expect(page.get_by_role("option", name=NEW_TITLE)).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Papers", exact=True).click()
    # The table draws the rows in view: the new papers come last.
    table = page.locator(".virtual-table-viewport").first
    table.wait_for()
    table.evaluate("element => { element.scrollTop = element.scrollHeight; }")
    sync_api.expect(page.get_by_text(NEW_TITLE, exact=True)).to_be_visible()
    titles = listed_titles(page)
    assert len(titles) == count and NEW_TITLE in titles
    sync_api.expect(page.get_by_text(re.compile(rf"\b{count} distinct papers"))).to_be_visible()
    page.get_by_text("Ingest report").click()
    sync_api.expect(page.get_by_text("listing.jsonl", exact=False).first).to_be_attached()
    page.get_by_text("Ingest report").click()
    page.get_by_role("tab", name="Chat").click()


def add_papers(page, path) -> None:
    page.get_by_role("tab", name="Add papers").click()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="Add to the library").click()


def test_added_papers_show_everywhere_after_a_reload_and_in_a_new_tab(
        browser, own_server, library_copy, embedder, tmp_path):
    from bot import PaperBot

    listing = tmp_path / "listing.jsonl"
    listing.write_text("".join(json.dumps(paper) + "\n" for paper in ADDED), encoding="utf-8")
    page = opened(browser, own_server)
    other = opened(browser, own_server)  # a second tab, open before the papers are added
    sync_api.expect(page.get_by_text("Ask the library of 68 papers")).to_be_visible()
    page.get_by_text("Filters").click()  # a filter set before the add stays set
    page.get_by_label("From year").click()
    page.get_by_role("option", name="2022", exact=True).click()
    page.get_by_text("Filters").click()
    add_papers(page, listing)
    sync_api.expect(page.locator("#added-report")).to_contain_text("2 new papers",
                                                                   timeout=60_000)
    assert page.get_by_label("From year").input_value() == "2022"
    papers = PaperBot.open(library_copy, embedder=embedder).papers
    assert len(papers) == 70
    assert_shows_library(page, papers)
    shot(page, "library-added")
    page.reload()
    page.get_by_role("button", name="Ask").wait_for()
    assert_shows_library(page, papers)
    shot(page, "library-reloaded")
    other.reload()
    other.get_by_role("button", name="Ask").wait_for()
    assert_shows_library(other, papers)
    fresh = opened(browser, own_server)  # a tab opened since
    assert_shows_library(fresh, papers)
    shot(fresh, "library-new-tab")
    # The new choices work: a filter on the new category finds the new papers, and the new
    # paper can be chosen for its neighbours.
    fresh.get_by_text("Filters").click()
    fresh.get_by_label("Category").click()
    fresh.get_by_role("option", name=NEW_CATEGORY, exact=True).click()
    fresh.get_by_placeholder("Which papers study …?").fill("Which papers teach robots to juggle?")
    fresh.get_by_role("button", name="Ask").click()
    sync_api.expect(fresh.locator(".message.bot").last).to_contain_text(NEW_TITLE)
    fresh.get_by_role("tab", name="Similar papers").click()
    fresh.get_by_label("Choose a paper").fill(NEW_TITLE[:12])
    fresh.get_by_role("option", name=NEW_TITLE).click()
    fresh.get_by_role("button", name="Find similar papers").click()
    sync_api.expect(fresh.get_by_text("Why similar", exact=False).first).to_be_visible()
    sync_api.expect(fresh.get_by_text("Error", exact=True)).to_have_count(0)
    shot(fresh, "library-new-paper-similar")
    for tab in (page, other, fresh):
        tab.close()


def test_an_example_question_fills_the_question_box(browser, server, seed_bot):
    from bot.surfaces.web.chat import example_questions

    page = opened(browser, server)
    first = example_questions(seed_bot.papers)[0]
    page.locator("#example-questions button").first.click()
    sync_api.expect(page.get_by_placeholder("Which papers study …?")).to_have_value(first)
    shot(page, "library-example-chosen")
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_library_shows_at_phone_width_in_both_themes(browser, server, seed_bot, theme):
    page = opened(browser, f"{server}?__theme={theme}", PHONE)
    sync_api.expect(page.get_by_text(f"Ask the library of {len(seed_bot.papers)} papers")
                    ).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, f"library-phone-{theme}")
    page.close()


def test_add_with_no_file_is_a_plain_message(browser, own_server, capfd, tmp_path):
    page = opened(browser, own_server)
    page.get_by_role("tab", name="Add papers").click()
    page.get_by_role("button", name="Add to the library").click()
    report = page.locator("#added-report")
    sync_api.expect(report).to_have_text("Choose one or more files to add first.")
    wait_until_opaque(page, ".toast-body")
    shot(page, "library-add-no-file", full_page=False)
    # A file chosen and taken away again: the same message, never an error.
    listing = tmp_path / "one.txt"
    listing.write_text("Abstract:Robots juggle.\n", encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(listing))
    sync_api.expect(page.get_by_text("one.txt")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    sync_api.expect(page.get_by_text("one.txt")).to_have_count(0)
    with events_done(page):
        page.get_by_role("button", name="Add to the library").click()
    sync_api.expect(report).to_have_text("Choose one or more files to add first.")
    sync_api.expect(page.get_by_text("Error", exact=True)).to_have_count(0)
    logged = "".join(capfd.readouterr())
    assert "Traceback" not in logged and "UnboundLocalError" not in logged, logged
    sync_api.expect(page.get_by_text("Ask the library of 68 papers")).to_be_visible()
    page.close()


def refused_files(tmp_path) -> dict[str, bytes]:
    """A diary, two kinds of garbage gzip and a long name, each refused for its own reason."""
    rng = random.Random(5)
    noise = bytes(rng.randrange(128, 256) for _ in range(3000))  # what once showed mangled
    long_name = "reading list " + "of papers from our lab meetings " * 6 + "(2024).txt"
    return {
        "diary.txt": b"Monday: walked the dog, wrote some notes.\nTuesday: rain all day.\n",
        "papers.jsonl.gz": b"\x1f\x8b\x08\x00" + noise,  # gzip's magic, then noise
        "archive.gz": gzip.compress(noise),  # a sound gzip file of noise
        long_name: b"not a listing\nat all\n",
    }


def test_refused_uploads_say_their_name_look_and_the_formats(browser, own_server, tmp_path):
    from bot.surfaces.uploads import ACCEPTED

    files = refused_files(tmp_path)
    folder = tmp_path / "a" / "folder" / "with a long path" / ("deep " * 20).strip()
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    page = opened(browser, own_server)
    page.get_by_role("tab", name="Add papers").click()
    page.locator("input[type=file]").set_input_files([str(folder / name) for name in files])
    page.get_by_role("button", name="Add to the library").click()
    report = page.locator("#added-report")
    sync_api.expect(report).to_contain_text("Nothing was added.")
    sync_api.expect(page.get_by_text("Nothing was added: the files and why")).to_be_visible()
    items = report.locator("li").all_inner_texts()
    assert items == [
        "diary.txt: text whose first line is “Monday: walked the dog, wrote some notes.”; "
        "none of the formats paperchat reads",
        "papers.jsonl.gz: binary data (looks like a damaged gzip file)",
        "archive.gz: a gzip file holding binary data",
        f"{list(files)[3]}: text whose first line is “not a listing”; "
        "none of the formats paperchat reads"], items
    text = report.inner_text()
    assert f"paperchat reads {ACCEPTED}." in text
    assert "/tmp" not in text and str(tmp_path) not in text and "--layout" not in text
    assert not MOJIBAKE.search(text), MOJIBAKE.findall(text)
    sync_api.expect(page.get_by_text("Error", exact=True)).to_have_count(0)
    wait_until_opaque(page, ".toast-body")
    shot(page, "library-refused")
    page.close()
    phone = opened(browser, f"{own_server}?__theme=dark", PHONE)
    open_tab(phone, "Add papers")
    phone.locator("input[type=file]").set_input_files([str(folder / name) for name in files])
    phone.get_by_role("button", name="Add to the library").click()
    sync_api.expect(phone.locator("#added-report")).to_contain_text("Nothing was added.")
    wait_until_opaque(phone, ".toast-body")
    # A long name wraps: nothing wider than the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(phone, "library-refused-phone-dark")
    phone.close()
