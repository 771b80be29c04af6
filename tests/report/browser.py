"""The report opened in headless Chromium (Debian's `chromium` at /usr/bin/chromium), driven by
Playwright without a browser download of its own.

No Chromium is a failure, not a skip: `make test` installs it on a fresh machine, and the report's
promise (charts drawn, in a real browser) is what these tests check.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# As root Chromium needs --no-sandbox; the rest keep it from reaching for a network it does not have.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
# Every chart's marks as Plotly draws them: bars and markers are paths in g.point, lines are
# path.js-line, a heatmap is one image.
COUNT_MARKS = """() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map(chart =>
    [chart.dataset.chart, chart.querySelectorAll('g.point path, path.js-line, g.hm image').length]))"""
ALL_DRAWN = """() => [...document.querySelectorAll('[data-chart] .plotly-graph-div')].every(div => div._fullLayout
    && div.querySelector('.main-svg'))"""


@dataclass
class OpenedPage:
    page: object  # playwright.sync_api.Page
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text) of every console message
    errors: list[str] = field(default_factory=list)  # uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page asked for

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"] + self.errors

    def marks(self) -> dict[str, int]:
        return self.page.evaluate(COUNT_MARKS)

    def no_data_panels(self) -> set[str]:
        return set(self.page.evaluate("() => [...document.querySelectorAll('[data-nodata]')].map(n => n.dataset.nodata)"))

    def figures(self) -> dict[str, dict[str, str]]:
        """vendor -> figure name -> data-value, from the headline cards."""
        return self.page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.card[data-vendor]')].map(card =>
            [card.dataset.vendor, Object.fromEntries([...card.querySelectorAll('[data-figure]')].map(f =>
                [f.dataset.figure, {value: f.dataset.value, shown: f.textContent}]))]))""")


def require_chromium() -> Path:
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} not found: the report's browser tests need Debian's Chromium "
            "(`apt-get install -y chromium`; `make test` installs it on a fresh machine)",
            pytrace=False,
        )
    return CHROMIUM


@contextmanager
def opened(html_file: Path, width: int = 1300) -> Iterator[OpenedPage]:
    """The file loaded in headless Chromium, every chart drawn."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            opened_page = OpenedPage(page)
            page.on("console", lambda message: opened_page.console.append((message.type, message.text)))
            page.on("pageerror", lambda error: opened_page.errors.append(str(error)))
            page.on("request", lambda request: opened_page.requests.append(request.url))
            page.goto(html_file.resolve().as_uri(), wait_until="load")
            page.wait_for_function(ALL_DRAWN, timeout=30_000)
            yield opened_page
        finally:
            browser.close()
