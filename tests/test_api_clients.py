"""API clients: browsers calling the API from another origin through
django-cors-headers, ``fetch()``'s default ``Accept: */*``, and Django REST
framework views, all with the real packages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from maintenance_mode.checks import CORS_MIDDLEWARE
from maintenance_mode.models import MaintenanceSettings

OURS = "maintenance_mode.middleware.MaintenanceModeMiddleware"
APP = "https://app.example"
# What the README says to set for browser clients.
CORS = {"CORS_ALLOWED_ORIGINS": [APP], "CORS_EXPOSE_HEADERS": ["Retry-After"]}


def stack(cors_first: bool) -> list[str]:
    ours = [name for name in settings.MIDDLEWARE if name != OURS]
    return [CORS_MIDDLEWARE, *ours, OURS] if cors_first else [*ours, OURS, CORS_MIDDLEWARE]


cors_first = override_settings(MIDDLEWARE=stack(cors_first=True), **CORS)
cors_last = override_settings(MIDDLEWARE=stack(cors_first=False), **CORS)


@pytest.fixture
def maintenance_for_an_hour(maintenance: MaintenanceSettings) -> MaintenanceSettings:
    maintenance.ends_at = timezone.now() + timedelta(hours=1)
    maintenance.save()
    return maintenance


def preflight(client: Client, path: str) -> object:
    return client.options(
        path, HTTP_ORIGIN=APP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET", HTTP_ACCESS_CONTROL_REQUEST_HEADERS="accept"
    )


@cors_first
def test_preflight_is_answered_during_maintenance_when_cors_comes_first(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    response = preflight(client, "/api/items/")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response["Access-Control-Allow-Origin"] == APP  # type: ignore[index]


@cors_first
def test_503_json_keeps_the_cors_headers_when_cors_comes_first(
    client: Client, maintenance_for_an_hour: MaintenanceSettings
) -> None:
    response = client.get("/api/items/", HTTP_ORIGIN=APP, HTTP_ACCEPT="*/*")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Expose-Headers"] == "Retry-After"  # so the browser's script can read it
    assert 3500 < int(response["Retry-After"]) <= 3600
    assert json.loads(response.content)["maintenance"] is True


@cors_last
def test_cors_after_this_middleware_loses_the_headers_a_browser_needs(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    """What maintenance_mode.W006 warns about."""
    answer = client.get("/api/items/", HTTP_ORIGIN=APP)
    assert answer.status_code == 503
    assert "Access-Control-Allow-Origin" not in answer
    assert preflight(client, "/api/items/").status_code == 503  # type: ignore[attr-defined]


@cors_first
def test_cors_headers_still_follow_their_own_rules(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.get("/api/items/", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 503
    assert "Access-Control-Allow-Origin" not in response


# fetch() sends "Accept: */*" unless told otherwise: only JSON_PATHS gets it JSON.


@override_settings(ROOT_URLCONF="tests.urls_api", MAINTENANCE_MODE_JSON_PATHS=[])
def test_fetch_default_accept_gets_the_html_page_without_json_paths(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    response = client.get("/v1/orders/", HTTP_ACCEPT="*/*")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")


@override_settings(ROOT_URLCONF="tests.urls_api", MAINTENANCE_MODE_JSON_PATHS=["/v1/*"])
def test_fetch_default_accept_gets_json_on_json_paths(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.get("/v1/orders/", HTTP_ACCEPT="*/*")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"


# Django REST framework


@override_settings(ROOT_URLCONF="tests.urls_api")
def test_rest_framework_api_answers_normally_when_maintenance_is_off(client: Client, db: None) -> None:
    assert client.get("/v1/orders/", HTTP_ACCEPT="application/json").json() == {"orders": [{"id": 1}]}
    assert client.get("/v1/products/", HTTP_ACCEPT="application/json").json() == [{"sku": "beans-1kg"}]


@override_settings(ROOT_URLCONF="tests.urls_api")
def test_rest_framework_view_gets_the_503_json_during_maintenance(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    response = client.get("/v1/products/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json()["maintenance"] is True


@override_settings(ROOT_URLCONF="tests.urls_api")
def test_exempt_rest_framework_api_view_keeps_working(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.post("/v1/payments/webhook/", {"event": "paid"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"received": True}


@override_settings(ROOT_URLCONF="tests.urls_api")
def test_exempt_rest_framework_viewset_keeps_working(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.get("/v1/health/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@override_settings(ROOT_URLCONF="tests.urls_api")
def test_staff_session_still_reaches_the_rest_framework_api(
    staff_client: Client, maintenance: MaintenanceSettings
) -> None:
    assert staff_client.get("/v1/orders/", HTTP_ACCEPT="application/json").status_code == 200
