"""Debian's chromium, driven by Playwright, for the tests that use the web chat as a person.

Without /usr/bin/chromium these tests are skipped, unless PAPERCHAT_REQUIRE_BROWSER=1 (as in
CI), where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
TIMEOUT_MS = 30_000
DESKTOP = {"width": 1280, "height": 900}
QUESTION_BOX = "Which papers study …?"  # the chat's placeholder


def playwright_api():
    """Playwright's sync API, once chromium is known to be there (called at a module's top,
    it skips the whole module)."""
    if not CHROMIUM.exists():
        if os.environ.get("PAPERCHAT_REQUIRE_BROWSER") == "1":
            raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)",
                    allow_module_level=True)
    return pytest.importorskip("playwright.sync_api")


@contextlib.contextmanager
def chromium():
    """A headless chromium, closed on the way out."""
    with playwright_api().sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, url: str, viewport: dict | None = None):
    """A page of `browser` open at `url`, with the tests' timeout."""
    page = browser.new_page(viewport=viewport or DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    return page


@contextlib.contextmanager
def page_at(url: str):
    """A chromium page open at `url`, in a browser of its own."""
    with chromium() as browser:
        yield new_page(browser, url)


def shot(page, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    return path


def record_texts(page, selector: str) -> None:
    """From now on, keep in `window.seen` every text that elements matching `selector` show,
    however briefly."""
    page.evaluate("""selector => {
        window.seen = [];
        new MutationObserver(() => document.querySelectorAll(selector)
            .forEach(element => window.seen.push(element.innerText))).observe(
            document.body, {subtree: true, childList: true, characterData: true});
    }""", selector)


def ask(page, question: str) -> None:
    box = page.get_by_placeholder(QUESTION_BOX)
    box.fill(question)
    page.get_by_role("button", name="Ask").click()


@contextlib.contextmanager
def events_done(page):
    """On the way out, wait until the Gradio events started inside have completed: an
    output showed itself pending, and none is pending now."""
    page.evaluate("""() => {
        window.pendingSeen = false;
        window.pendingWatch = new MutationObserver(() => {
            if (document.querySelector(".pending")) window.pendingSeen = true;
        });
        window.pendingWatch.observe(document.body,
            {subtree: true, childList: true, attributes: true, attributeFilter: ["class"]});
    }""")
    yield
    page.wait_for_function("() => window.pendingSeen && !document.querySelector('.pending')")
    page.evaluate("() => window.pendingWatch.disconnect()")


def wait_until_opaque(page, selector: str) -> None:
    """Wait until an element matching `selector` has faded in completely."""
    page.wait_for_function("""selector => [...document.querySelectorAll(selector)]
        .some(element => getComputedStyle(element).opacity === "1")""", arg=selector)


def request_sentinel(page, url: str) -> None:
    """Make the page load an image from `url`, a request that comes after whatever the page
    showed so far asked for: once the server has it, the earlier ones have been made."""
    page.evaluate("""url => { const img = document.createElement("img");
        img.src = url; document.body.appendChild(img); }""", url)
