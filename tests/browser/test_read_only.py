"""Read-only maintenance in Chromium: a visitor browses and tries to write, an
administrator writes; the notice on a phone and a laptop, light and dark."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import ViewportSize, expect

from tests.browser.support import (
    LAPTOP,
    PHONE,
    NewContext,
    assert_accessible,
    assert_fits_viewport,
    log_in,
    maintenance_on,
)

pytestmark = pytest.mark.browser

SIZES = [pytest.param(PHONE, id="375x667"), pytest.param(LAPTOP, id="1280x800")]
SCHEMES = ["light", "dark"]


def read_only_for_half_an_hour() -> None:
    maintenance_on(mode="read-only", ends_at=timezone.now() + timedelta(minutes=30))


def test_visitor_browses_and_is_told_the_change_was_not_saved_while_the_administrator_saves(
    site: str, new_context: NewContext, staff_user: User, screenshots: Path
) -> None:
    read_only_for_half_an_hour()
    visitor = new_context(viewport=PHONE).new_page()

    # The visitor browses the live site, with the notice on top.
    response = visitor.goto(site + "/notes/")
    assert response is not None
    assert response.status == 200
    expect(visitor.get_by_role("heading", name="Notes")).to_be_visible()
    notice = visitor.get_by_role("region", name="Read-only maintenance")
    expect(notice).to_contain_text("you can browse as usual, but changes cannot be saved until")

    # They fill in the form and submit it: the read-only page says it was not saved.
    visitor.get_by_label("Note").fill("Two bags of the Ethiopian, please")
    with visitor.expect_response(lambda r: r.request.method == "POST") as posted:
        visitor.get_by_role("button", name="Add the note").click()
    assert posted.value.status == 503
    expect(visitor.get_by_role("heading")).to_have_text("Your change was not saved")
    expect(visitor.locator(".mm-eta")).to_contain_text("Please try again after")
    expect(visitor).to_have_title("Change not saved: read-only maintenance")
    assert_fits_viewport(visitor, "h1", ".mm-message", ".mm-eta")
    assert_accessible(visitor)
    visitor.screenshot(path=screenshots / "read-only-not-saved-375x667-light.png", animations="disabled")
    assert not Group.objects.exists()

    # The administrator submits the same form: it is saved.
    admin = new_context().new_page()
    log_in(admin.context, staff_user, site)
    admin.goto(site + "/notes/")
    expect(admin.locator("#maintenance-mode-indicator")).to_contain_text("Read-only maintenance is on")
    admin.get_by_label("Note").fill("Restock the Ethiopian")
    admin.get_by_role("button", name="Add the note").click()
    expect(admin.get_by_role("listitem")).to_have_text(["Restock the Ethiopian"])
    assert list(Group.objects.values_list("name", flat=True)) == ["Restock the Ethiopian"]

    # The visitor goes back to reading: the live page, and the administrator's note.
    visitor.goto(site + "/notes/")
    expect(visitor.get_by_role("listitem")).to_have_text(["Restock the Ethiopian"])


def _name(viewport: ViewportSize) -> str:
    return f"{viewport['width']}x{viewport['height']}"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("viewport", SIZES)
def test_read_only_notice_fits_the_screen_and_passes_axe(
    site: str, new_context: NewContext, screenshots: Path, viewport: ViewportSize, scheme: str
) -> None:
    read_only_for_half_an_hour()
    page = new_context(viewport=viewport, color_scheme=scheme).new_page()

    page.goto(site + "/notes/")

    notice = page.get_by_role("region", name="Read-only maintenance")
    expect(notice).to_contain_text("Read-only maintenance:")
    assert_fits_viewport(page, "#maintenance-mode-read-only", "h1", "button")
    assert_accessible(page)
    page.screenshot(path=screenshots / f"read-only-notice-{_name(viewport)}-{scheme}.png", animations="disabled")
