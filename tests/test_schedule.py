"""Planned windows: parsing, DST, and the boundaries as visitors see them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, TestCase, override_settings

from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.schedule import parse_duration, parse_instant

UTC = dt_timezone.utc  # datetime.UTC is Python 3.11+


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("45s", timedelta(seconds=45)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations_are_parsed(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "1.5h", "-2h", "h", "30m1h", "0m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--for", "99999999999d"], "longer than any calendar"),  # beyond timedelta itself
        (["--for", "3000000d"], "past the year 9999"),  # a timedelta, but no date
        (["--start", "9999-12-31T23:30Z", "--for", "1h"], "past the year 9999"),
        (["--end", "9999-12-31T23:59-05:00"], "ends_at: Pick a time between the years 1 and 9999 in UTC"),
        (["--start", "0001-01-01T00:30+05:00"], "starts_at: Pick a time between the years 1 and 9999 in UTC"),
    ],
)
def test_durations_past_the_calendar_are_a_clear_error_and_change_nothing(arguments: list[str], words: str) -> None:
    with pytest.raises(CommandError, match=words):
        call_command("maintenance", "on", *arguments)
    assert not MaintenanceSettings.load().enabled


def test_aware_instant_keeps_its_offset() -> None:
    assert parse_instant("2030-03-01T10:00+05:00") == datetime(2030, 3, 1, 5, tzinfo=UTC)
    assert parse_instant("2030-03-01T10:00Z") == datetime(2030, 3, 1, 10, tzinfo=UTC)


def test_naive_instant_uses_winter_and_summer_offsets() -> None:
    assert parse_instant("2030-01-15T12:00") == datetime(2030, 1, 15, 11, tzinfo=UTC)  # CET
    assert parse_instant("2030-07-15T12:00") == datetime(2030, 7, 15, 10, tzinfo=UTC)  # CEST


@pytest.mark.parametrize(
    "text",
    [
        "2030-03-31T02:30",  # skipped: clocks jump from 02:00 to 03:00 in Paris
        "2030-10-27T02:30",  # repeated: 02:00-03:00 happens twice
    ],
)
def test_local_times_that_dst_skips_or_repeats_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="daylight saving"):
        parse_instant(text)


def test_dst_ambiguity_is_resolved_by_an_offset() -> None:
    assert parse_instant("2030-10-27T02:30+01:00") == datetime(2030, 10, 27, 1, 30, tzinfo=UTC)


def test_unparseable_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_instant("next tuesday")


@pytest.fixture
def window(db: None) -> MaintenanceSettings:
    row = MaintenanceSettings.load()
    row.enabled = True
    row.starts_at = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
    row.ends_at = datetime(2030, 6, 1, 22, 0, tzinfo=UTC)
    with TestCase.captureOnCommitCallbacks(execute=True):
        row.save()
    return row


def at(moment: datetime) -> mock._patch[mock.MagicMock]:
    return mock.patch("maintenance_mode.middleware.time.time", return_value=moment.timestamp())


def test_site_is_live_just_before_the_start(window: MaintenanceSettings, client: Client) -> None:
    with at(datetime(2030, 6, 1, 19, 59, 59, 999000, tzinfo=UTC)):
        assert client.get("/").status_code == 200


def test_page_is_shown_exactly_at_the_start(window: MaintenanceSettings, client: Client) -> None:
    with at(datetime(2030, 6, 1, 20, 0, tzinfo=UTC)):
        response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(2 * 60 * 60)


def test_site_is_live_again_exactly_at_the_end(window: MaintenanceSettings, client: Client) -> None:
    with at(datetime(2030, 6, 1, 22, 0, tzinfo=UTC)):
        assert client.get("/").status_code == 200


def test_retry_after_counts_down_to_the_end(window: MaintenanceSettings, client: Client) -> None:
    with at(datetime(2030, 6, 1, 21, 59, 0, 500000, tzinfo=UTC)):
        assert client.get("/")["Retry-After"] == "60"


def test_json_body_carries_the_end_in_iso_8601(window: MaintenanceSettings, client: Client) -> None:
    with at(datetime(2030, 6, 1, 21, 0, tzinfo=UTC)):
        body = json.loads(client.get("/", HTTP_ACCEPT="application/json").content)
    assert body["ends_at"] == "2030-06-01T22:00:00+00:00"
    assert body["starts_at"] == "2030-06-01T20:00:00+00:00"
    assert body["retry_after"] == 3600


def test_page_shows_the_end_in_the_site_time_zone(window: MaintenanceSettings, client: Client) -> None:
    with at(datetime(2030, 6, 1, 21, 0, tzinfo=UTC)):
        content = client.get("/").content.decode()
    assert 'datetime="2030-06-02T00:00:00+02:00"' in content  # 22:00 UTC is midnight in Paris (CEST)
    assert "data-mm-countdown" in content


@override_settings(TIME_ZONE="America/New_York")
def test_window_across_a_dst_change_keeps_its_real_length(db: None) -> None:
    """From 01:00 EDT to 03:00 EST on the day clocks go back is three real hours."""
    from django.core.management import call_command

    call_command("maintenance", "on", "--start", "2030-11-03T00:30", "--end", "2030-11-03T03:00", stdout=mock.Mock())
    row = MaintenanceSettings.load()
    assert row.starts_at is not None
    assert row.ends_at is not None
    assert row.ends_at - row.starts_at == timedelta(hours=3, minutes=30)


def test_page_follows_the_visitors_activated_time_zone(window: MaintenanceSettings) -> None:
    from django.utils import timezone as django_timezone

    from maintenance_mode import page, state

    snapshot = state.current()
    paris = page.page_bytes(snapshot)
    with django_timezone.override("America/New_York"):
        new_york = page.page_bytes(snapshot)
    assert b'datetime="2030-06-02T00:00:00+02:00"' in paris
    assert b'datetime="2030-06-01T18:00:00-04:00"' in new_york
