"""The exported page (``manage.py maintenance render``) in Chromium, opened with no Django behind it."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.support import maintenance_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def exported(directory: Path) -> str:
    call_command("maintenance", "render", str(directory), "--language", "fr", stdout=StringIO())
    return (directory / "maintenance.html").as_uri()


def test_exported_page_counts_down_and_reloads_itself_once_the_end_has_passed(tmp_path: Path, page: Page) -> None:
    maintenance_on(ends_at=timezone.now() + timedelta(minutes=3, seconds=30))
    url = exported(tmp_path)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.clock.install()
    page.goto(url)
    countdown = page.locator("[data-mm-countdown]")
    expect(countdown).to_have_text("Time remaining: 4 minutes")

    page.clock.run_for(240_000)
    expect(countdown).to_have_text("Any moment now…")
    with page.expect_event("load"):  # the proxy may be serving Django again by then
        page.clock.run_for(16_000)

    # The page and its reloads (it keeps polling while the proxy still serves it): nothing else.
    assert len(requested) >= 2
    assert set(requested) == {url}


def test_exported_page_in_french_counts_down_in_french(tmp_path: Path, page: Page) -> None:
    maintenance_on(ends_at=timezone.now() + timedelta(hours=2, minutes=16, seconds=30))
    exported(tmp_path)
    page.clock.install()
    page.goto((tmp_path / "maintenance.fr.html").as_uri())
    expect(page.locator("h1")).to_have_text("Nous serons bientôt de retour")
    expect(page.locator("[data-mm-countdown]")).to_have_text("Temps restant\u00a0: 2\u00a0heures et 17\u00a0minutes")
