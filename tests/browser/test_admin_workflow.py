"""An administrator runs a maintenance window from the admin, while three other
people use the site in their own browsers."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from playwright.sync_api import Page, expect

from tests.browser.support import PHONE, NewContext, assert_accessible, assert_fits_viewport, log_in, relative_luminance

pytestmark = pytest.mark.browser

SECRET = "let-the-qa-team-in-2026"
MESSAGE = "We are moving to a faster server. Back by 23:00."


def admin_logs_in(page: Page, site: str) -> None:
    page.goto(site + "/admin/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def admin_opens_maintenance_settings(page: Page, site: str) -> None:
    page.goto(site + "/admin/maintenance_mode/maintenancesettings/")
    expect(page).to_have_url(site + "/admin/maintenance_mode/maintenancesettings/1/change/")


def admin_saves(page: Page) -> None:
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")


def test_administrator_runs_a_maintenance_window_from_the_admin(
    site: str, new_context: NewContext, staff_user: User, customer: User, screenshots: Path
) -> None:
    admin = new_context().new_page()
    shopper = new_context(viewport=PHONE).new_page()
    session_key = log_in(shopper.context, customer, site)
    tester = new_context().new_page()

    shopper.goto(site + "/account/")
    expect(shopper.get_by_role("heading")).to_have_text("Signed in as customer")

    # The administrator switches maintenance on, with a message for customers.
    admin_logs_in(admin, site)
    admin_opens_maintenance_settings(admin, site)
    expect(admin.locator("#maintenance-status")).to_contain_text("Maintenance mode is off")
    admin.get_by_label("Enable maintenance").check()
    admin.get_by_label("Message").fill(MESSAGE)
    admin_saves(admin)
    expect(admin.locator("#maintenance-status")).to_contain_text("Maintenance mode is ON")

    # The logged-in customer reloads: the maintenance page, and they are logged out.
    response = shopper.reload()
    assert response is not None
    assert response.status == 503
    expect(shopper.locator(".mm-message")).to_have_text(MESSAGE)
    assert not Session.objects.filter(session_key=session_key).exists()
    assert "sessionid" not in {cookie["name"] for cookie in shopper.context.cookies()}

    # The administrator still browses the live site, reminded that maintenance is on.
    admin.goto(site + "/")
    expect(admin.get_by_role("heading")).to_have_text("Live site")
    expect(admin.locator("#maintenance-mode-indicator")).to_contain_text("Maintenance mode is on")

    # A bypass secret lets the QA team in, in a browser without any login.
    tester.goto(site + "/")
    expect(tester.locator(".mm-message")).to_have_text(MESSAGE)
    admin_opens_maintenance_settings(admin, site)
    admin.get_by_label("Bypass secret").fill(SECRET)
    admin_saves(admin)
    expect(admin.locator("#maintenance-status")).to_contain_text(f"{site}/{SECRET}")
    admin.screenshot(path=screenshots / "admin-form-1280x800-light.png", full_page=True)
    response = tester.goto(f"{site}/{SECRET}")
    assert response is not None
    assert response.status == 200
    expect(tester).to_have_url(site + "/")
    expect(tester.get_by_role("heading")).to_have_text("Live site")
    expect(tester.locator("#maintenance-mode-indicator")).to_be_visible()

    # Switching off restores the site for everyone.
    admin.get_by_label("Enable maintenance").uncheck()
    admin_saves(admin)
    expect(admin.locator("#maintenance-status")).to_contain_text("Maintenance mode is off")
    for page, heading in ((shopper, "Not signed in"), (tester, "Live site"), (admin, "Live site")):
        response = page.goto(site + ("/account/" if page is shopper else "/"))
        assert response is not None
        assert response.status == 200
        expect(page.get_by_role("heading")).to_have_text(heading)
        expect(page.locator("#maintenance-mode-indicator")).to_have_count(0)


def test_maintenance_settings_form_in_dark_mode_on_a_phone(
    site: str, new_context: NewContext, staff_user: User, screenshots: Path
) -> None:
    admin = new_context(viewport=PHONE, color_scheme="dark").new_page()
    admin_logs_in(admin, site)
    admin_opens_maintenance_settings(admin, site)

    expect(admin.get_by_label("Enable maintenance")).to_be_visible()
    background, text = admin.evaluate(
        """() => [getComputedStyle(document.body).backgroundColor,
                  getComputedStyle(document.querySelector("#content")).color]"""
    )
    assert relative_luminance(background) < 0.1, f"the page is not dark: background {background}"
    assert relative_luminance(text) > 0.5, f"the text is not light: {text}"
    assert_fits_viewport(admin, "#maintenance-status")
    # Django's own split date/time widget gives its two inputs no label (only the
    # texts "Date:" and "Time:"): Django's to fix, not this form's.
    assert_accessible(admin, exclude=(".datetime",))
    admin.screenshot(path=screenshots / "admin-form-375x667-dark.png", full_page=True)
