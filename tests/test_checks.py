"""System checks: each misconfiguration has an id and a hint."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from maintenance_mode import checks

BASE_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
OURS = "maintenance_mode.middleware.MaintenanceModeMiddleware"


def ids(**settings: Any) -> list[str]:
    # databases=[]: Django 6.1 hands every database to the model checks by
    # default (JSONField then opens a connection); these tests need none.
    with override_settings(**settings):
        messages = run_checks(databases=[])
    return [message.id for message in messages if message.id and message.id.startswith("maintenance_mode")]


def test_the_test_settings_pass() -> None:
    assert ids() == []


def test_missing_middleware_is_e001() -> None:
    assert ids(MIDDLEWARE=BASE_MIDDLEWARE) == ["maintenance_mode.E001"]


def test_middleware_before_authentication_is_e002() -> None:
    assert ids(MIDDLEWARE=[OURS, *BASE_MIDDLEWARE]) == ["maintenance_mode.E002"]


def test_middleware_before_messages_is_w001() -> None:
    middleware = [*BASE_MIDDLEWARE[:2], OURS, BASE_MIDDLEWARE[2]]
    assert ids(MIDDLEWARE=middleware) == ["maintenance_mode.W001"]


CORS = "corsheaders.middleware.CorsMiddleware"


def test_cors_middleware_after_this_one_is_w006() -> None:
    assert ids(MIDDLEWARE=[*BASE_MIDDLEWARE, OURS, CORS]) == ["maintenance_mode.W006"]


def test_cors_middleware_before_this_one_passes() -> None:
    assert ids(MIDDLEWARE=[CORS, *BASE_MIDDLEWARE, OURS]) == []


def test_misplaced_messages_and_cors_middleware_are_both_reported() -> None:
    middleware = [*BASE_MIDDLEWARE[:2], OURS, BASE_MIDDLEWARE[2], CORS]
    assert ids(MIDDLEWARE=middleware) == ["maintenance_mode.W001", "maintenance_mode.W006"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("EXEMPT_PATHS", ["/ok", "/bad [x"], "maintenance_mode.E003"),
        ("EXEMPT_PATHS", "/health", "maintenance_mode.E003"),
        ("JSON_PATHS", ["/api/[v1"], "maintenance_mode.E004"),
        ("ALLOWED_IPS", ["10.0.0.0/33"], "maintenance_mode.E005"),
        ("ALLOWED_IPS", "10.0.0.1", "maintenance_mode.E005"),
        ("STATE_TTL", -1, "maintenance_mode.E006"),
        ("STATE_TTL", "1", "maintenance_mode.E006"),
        ("FIRST_READ_TIMEOUT", -1, "maintenance_mode.E006"),
        ("FIRST_READ_TIMEOUT", None, "maintenance_mode.E006"),
        ("PUBLISH_TIMEOUT", 0, "maintenance_mode.E006"),
        ("PUBLISH_TIMEOUT", "2", "maintenance_mode.E006"),
        ("BACKGROUND_REFRESH", "no", "maintenance_mode.E006"),
        ("CACHE_TIMEOUT", 0, "maintenance_mode.E006"),
        ("FORCE", "yes", "maintenance_mode.E006"),
        ("RENDER_WITH_REQUEST", "auto", "maintenance_mode.E006"),
        ("FAIL_CLOSED", 1, "maintenance_mode.E006"),
        ("PROXY_COUNT", -1, "maintenance_mode.E006"),
        ("RETRY_AFTER", 0, "maintenance_mode.E006"),
        ("PROXY_HEADER", "X-Forwarded-For", "maintenance_mode.E006"),
        ("TRUSTED_PROXIES", ["10.0.0.0/33"], "maintenance_mode.E005"),
        ("TRUSTED_PROXIES", "10.0.0.2", "maintenance_mode.E005"),
        ("BYPASS_COOKIE_NAME", "bad name", "maintenance_mode.E006"),
        ("BASE_URL", "shop.example", "maintenance_mode.E006"),
        ("TEMPLATE", "no/such.html", "maintenance_mode.E007"),
        ("ADMIN_CHECK", "", "maintenance_mode.E008"),
        ("ADMIN_CHECK", "no.such.module.func", "maintenance_mode.E008"),
        ("ADMIN_CHECK", "maintenance_mode.conf.PREFIX", "maintenance_mode.E008"),
        ("CACHE_ALIAS", "nope", "maintenance_mode.E009"),
    ],
)
def test_bad_setting_is_reported(name: str, value: object, expected: str) -> None:
    assert expected in ids(**{f"MAINTENANCE_MODE_{name}": value})


def test_declaring_proxies_two_ways_is_e010() -> None:
    assert ids(MAINTENANCE_MODE_PROXY_COUNT=1, MAINTENANCE_MODE_TRUSTED_PROXIES=["10.0.0.2"]) == [
        "maintenance_mode.E010"
    ]


def test_no_cache_alias_is_fine() -> None:
    assert ids(MAINTENANCE_MODE_CACHE_ALIAS=None) == []


def test_every_message_has_a_hint() -> None:
    with override_settings(MIDDLEWARE=BASE_MIDDLEWARE, MAINTENANCE_MODE_ALLOWED_IPS=["x"]):
        messages = checks.check_middleware() + checks.check_settings()
    assert messages
    assert all(message.hint for message in messages)


@pytest.mark.parametrize("pattern", ["/*", "*", "/**"])
def test_exemption_that_opens_everything_is_w003(pattern: str) -> None:
    assert ids(MAINTENANCE_MODE_EXEMPT_PATHS=[pattern]) == ["maintenance_mode.W003"]


def test_use_tz_off_is_e011() -> None:
    assert "maintenance_mode.E011" in ids(USE_TZ=False)
