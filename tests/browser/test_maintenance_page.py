"""The maintenance page in Chromium: on a phone and a laptop, light and dark,
with and without JavaScript, for people using assistive technology."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.template.defaultfilters import date as format_date
from django.test import override_settings
from django.utils import timezone, translation
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.support import (
    CUSTOMER_MESSAGE,
    LAPTOP,
    PHONE,
    NewContext,
    assert_accessible,
    assert_fits_viewport,
    maintenance_on,
)

pytestmark = pytest.mark.browser

SIZES = [pytest.param(PHONE, id="375x667"), pytest.param(LAPTOP, id="1280x800")]
SCHEMES = ["light", "dark"]
EXAMPLE_THEME = Path(__file__).resolve().parents[2] / "example_project" / "templates"


def _name(viewport: ViewportSize) -> str:
    return f"{viewport['width']}x{viewport['height']}"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", SIZES)
def test_maintenance_page_fits_the_screen_and_passes_axe(
    site: str, new_context: NewContext, screenshots: Path, viewport: ViewportSize, scheme: str
) -> None:
    maintenance_on(message=CUSTOMER_MESSAGE, button_text="Status page", bypass_url="https://status.example.com")
    page = new_context(viewport=viewport, color_scheme=scheme).new_page()

    response = page.goto(site + "/")

    assert response is not None
    assert response.status == 503
    expect(page.locator(".mm-message")).to_contain_text("We are upgrading our payment system.")
    expect(page.get_by_role("link", name="Status page")).to_have_attribute("href", "https://status.example.com")
    assert_fits_viewport(page, "h1", ".mm-message", ".mm-button")
    assert_accessible(page)
    page.screenshot(path=screenshots / f"maintenance-{_name(viewport)}-{scheme}.png", animations="disabled")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", SIZES)
def test_page_with_an_end_time_fits_the_screen_and_passes_axe(
    site: str, new_context: NewContext, screenshots: Path, viewport: ViewportSize, scheme: str
) -> None:
    maintenance_on(
        message=CUSTOMER_MESSAGE,
        button_text="Status page",
        bypass_url="https://status.example.com",
        ends_at=timezone.now() + timedelta(hours=2, minutes=16, seconds=30),
    )
    page = new_context(viewport=viewport, color_scheme=scheme).new_page()

    page.goto(site + "/")

    expect(page.locator("[data-mm-countdown]")).to_have_text("Time remaining: 2 hours, 17 minutes")
    assert_fits_viewport(page, ".mm-message", ".mm-eta", ".mm-button")
    assert_accessible(page)
    page.screenshot(path=screenshots / f"maintenance-countdown-{_name(viewport)}-{scheme}.png", animations="disabled")


def test_countdown_counts_down_to_the_end_with_javascript(site: str, page: Page) -> None:
    # The page's clock stands still at `now` and moves only when the test moves it,
    # so each reading is exact however slow the machine is.
    now = timezone.now().replace(microsecond=0)
    maintenance_on(ends_at=now + timedelta(minutes=3, seconds=30))
    page.clock.install(time=now - timedelta(minutes=5))
    page.goto(site + "/")
    page.clock.pause_at(now)
    countdown = page.locator("[data-mm-countdown]")
    expect(countdown).to_have_text("Time remaining: 4 minutes")  # 3 min 30 s, in whole minutes

    page.clock.run_for(160_000)
    expect(countdown).to_have_text("Time remaining: 50 seconds")
    page.clock.run_for(3_000)
    expect(countdown).to_have_text("Time remaining: 47 seconds")

    page.clock.run_for(47_000)
    expect(countdown).to_have_text("Any moment now…")


def test_visitor_in_another_time_zone_sees_the_end_in_their_own_time(site: str, new_context: NewContext) -> None:
    maintenance_on(ends_at=timezone.now() + timedelta(hours=1))
    page = new_context(timezone_id="America/New_York").new_page()

    page.goto(site + "/")

    expect(page.locator("[data-mm-end]")).to_have_text(re.compile(r"\bE[SD]T$"))


def test_page_works_without_javascript(site: str, new_context: NewContext) -> None:
    ends_at = timezone.now() + timedelta(hours=2)
    maintenance_on(
        message=CUSTOMER_MESSAGE, button_text="Status page", bypass_url="https://status.example.com", ends_at=ends_at
    )
    page = new_context(java_script_enabled=False, viewport=PHONE).new_page()

    page.goto(site + "/")

    expect(page.locator(".mm-message")).to_contain_text("We are upgrading our payment system.")
    expect(page.locator(".mm-eta")).to_contain_text("Expected back by")
    with translation.override("en"):
        site_time = format_date(timezone.localtime(ends_at), "DATETIME_FORMAT")
    expect(page.locator("[data-mm-end]")).to_have_text(re.compile(f"^{re.escape(site_time)} CES?T$"))
    expect(page.get_by_role("link", name="Status page")).to_be_visible()
    expect(page.locator("[data-mm-countdown]")).to_be_hidden()
    assert_fits_viewport(page, ".mm-message", ".mm-eta", ".mm-button")


def test_page_makes_no_request_outside_the_site(site: str, page: Page) -> None:
    maintenance_on(message="Back soon.", image_url="/static/admin/img/icon-alert.svg", ends_at=None)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(site + "/")

    expect(page.locator(".mm-visual img")).to_be_visible()
    assert {site + "/", site + "/static/admin/img/icon-alert.svg"} <= set(requested)
    assert [url for url in requested if not url.startswith(site + "/")] == []


def test_built_in_icon_stands_still_for_visitors_who_ask_for_less_motion(site: str, new_context: NewContext) -> None:
    maintenance_on()
    moving = new_context().new_page()
    still = new_context(reduced_motion="reduce").new_page()

    for page in (moving, still):
        page.goto(site + "/")
    animation = "el => getComputedStyle(el).animationName"

    assert moving.locator(".mm-visual svg .mm-gear").first.evaluate(animation) == "mm-turn"
    assert still.locator(".mm-visual svg .mm-gear").first.evaluate(animation) == "none"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_example_shop_theme_keeps_the_page_accessible(
    site: str, new_context: NewContext, screenshots: Path, scheme: str
) -> None:
    maintenance_on(message="Fresh beans arrive at noon.", button_text="Order status", bypass_url="/status")
    page = new_context(viewport=PHONE, color_scheme=scheme).new_page()

    with override_settings(TEMPLATES=[{**settings.TEMPLATES[0], "DIRS": [EXAMPLE_THEME]}]):
        page.goto(site + "/")

    expect(page).to_have_title("Bean & Brew · Down for maintenance")
    assert_fits_viewport(page, ".mm-message", ".mm-button")
    assert_accessible(page)
    page.screenshot(path=screenshots / f"example-theme-375x667-{scheme}.png", animations="disabled")


def test_french_visitor_reads_the_page_and_the_countdown_in_french(
    site: str, new_context: NewContext, screenshots: Path
) -> None:
    maintenance_on(ends_at=timezone.now() + timedelta(hours=2, minutes=16, seconds=30))
    page = new_context(locale="fr-FR", viewport=PHONE).new_page()

    page.goto(site + "/")

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading")).to_have_text("Nous serons bientôt de retour")
    expect(page.locator("[data-mm-countdown]")).to_have_text("Temps restant\u00a0: 2\u00a0heures et 17\u00a0minutes")
    assert_fits_viewport(page, ".mm-message", ".mm-eta")
    page.screenshot(path=screenshots / "maintenance-fr-375x667-light.png", animations="disabled")
