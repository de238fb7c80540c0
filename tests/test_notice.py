"""What the live site tells visitors: banner, context processor, status endpoint."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from unittest import mock

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory, TestCase, override_settings
from django.utils import timezone

from maintenance_mode.context_processors import maintenance
from maintenance_mode.models import MaintenanceSettings
from tests.headers import cache_directives

UTC = dt_timezone.utc  # datetime.UTC is Python 3.11+

pytestmark = pytest.mark.django_db


def plan(start: datetime | None, end: datetime | None, **fields: Any) -> MaintenanceSettings:
    row = MaintenanceSettings.load()
    row.enabled = True
    row.starts_at, row.ends_at = start, end
    for name, value in fields.items():
        setattr(row, name, value)
    with TestCase.captureOnCommitCallbacks(execute=True):
        row.save()
    return row


def banner() -> str:
    return Template("{% load maintenance_mode %}{% maintenance_banner %}").render(Context())


def test_banner_is_empty_when_nothing_is_planned() -> None:
    assert banner() == ""


def at_noon_paris(hours_ahead: int = 0) -> mock._patch[mock.MagicMock]:
    moment = datetime(2100, 1, 1, 11, tzinfo=UTC) + timedelta(hours=hours_ahead)  # 12:00 in Paris
    return mock.patch("maintenance_mode.notice.time.time", return_value=moment.timestamp())


def test_banner_for_a_same_day_window_names_the_day_once_with_the_zone() -> None:
    plan(datetime(2100, 1, 1, 21, tzinfo=UTC), datetime(2100, 1, 1, 22, 30, tzinfo=UTC))
    with at_noon_paris():
        html = banner()
    assert "Scheduled maintenance on Jan. 1, 2100 from 10 p.m. to 11:30 p.m. (CET)." in html
    assert "The site will be unavailable during that time." in html
    assert 'role="region"' in html
    assert "Dismiss" in html


def test_banner_for_a_window_across_midnight_gives_both_dates() -> None:
    plan(datetime(2100, 1, 1, 22, tzinfo=UTC), datetime(2100, 1, 2, 1, tzinfo=UTC))
    with at_noon_paris():
        html = banner()
    assert "Scheduled maintenance from Jan. 1, 2100, 11 p.m. to Jan. 2, 2100, 2 a.m. (CET)." in html


def test_banner_without_an_end_says_from_when() -> None:
    plan(datetime(2100, 1, 1, 21, tzinfo=UTC), None)
    with at_noon_paris():
        html = banner()
    assert "Scheduled maintenance on Jan. 1, 2100 from 10 p.m. (CET)." in html


@override_settings(MAINTENANCE_MODE_BANNER_LEAD_TIME=3600)
def test_banner_stays_hidden_before_the_lead_time() -> None:
    plan(timezone.now() + timedelta(hours=5), None)
    assert banner() == ""


def test_banner_disappears_once_maintenance_starts() -> None:
    plan(timezone.now() - timedelta(minutes=1), None)
    assert banner() == ""


def test_banner_adds_no_query_to_the_page(django_assert_num_queries: Any) -> None:
    plan(timezone.now() + timedelta(hours=5), None)
    with override_settings(MAINTENANCE_MODE_STATE_TTL=60):
        banner()
        with django_assert_num_queries(0):
            assert "Scheduled maintenance" in banner()


@override_settings(LANGUAGE_CODE="fr")
def test_banner_uses_the_visitors_language() -> None:
    from django.utils import translation

    plan(datetime(2100, 1, 1, 20, tzinfo=UTC), None)
    with (
        translation.override("fr"),
        mock.patch("maintenance_mode.notice.time.time", return_value=datetime(2100, 1, 1, 10, tzinfo=UTC).timestamp()),
    ):
        html = banner()
    assert "Maintenance planifiée le 1 janvier 2100 à partir de 21:00 (CET)." in html
    assert "Le site sera indisponible pendant cette période." in html


def test_context_processor_is_lazy_and_reads_the_snapshot(django_assert_num_queries: Any) -> None:
    start = timezone.now() + timedelta(hours=1)
    plan(start, None, message="DB upgrade")
    with override_settings(MAINTENANCE_MODE_STATE_TTL=60):
        context = maintenance(RequestFactory().get("/"))
        notice = context["maintenance"]
        assert notice.upcoming  # type: ignore[attr-defined]
        with django_assert_num_queries(0):
            assert not notice.active  # type: ignore[attr-defined]
            assert notice.message == "DB upgrade"  # type: ignore[attr-defined]


def test_status_endpoint_when_off(client: Client) -> None:
    response = client.get("/maintenance/status/")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "maintenance": False,
        "read_only": False,
        "message": None,  # nothing is announced: no message is published
        "starts_at": None,
        "ends_at": None,
        "retry_after": None,
    }
    assert "no-store" in cache_directives(response)
    assert response["Access-Control-Allow-Origin"] == "*"


def test_status_endpoint_stays_reachable_during_maintenance(client: Client) -> None:
    end = timezone.now() + timedelta(minutes=10)
    plan(None, end, message="Upgrading")
    body = json.loads(client.get("/maintenance/status/").content)
    assert body["maintenance"] is True
    assert body["message"] == "Upgrading"
    assert body["ends_at"] == end.astimezone(UTC).isoformat()
    assert 0 < body["retry_after"] <= 600


def test_status_endpoint_is_read_only(client: Client) -> None:
    assert client.post("/maintenance/status/").status_code == 405


def test_open_ended_notice_is_not_a_same_day_window() -> None:
    from maintenance_mode.notice import Notice

    start = datetime(2100, 1, 1, 21, tzinfo=UTC)
    assert not Notice(False, True, start, None, "", 1).same_day
    assert Notice(False, True, start, start + timedelta(hours=1), "", 1).same_day


def test_banner_across_a_dst_change_names_both_zones() -> None:
    plan(datetime(2100, 3, 27, 21, tzinfo=UTC), datetime(2100, 3, 28, 3, tzinfo=UTC))  # Paris springs forward
    with mock.patch("maintenance_mode.notice.time.time", return_value=datetime(2100, 3, 27, tzinfo=UTC).timestamp()):
        html = banner()
    assert "to March 28, 2100, 5 a.m. (CET → CEST)." in html


def test_status_endpoint_gives_no_retry_after_when_off(client: Client, settings: Any) -> None:
    settings.MAINTENANCE_MODE_RETRY_AFTER = 600
    body = json.loads(client.get("/maintenance/status/").content)
    assert body["maintenance"] is False
    assert body["retry_after"] is None
