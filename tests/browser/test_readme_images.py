"""The README's pictures: docs/images/*.png, taken by Chromium from the real pages.

Each run writes them again; commit them when the page changes (they are small).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from maintenance_mode import bypass
from tests.browser.support import LAPTOP, PHONE, NewContext, maintenance_on
from tests.browser.test_admin_workflow import admin_logs_in, admin_opens_maintenance_settings

pytestmark = pytest.mark.browser

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
MESSAGE = (
    "We are upgrading our payment system. Orders placed before 22:00 are safe and will ship as usual.\n"
    "Details: https://status.example.com"
)
# What the admin form suggests as a secret is random on every visit; in the picture it is
# this one, so that the image changes only when the form does (the product is untouched).
SUGGESTED_SECRET = "k3Wq8ZrT5vLm2XpN7bYc4HdJ9sFa6GeU"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", LAPTOP)])
def test_readme_shows_the_default_page(site: str, new_context: NewContext, name: str, viewport: dict[str, int]) -> None:
    maintenance_on(message=MESSAGE, button_text="Status page", bypass_url="https://status.example.com")
    page = new_context(viewport=viewport).new_page()
    response = page.goto(site + "/")
    assert response is not None
    assert response.status == 503
    expect(page.get_by_role("link", name="Status page")).to_be_visible()

    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"maintenance-{name}.png"
    page.screenshot(path=path, animations="disabled")
    assert png_size(path) == (viewport["width"], viewport["height"])
    assert path.stat().st_size < 200_000


def test_readme_shows_the_admin_page(
    site: str, new_context: NewContext, staff_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live server runs in this process: the patch reaches its requests, and is undone after this test.
    monkeypatch.setattr(bypass, "new_secret", lambda: SUGGESTED_SECRET)
    maintenance_on(message=MESSAGE, button_text="Status page", bypass_url="https://status.example.com")
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    admin_logs_in(page, site)
    admin_opens_maintenance_settings(page, site)
    status = page.locator("#maintenance-status")
    expect(status).to_contain_text("Maintenance mode is ON")
    expect(status).to_contain_text(f"A random secret you could use: {SUGGESTED_SECRET}")

    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "admin.png"
    page.screenshot(path=path, animations="disabled")
    assert png_size(path) == (1280, 900)
    assert path.stat().st_size < 300_000


def test_readme_shows_the_wagtail_admin_form(site: str, new_context: NewContext, db: None) -> None:
    from django.contrib.auth.models import Group, Permission

    maintenance_on(message=MESSAGE)
    editors = Group.objects.create(name="Maintainers")
    for codename in ("access_admin", "change_maintenancesettings"):
        editors.permissions.add(Permission.objects.get(codename=codename))
    User.objects.create_user("editor", password="editor-pass").groups.add(editors)
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(site + "/cms/login/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("editor-pass")
    page.get_by_role("button", name="Sign in").click()
    page.goto(site + "/cms/maintenance/")
    expect(page.locator("#maintenance-status")).to_contain_text("Maintenance mode is ON")

    path = IMAGES / "wagtail.png"
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, animations="disabled")
    assert png_size(path) == (1280, 900)
