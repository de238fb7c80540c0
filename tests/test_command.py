"""``manage.py maintenance on|off|status``: options, output, errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.cache import BaseCache
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from maintenance_mode.models import MaintenanceEvent, MaintenanceSettings

UTC = dt_timezone.utc  # datetime.UTC is Python 3.11+

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("maintenance", *args, stdout=out)
    return out.getvalue()


def row() -> MaintenanceSettings:
    return MaintenanceSettings.load()


def test_on_enables_and_prints_the_status() -> None:
    output = run("on")
    assert row().enabled
    assert "Maintenance mode: ON" in output


def test_off_disables() -> None:
    run("on")
    output = run("off")
    assert not row().enabled
    assert "Maintenance mode: off" in output


def test_on_sets_every_page_option() -> None:
    run(
        "on",
        "--message",
        "Upgrading the database",
        "--image-url",
        "/static/logo.svg",
        "--icon",
        "fas fa-tools",
        "--button-text",
        "Status",
        "--button-url",
        "https://status.example.com",
    )
    settings = row()
    assert settings.message == "Upgrading the database"
    assert settings.image_url == "/static/logo.svg"
    assert settings.icon == "fas fa-tools"
    assert settings.button_text == "Status"
    assert settings.bypass_url == "https://status.example.com"


def test_running_on_again_updates_only_the_given_options() -> None:
    run("on", "--message", "first", "--icon", "fa fa-cog")
    run("on", "--message", "second")
    settings = row()
    assert settings.message == "second"
    assert settings.icon == "fa fa-cog"


def test_secret_option_prints_the_bypass_link() -> None:
    with override_settings(MAINTENANCE_MODE_BASE_URL="https://shop.example/"):
        output = run("on", "--secret", "preview-token-123")
    assert row().bypass_secret == "preview-token-123"
    assert "bypass link: https://shop.example/preview-token-123" in output


def test_with_secret_generates_a_fresh_token_on_every_run() -> None:
    output = run("on", "--with-secret")
    secret = row().bypass_secret
    assert len(secret) >= 24
    assert f"/{secret}" in output
    run("on", "--with-secret")
    assert row().bypass_secret != secret  # as --help says: generated, so earlier links stop working


def test_no_secret_removes_the_secret() -> None:
    run("on", "--secret", "preview-token-123")
    run("on", "--no-secret")
    assert row().bypass_secret == ""


def test_secret_and_with_secret_are_exclusive() -> None:
    with pytest.raises(CommandError):
        run("on", "--secret", "preview-token-123", "--with-secret")


def test_allow_is_repeatable_and_replaces_the_list() -> None:
    run("on", "--allow", "10.0.0.1", "--allow", "2001:db8::/32")
    assert row().allowed_ips == "10.0.0.1\n2001:db8::/32"
    output = run("on", "--allow", "192.168.0.0/16")
    assert row().allowed_ips == "192.168.0.0/16"
    assert "allowed IPs: 192.168.0.0/16" in output


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--allow", "10.0.0.300"], "not an IP address"),
        (["--image-url", "javascript:alert(1)"], "image_url"),
        (["--button-url", "ftp://files.example"], "bypass_url"),
        (["--icon", 'fa" onmouseover="x'], "icon"),
        (["--secret", "short"], "bypass_secret"),
        (["--for", "soon"], "not a duration"),
        (["--end", "yesterday-ish"], "not an ISO 8601 time"),
        (["--end", "2001-01-01T00:00Z"], "in the past"),
        (["--start", "2100-01-02T00:00Z", "--end", "2100-01-01T00:00Z"], "end must come after the start"),
    ],
)
def test_bad_input_fails_and_changes_nothing(args: list[str], complaint: str) -> None:
    run("on", "--message", "before")
    version = row().version
    events = MaintenanceEvent.objects.count()
    with pytest.raises(CommandError) as error:
        run("on", "--message", "after", *args)
    assert complaint in str(error.value)
    assert row().message == "before"
    assert row().version == version
    assert MaintenanceEvent.objects.count() == events


def test_for_sets_the_end_from_now() -> None:
    before = timezone.now()
    run("on", "--for", "1h30m")
    end = row().ends_at
    assert end is not None
    assert before + timedelta(minutes=90) <= end <= timezone.now() + timedelta(minutes=90)


def test_for_after_a_future_start_counts_from_the_start() -> None:
    run("on", "--start", "2100-01-01T10:00+00:00", "--for", "2h")
    assert row().ends_at == datetime(2100, 1, 1, 12, tzinfo=UTC)


def test_start_and_end_in_iso_8601() -> None:
    output = run("on", "--start", "2100-01-01T10:00+00:00", "--end", "2100-01-01T12:00Z")
    settings = row()
    assert settings.starts_at == datetime(2100, 1, 1, 10, tzinfo=UTC)
    assert settings.ends_at == datetime(2100, 1, 1, 12, tzinfo=UTC)
    assert "SCHEDULED" in output
    assert "starts:      2100-01-01 11:00 CET" in output  # shown in TIME_ZONE (Europe/Paris)


def test_naive_times_are_read_in_the_site_time_zone() -> None:
    run("on", "--start", "2100-07-01T10:00", "--end", "2100-07-01T12:00")
    assert row().starts_at == datetime(2100, 7, 1, 8, tzinfo=UTC)  # CEST is UTC+2


def test_on_again_after_a_finished_window_starts_clean() -> None:
    settings = MaintenanceSettings.load()
    settings.enabled = True
    settings.starts_at = timezone.now() - timedelta(hours=3)
    settings.ends_at = timezone.now() - timedelta(hours=1)
    settings.save()
    run("on")
    settings = row()
    assert settings.starts_at is None
    assert settings.ends_at is None


def test_off_clears_the_schedule() -> None:
    run("on", "--for", "2h")
    run("off")
    assert row().ends_at is None


def test_status_shows_the_time_left() -> None:
    run("on", "--for", "2h", "--message", "Upgrading")
    output = run("status")
    assert "Maintenance mode: ON" in output
    assert "(in 1h59m)" in output or "(in 2h00m)" in output
    assert "message:     Upgrading" in output


def test_status_shows_minutes_only_under_an_hour() -> None:
    run("on", "--for", "30m")
    assert "(in 29m)" in run("status") or "(in 30m)" in run("status")


def test_status_of_an_untouched_site() -> None:
    output = run("status")
    assert "Maintenance mode: off" in output
    assert "(the default message)" in output


def test_status_json_is_machine_readable() -> None:
    run("on", "--message", "m", "--allow", "10.0.0.0/8", "--secret", "preview-token-123", "--for", "10m")
    data = json.loads(run("status", "--json"))
    assert data["active"] is True
    assert data["enabled"] is True
    assert data["forced"] is None
    assert data["message"] == "m"
    assert data["allowed_ips"] == ["10.0.0.0/8"]
    assert data["bypass_link"] == "/preview-token-123"
    assert 0 < data["retry_after"] <= 600
    assert data["ends_at"].endswith("+00:00")
    assert data["starts_at"] is None
    assert data["version"] == row().version


def test_on_read_only_switches_maintenance_on_in_read_only_mode() -> None:
    output = run("on", "--read-only", "--for", "30m")
    settings = row()
    assert settings.enabled
    assert settings.mode == MaintenanceSettings.Mode.READ_ONLY
    assert "Maintenance mode: ON" in output
    assert "mode:        read-only" in output
    assert json.loads(run("status", "--json"))["mode"] == "read-only"


def test_plain_on_keeps_the_mode_already_set() -> None:
    run("on", "--read-only")
    run("off")
    run("on", "--message", "again")
    assert row().mode == MaintenanceSettings.Mode.READ_ONLY


def test_full_switches_back_to_the_maintenance_page() -> None:
    run("on", "--read-only")
    output = run("on", "--full")
    assert row().mode == MaintenanceSettings.Mode.FULL
    assert "mode:        full" in output
    assert json.loads(run("status", "--json"))["mode"] == "full"


def test_read_only_and_full_together_are_refused() -> None:
    with pytest.raises(CommandError, match="not allowed with argument"):
        run("on", "--read-only", "--full")
    assert not row().enabled


def test_mode_change_by_the_command_is_recorded() -> None:
    run("on")
    run("on", "--read-only")
    event = MaintenanceEvent.objects.first()
    assert event is not None
    assert event.changes == {"mode": ["full", "read-only"]}


def test_status_shows_a_mode_written_behind_the_apps_back_as_it_is() -> None:
    MaintenanceSettings.load()
    MaintenanceSettings.objects.update(mode="half")
    assert "mode:        half" in run("status")


def test_status_json_when_off() -> None:
    data = json.loads(run("status", "--json"))
    assert data["active"] is False
    assert data["retry_after"] is None
    assert data["bypass_link"] == ""


@override_settings(MAINTENANCE_MODE_FORCE=True)
def test_status_reports_the_force_override() -> None:
    output = run("status")
    assert "Maintenance mode: ON" in output
    assert "forced on by MAINTENANCE_MODE_FORCE" in output
    assert json.loads(run("status", "--json"))["forced"] is True


@override_settings(MAINTENANCE_MODE_FORCE=True)
def test_on_read_only_while_forced_on_says_visitors_get_the_full_page_first() -> None:
    output = run("on", "--read-only", "--message", "Back at noon")
    lines = output.splitlines()
    assert lines[0] == "Maintenance mode: ON"
    assert "visitors get the full maintenance page" in lines[1]  # before the saved mode
    assert "the settings below are saved and apply once it is unset" in lines[1]
    assert lines[2].startswith("  mode:        read-only")
    assert MaintenanceSettings.load().mode == MaintenanceSettings.Mode.READ_ONLY


@override_settings(MAINTENANCE_MODE_FORCE=False)
def test_on_while_forced_off_says_visitors_get_the_live_site() -> None:
    lines = run("on").splitlines()
    assert lines[0] == "Maintenance mode: off"
    assert "forced off by MAINTENANCE_MODE_FORCE" in lines[1]
    assert "visitors get the live site" in lines[1]


@override_settings(MAINTENANCE_MODE_FORCE=False)
def test_status_reports_a_forced_off() -> None:
    run("on")
    assert "forced off" in run("status")


def test_command_changes_are_recorded_with_the_os_user() -> None:
    with mock.patch("maintenance_mode.management.commands.maintenance.getpass.getuser", return_value="deploy"):
        run("on", "--message", "by the command")
    event = MaintenanceEvent.objects.get()
    assert event.actor == "deploy"
    assert event.source == "command"


def test_unknown_os_user_is_recorded_as_unknown() -> None:
    with mock.patch("maintenance_mode.management.commands.maintenance.getpass.getuser", side_effect=KeyError):
        run("on")
    assert MaintenanceEvent.objects.get().actor == "unknown"


def test_command_sends_the_signals() -> None:
    from maintenance_mode import signals

    received: list[str] = []

    def handler(signal: Any, **kwargs: Any) -> None:
        received.append("enabled" if signal is signals.maintenance_enabled else "disabled")

    signals.maintenance_enabled.connect(handler)
    signals.maintenance_disabled.connect(handler)
    try:
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            run("on")
        with TestCase.captureOnCommitCallbacks(execute=True):
            run("off")
    finally:
        signals.maintenance_enabled.disconnect(handler)
        signals.maintenance_disabled.disconnect(handler)
    assert received == ["enabled", "disabled"]


def test_missing_action_is_an_error() -> None:
    with pytest.raises(CommandError):
        run()


def test_writer_is_warned_when_the_shared_cache_missed_the_change(dead_cache: object) -> None:
    err = StringIO()
    call_command("maintenance", "on", stdout=StringIO(), stderr=err)
    assert row().enabled  # the database, the source of truth, has it
    assert "Saved, but the shared cache is unreachable" in err.getvalue()
    assert "up to 60 s" in err.getvalue()


def test_no_warning_without_a_shared_cache() -> None:
    err = StringIO()
    call_command("maintenance", "on", stdout=StringIO(), stderr=err)
    assert err.getvalue() == ""


@pytest.fixture
def database_gone() -> Any:
    """The settings table is gone, as if the database were (autocommit: PostgreSQL keeps going)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE maintenance_mode_maintenancesettings RENAME TO mm_gone")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE mm_gone RENAME TO maintenance_mode_maintenancesettings")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", [["on"], ["off"], ["status"]])
def test_database_down_is_a_short_error_pointing_to_force(database_gone: None, action: list[str]) -> None:
    with pytest.raises(CommandError) as raised:
        run(*action)
    message = str(raised.value)
    # SQLite reports a missing table as an OperationalError, PostgreSQL as a ProgrammingError.
    assert message.startswith(
        ("The database is unavailable (OperationalError: ", "The database is unavailable (ProgrammingError: ")
    )
    assert "MAINTENANCE_MODE_FORCE = True" in message
    assert len(message.splitlines()) == 1
    assert raised.value.__cause__ is not None  # --traceback still shows the driver's error


@pytest.mark.django_db(transaction=True)
@override_settings(MAINTENANCE_MODE_FORCE=True)
def test_status_under_force_works_with_the_database_down(database_gone: None) -> None:
    output = run("status")
    assert "Maintenance mode: ON" in output
    assert "forced on by MAINTENANCE_MODE_FORCE: the database is not read" in output
    assert json.loads(run("status", "--json")) == {"active": True, "forced": True, "database_read": False}


@pytest.mark.django_db(transaction=True)
@override_settings(MAINTENANCE_MODE_FORCE=False)
def test_status_under_forced_off_works_with_the_database_down(database_gone: None) -> None:
    assert "Maintenance mode: off" in run("status")
    assert json.loads(run("status", "--json"))["active"] is False


@pytest.mark.django_db(transaction=True)  # autocommit: the publication runs inside the command
def test_hung_cache_after_the_commit_costs_a_warning_not_a_hang(settings: Any, shared_cache: BaseCache) -> None:
    """Redis took the connection and stopped answering: the change is saved and the command says what lags."""
    import threading

    settings.MAINTENANCE_MODE_PUBLISH_TIMEOUT = 0.2
    shared = shared_cache
    release = threading.Event()
    out, err = StringIO(), StringIO()
    try:
        with mock.patch.object(shared, "set", side_effect=lambda *args, **kwargs: release.wait(30)):
            call_command("maintenance", "on", stdout=out, stderr=err)
    finally:
        release.set()
    assert row().enabled
    assert "Maintenance mode: ON" in out.getvalue()
    assert "other servers may keep the previous state for up to 60 s" in err.getvalue()
    assert "no answer within 0.2 s" in err.getvalue()


@pytest.mark.parametrize(
    ("field", "stored"),
    [
        ("bypass_secret", "aaaaaaaaaaaa"),  # accepted by 1.0.0, too easy to guess for today's validator
        ("image_url", "/\\old.example/logo.png"),  # accepted before backslashes were refused
    ],
)
def test_off_and_on_work_whatever_an_untouched_field_stored_before_a_stricter_validator(
    field: str, stored: str
) -> None:
    MaintenanceSettings.objects.update_or_create(pk=1, defaults={"enabled": True, field: stored})
    run("off")  # the emergency way out must not depend on an unrelated field
    assert not MaintenanceSettings.load().enabled
    MaintenanceSettings.objects.filter(pk=1).update(**{field: stored})
    run("on", "--message", "Back soon")
    row = MaintenanceSettings.load()
    assert row.enabled
    assert row.message == "Back soon"


def test_a_value_the_command_writes_is_still_validated() -> None:
    MaintenanceSettings.objects.update_or_create(pk=1, defaults={"image_url": "/\\old.example/logo.png"})
    with pytest.raises(CommandError, match="bypass_secret"):
        run("on", "--secret", "aaaaaaaaaaaa")
    assert not MaintenanceSettings.load().enabled
