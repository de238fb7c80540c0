"""What the browser tests share: the setup people do, and the checks on a page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import BrowserContext, Page, ViewportSize

from maintenance_mode.models import MaintenanceSettings

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE: ViewportSize = {"width": 375, "height": 667}
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
# The site's zone (tests/settings.py): the page then keeps the server's wording of the end time.
SITE_TIME_ZONE = "Europe/Paris"

# The ``new_context`` fixture: opens a browser context (a separate person) with these options.
NewContext = Callable[..., BrowserContext]

CUSTOMER_MESSAGE = (
    "We are upgrading our payment system.\n"
    "Orders placed before 22:00 are safe and will ship as usual. "
    "Details: https://status.example.com/incidents/2026-11-22-payment-platform-upgrade"
)


def maintenance_on(**fields: Any) -> MaintenanceSettings:
    """Switch maintenance on directly in the database, as the command would."""
    row = MaintenanceSettings.load()
    row.enabled = True
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def log_in(context: BrowserContext, user: User, url: str) -> str:
    """Give the browser a real server-side session for ``user``; returns its key.

    Ordinary users cannot log in through the admin's form, so the session is made
    the way the test client makes it, then handed to the browser as its cookie.
    """
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": url}])
    return key


def assert_fits_viewport(page: Page, *selectors: str) -> None:
    """No horizontal scrolling, and each element fully visible without scrolling."""
    viewport = page.viewport_size
    assert viewport is not None
    scroll_width, inner_width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, f"the page scrolls sideways: {scroll_width}px wide in {inner_width}px"
    for selector in selectors:
        box = page.locator(selector).bounding_box()
        assert box is not None, f"{selector} is not displayed"
        inside = (
            box["x"] >= 0
            and box["y"] >= 0
            and box["x"] + box["width"] <= viewport["width"]
            and box["y"] + box["height"] <= viewport["height"]
        )
        assert inside, f"{selector} is not fully visible without scrolling: {box} in {viewport}"


def assert_accessible(page: Page, exclude: tuple[str, ...] = ()) -> None:
    """axe-core finds nothing serious or critical (minor findings are printed),
    outside the ``exclude`` selectors (each excluded with its reason at the call)."""
    results = Axe().run(page, context={"exclude": [[selector] for selector in exclude]} if exclude else None)
    violations = results.response["violations"]
    for violation in violations:
        print(f"axe: {violation['id']} ({violation['impact']}): {violation['help']}")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()


def relative_luminance(css_color: str) -> float:
    """WCAG relative luminance (0 black, 1 white) of a computed ``rgb()``/``rgba()`` colour."""
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, [\d.]+)?\)", css_color)
    assert match is not None, f"not a computed colour: {css_color}"
    channels = [int(value) / 255 for value in match.groups()]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
