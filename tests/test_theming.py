"""The three ways a project themes the page, and the icon it shows.

1. replace ``maintenance_mode/maintenance.html`` with a page of its own;
2. extend the app's page and replace some of its blocks;
3. only change the ``--mm-*`` CSS variables, in the ``extra_head`` block.
"""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from maintenance_mode.models import MaintenanceSettings

UTC = dt_timezone.utc  # datetime.UTC is Python 3.11+

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
THEME_VARIABLES_STYLE = "<style>:root { --mm-accent: #7a4a2a; --mm-bg: #faf7f2; --mm-radius: 4px; }</style>"


def theme(directory: Path) -> override_settings:
    """The test settings' template engine, with a project template dir in front."""
    engine: dict[str, Any] = {**settings.TEMPLATES[0], "DIRS": [directory]}
    return override_settings(TEMPLATES=[engine])


def page(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 503
    return response.content.decode()


def defined_variables(html: str) -> set[str]:
    return set(re.findall(r"(--mm-[a-z-]+)\s*:", html))


@pytest.fixture
def shop_maintenance(maintenance: MaintenanceSettings) -> MaintenanceSettings:
    maintenance.message = "Fresh beans arrive at noon."
    maintenance.icon = "fas fa-mug-hot"
    maintenance.button_text = "Order status"
    maintenance.bypass_url = "https://status.example.com"
    maintenance.starts_at = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    maintenance.ends_at = datetime(2099, 11, 22, 8, 30, tzinfo=UTC)
    maintenance.save()
    return maintenance


def test_project_page_replaces_the_default_page_entirely(client: Client, shop_maintenance: MaintenanceSettings) -> None:
    with theme(TESTS / "templates_theme_replace"), override_settings(MAINTENANCE_MODE_ICON_STYLESHEET="/icons.css"):
        html = page(client)

    assert "Our coffee machine is being serviced" in html
    assert "Fresh beans arrive at noon." in html
    assert "--mm-" not in html
    assert "mm-visual" not in html
    context = dict(re.findall(r"<dt>(\w+)</dt><dd>(.*?)</dd>", html))
    assert context == {
        "image_url": "",
        "icon": "fas fa-mug-hot",
        "icon_stylesheet": "/icons.css",
        "button_text": "Order status",
        "button_url": "https://status.example.com",
        "starts_at": "2026-11-22T07:00:00+01:00",
        "ends_at": "2099-11-22T09:30:00+01:00",
    }


def test_project_page_extends_the_default_page_and_replaces_blocks(
    client: Client, shop_maintenance: MaintenanceSettings
) -> None:
    with theme(TESTS / "templates_theme_blocks"):
        html = page(client)

    assert "<title>Bean &amp; Brew · Down for maintenance</title>" in html
    assert '<link rel="stylesheet" href="/static/shop/icons.css">' in html
    assert '<img src="/static/shop/logo.svg" alt="Bean &amp; Brew" class="shop-logo">' in html
    assert "fa-mug-hot" not in html
    assert "<h1>The shop is closed for a moment</h1>" in html
    assert '<p class="mm-message">Fresh beans arrive at noon.</p><p class="shop-note">Your basket is saved.</p>' in html
    assert 'href="https://status.example.com">Order status' in html
    assert 'href="tel:+33100000000">Call us' in html
    assert "Expected back by" in html  # the blocks left alone keep their content
    assert "--mm-accent:" in html


def test_project_changes_only_the_css_variables(client: Client, shop_maintenance: MaintenanceSettings) -> None:
    default = page(client)
    with theme(TESTS / "templates_theme_variables"):
        themed = page(client)

    assert themed == default.replace("\n</head>", THEME_VARIABLES_STYLE + "\n</head>", 1)


def test_example_shop_theme_renders(client: Client, shop_maintenance: MaintenanceSettings) -> None:
    with theme(ROOT / "example_project" / "templates"):
        html = page(client)

    assert "<title>Bean &amp; Brew · Down for maintenance</title>" in html
    assert "--mm-accent: #7a4a2a" in html
    assert "Fresh beans arrive at noon." in html


def test_every_css_variable_used_by_the_page_is_defined_and_documented(client: Client, maintenance: None) -> None:
    html = page(client)
    used = set(re.findall(r"var\((--mm-[a-z-]+)\)", html))
    documented = set(re.findall(r"^\| `(--mm-[a-z-]+)`", (ROOT / "docs" / "theming.md").read_text(), re.MULTILINE))

    assert used <= defined_variables(html)
    assert defined_variables(html) == documented


def test_built_in_icon_is_inline_and_the_page_loads_nothing_from_elsewhere(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    with override_settings(MAINTENANCE_MODE_ICON_STYLESHEET="https://cdn.example.com/fa.css"):
        html = page(client)

    assert '<svg viewBox="5 5 54 54"' in html
    for external in ("<link", "<img", "<script src", "url(", "@import", "http://", "https://"):
        assert external not in html


def test_icon_classes_without_a_configured_stylesheet_load_nothing(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    maintenance.icon = "fas fa-tools"
    maintenance.save()

    html = page(client)

    assert '<i class="fas fa-tools" aria-hidden="true"></i>' in html
    assert "<link" not in html
    assert "<svg" not in html


def test_icon_classes_load_the_configured_icon_stylesheet(client: Client, maintenance: MaintenanceSettings) -> None:
    maintenance.icon = "fas fa-tools"
    maintenance.save()

    with override_settings(MAINTENANCE_MODE_ICON_STYLESHEET="https://cdn.example.com/fa.css"):
        html = page(client)

    assert '<link rel="stylesheet" href="https://cdn.example.com/fa.css">' in html
    assert '<i class="fas fa-tools" aria-hidden="true"></i>' in html


def test_image_takes_the_place_of_the_icon(client: Client, maintenance: MaintenanceSettings) -> None:
    maintenance.image_url = "/static/shop/closed.png"
    maintenance.icon = "fas fa-tools"
    maintenance.save()

    html = page(client)

    assert '<img src="/static/shop/closed.png" alt="">' in html
    assert "fa-tools" not in html


def test_message_keeps_line_breaks_links_and_escapes_markup(client: Client, maintenance: MaintenanceSettings) -> None:
    maintenance.message = "Back at 10:00.\nSee https://status.example.com <b>now</b>"
    maintenance.save()

    html = page(client)

    assert (
        '<p class="mm-message">Back at 10:00.<br>See <a href="https://status.example.com" rel="nofollow">'
        "https://status.example.com</a> &lt;b&gt;now&lt;/b&gt;</p>"
    ) in html
