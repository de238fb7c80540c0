"""Chromium through Playwright's sync API, against pytest-django's live server.

Playwright's sync API keeps an event loop running in this thread, which makes
Django refuse ORM calls here ("async-unsafe"). The tests use the ORM only for
setup and checks between browser steps, never during a request of their own, so
the guard is lifted for this package only, while its browser runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.browser.support import LAPTOP, SCREENSHOTS, SITE_TIME_ZONE, NewContext
from tests.ci import running_in_ci

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if running_in_ci():
            pytest.fail(f"CI: the browser tests need Chromium at {CHROMIUM} (apt-get install chromium).")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium): browser tests skipped.")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[NewContext]:
    """Opens browser contexts (separate cookie jars: separate people); closes them all afterwards."""
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:
        options.setdefault("viewport", LAPTOP)
        options.setdefault("timezone_id", SITE_TIME_ZONE)
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def page(new_context: NewContext) -> Page:
    return new_context().new_page()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def site(browser: Browser, live_server: LiveServer, transactional_db: None) -> str:
    """The live server's address. It shares the test database, which is emptied after each test."""
    return live_server.url
