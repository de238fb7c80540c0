"""The secret bypass link: set, use, tamper, expire, revoke, unsafe next."""

from __future__ import annotations

import re
import time
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from maintenance_mode import bypass
from maintenance_mode.models import MaintenanceSettings
from tests.headers import cache_directives

pytestmark = pytest.mark.django_db

SECRET = "letmein-7Qx2-preview"


@pytest.fixture
def with_secret(maintenance: MaintenanceSettings) -> MaintenanceSettings:
    maintenance.bypass_secret = SECRET
    maintenance.save()
    return maintenance


def test_secret_link_sets_a_signed_httponly_lax_cookie_and_redirects_home(
    client: Client, with_secret: MaintenanceSettings
) -> None:
    response = client.get(f"/{SECRET}")
    assert response.status_code == 302
    assert response["Location"] == "/"
    cookie = response.cookies["maintenance_bypass"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]
    assert int(cookie["max-age"]) == 12 * 60 * 60
    assert SECRET not in cookie.value
    assert "no-store" in cache_directives(response)


def test_secret_link_cookie_is_secure_over_https(client: Client, with_secret: MaintenanceSettings) -> None:
    response = client.get(f"/{SECRET}", secure=True)
    assert response.cookies["maintenance_bypass"]["secure"]


def test_bypass_cookie_holder_sees_the_live_site_with_indicator(
    client: Client, with_secret: MaintenanceSettings
) -> None:
    client.get(f"/{SECRET}")
    response = client.get("/")
    assert response.status_code == 200
    assert b"maintenance-mode-indicator" in response.content


def test_secret_link_with_trailing_slash_grants_the_cookie_too(
    client: Client, with_secret: MaintenanceSettings
) -> None:
    response = client.get(f"/{SECRET}/")
    assert response.status_code == 302
    assert bypass.cookie_is_valid(response.cookies["maintenance_bypass"].value, SECRET)
    assert client.get("/").status_code == 200  # the browser now holds it


def test_secret_link_follows_a_safe_next(client: Client, with_secret: MaintenanceSettings) -> None:
    response = client.get(f"/{SECRET}", {"next": "/order/3/edit?x=1"})
    assert response["Location"] == "/order/3/edit?x=1"


def test_https_secret_link_never_sends_the_browser_to_plain_http(
    client: Client, with_secret: MaintenanceSettings
) -> None:
    """Same host, but http: following it would drop the new cookie's Secure channel."""
    response = client.get(f"/{SECRET}", {"next": "http://testserver/order/3/edit"}, secure=True)
    assert response["Location"] == "/"


def test_https_secret_link_follows_a_next_on_the_same_https_site(
    client: Client, with_secret: MaintenanceSettings
) -> None:
    response = client.get(f"/{SECRET}", {"next": "https://testserver/order/3/edit"}, secure=True)
    assert response["Location"] == "https://testserver/order/3/edit"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "\\\\evil"])
def test_secret_link_ignores_an_unsafe_next(client: Client, with_secret: MaintenanceSettings, target: str) -> None:
    response = client.get(f"/{SECRET}", {"next": target})
    assert response["Location"] == "/"


def test_wrong_secret_gets_the_maintenance_page(client: Client, with_secret: MaintenanceSettings) -> None:
    response = client.get(f"/{SECRET[:-1]}x")
    assert response.status_code == 503
    assert "maintenance_bypass" not in response.cookies


def test_no_secret_configured_means_no_bypass_path(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/").status_code == 503
    assert bypass.is_secret_path("/", "") is False


def test_tampered_cookie_is_ignored(client: Client, with_secret: MaintenanceSettings) -> None:
    value = bypass.make_cookie_value(SECRET)
    client.cookies["maintenance_bypass"] = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    assert client.get("/").status_code == 503


def test_forged_unsigned_cookie_is_ignored(client: Client, with_secret: MaintenanceSettings) -> None:
    client.cookies["maintenance_bypass"] = "1"
    assert client.get("/").status_code == 503


def test_expired_cookie_is_ignored(client: Client, with_secret: MaintenanceSettings) -> None:
    client.get(f"/{SECRET}")
    later = time.time() + 12 * 60 * 60 + 5
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert client.get("/").status_code == 503


@override_settings(MAINTENANCE_MODE_BYPASS_COOKIE_AGE=60)
def test_cookie_age_setting_bounds_the_cookie(client: Client, with_secret: MaintenanceSettings) -> None:
    response = client.get(f"/{SECRET}")
    assert int(response.cookies["maintenance_bypass"]["max-age"]) == 60
    with mock.patch("django.core.signing.time.time", return_value=time.time() + 61):
        assert client.get("/").status_code == 503


def test_changing_the_secret_revokes_every_cookie(client: Client, with_secret: MaintenanceSettings) -> None:
    client.get(f"/{SECRET}")
    assert client.get("/").status_code == 200
    with_secret.bypass_secret = "another-secret-value-42"
    with_secret.save()
    assert client.get("/").status_code == 503


def test_clearing_the_secret_revokes_every_cookie(client: Client, with_secret: MaintenanceSettings) -> None:
    client.get(f"/{SECRET}")
    with_secret.bypass_secret = ""
    with_secret.save()
    assert client.get("/").status_code == 503


def test_old_secret_path_no_longer_grants_a_cookie(client: Client, with_secret: MaintenanceSettings) -> None:
    with_secret.bypass_secret = "another-secret-value-42"
    with_secret.save()
    assert client.get(f"/{SECRET}").status_code == 503


def test_cookie_from_another_site_key_is_ignored(client: Client, with_secret: MaintenanceSettings) -> None:
    with override_settings(SECRET_KEY="some-other-deployment"):
        value = bypass.make_cookie_value(SECRET)
    client.cookies["maintenance_bypass"] = value
    assert client.get("/").status_code == 503


@pytest.mark.parametrize(
    ("path", "matches"),
    [
        (f"/{SECRET}", True),
        (f"/{SECRET}/", True),
        (f"/{SECRET[:-1]}", False),  # a prefix of the secret
        (f"/{SECRET}x", False),
        (f"/X{SECRET}X", False),  # characters around it, whatever they are
        (f"/{SECRET.upper()}", False),
        (f"/shop/{SECRET}", False),
        (f"/{SECRET}/orders/", False),
        ("/", False),
        ("/caf\u00e9", False),  # non-ASCII text is compared, not an error
    ],
)
def test_secret_path_is_the_whole_secret_and_nothing_else(path: str, matches: bool) -> None:
    assert bypass.is_secret_path(path, SECRET) is matches


def test_cookie_is_not_valid_without_value_or_secret() -> None:
    assert bypass.cookie_is_valid(None, SECRET) is False
    assert bypass.cookie_is_valid(bypass.make_cookie_value(SECRET), "") is False


def test_secret_link_when_maintenance_is_off_reaches_the_site(client: Client) -> None:
    row = MaintenanceSettings.load()
    row.bypass_secret = SECRET
    row.save()
    assert client.get(f"/{SECRET}").status_code == 404


def test_secret_link_under_a_script_prefix_redirects_to_the_sites_home(
    client: Client, with_secret: MaintenanceSettings
) -> None:
    response = client.get(f"/{SECRET}", SCRIPT_NAME="/shop")
    assert response["Location"] == "/shop/"


@pytest.mark.parametrize(
    "script_name", ["//evil.example", "/\\evil.example", "https://evil.example", "//testserver", "http://testserver"]
)
def test_secret_link_under_a_script_prefix_naming_a_host_redirects_to_this_sites_root(
    client: Client, with_secret: MaintenanceSettings, script_name: str
) -> None:
    response = client.get(f"/{SECRET}", SCRIPT_NAME=script_name)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert bypass.cookie_is_valid(response.cookies["maintenance_bypass"].value, SECRET)


def test_generated_secret_is_32_url_safe_characters_and_opens_the_site(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    call_command("maintenance", "on", "--with-secret", stdout=StringIO())
    secret = MaintenanceSettings.load().bypass_secret
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", secret)  # the README: "--with-secret, 32 random characters"
    assert client.get(f"/{secret}").status_code == 302


def test_https_secret_link_under_a_script_prefix_naming_plain_http_redirects_to_this_sites_root(
    client: Client, with_secret: MaintenanceSettings
) -> None:
    """This site's own host, but http: a forged prefix must not drop the new cookie's Secure channel either."""
    response = client.get(f"/{SECRET}", SCRIPT_NAME="http://testserver", secure=True)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies["maintenance_bypass"]["secure"]
