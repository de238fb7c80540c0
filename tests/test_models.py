"""The singleton row, its history, and the signals."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase

import maintenance_mode
from maintenance_mode import signals
from maintenance_mode.models import MaintenanceEvent, MaintenanceSettings

UTC = dt_timezone.utc  # datetime.UTC is Python 3.11+

pytestmark = pytest.mark.django_db


def save(row: MaintenanceSettings, **kwargs: Any) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        row.save(**kwargs)


def test_there_is_only_ever_one_row() -> None:
    MaintenanceSettings(message="first").save()
    MaintenanceSettings(message="second").save()
    assert MaintenanceSettings.objects.count() == 1
    assert MaintenanceSettings.load().message == "second"


def test_load_creates_the_row_with_defaults() -> None:
    row = MaintenanceSettings.load()
    assert row.pk == 1
    assert not row.enabled
    assert str(row) == "Maintenance settings"


def test_the_row_cannot_be_deleted() -> None:
    row = MaintenanceSettings.load()
    with pytest.raises(ValidationError):
        row.delete()
    assert MaintenanceSettings.objects.exists()


def test_every_save_bumps_the_version() -> None:
    row = MaintenanceSettings.load()
    first = row.version
    row.save()
    row.save()
    assert MaintenanceSettings.objects.get().version == first + 2


def test_save_with_update_fields_also_saves_version() -> None:
    row = MaintenanceSettings.load()
    row.enabled = True
    row.save(update_fields=["enabled"])
    stored = MaintenanceSettings.objects.get()
    assert stored.enabled
    assert stored.version == row.version


def test_end_before_start_is_invalid() -> None:
    row = MaintenanceSettings(starts_at=datetime(2030, 1, 2, tzinfo=UTC), ends_at=datetime(2030, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert "ends_at" in error.value.message_dict


def test_change_is_recorded_with_who_and_what() -> None:
    row = MaintenanceSettings.load()
    row.enabled = True
    row.message = "Upgrading"
    row.save(actor="alice", source=MaintenanceEvent.Source.ADMIN)
    event = MaintenanceEvent.objects.get()
    assert event.actor == "alice"
    assert event.source == "admin"
    assert event.changes == {"enabled": [False, True], "message": ["", "Upgrading"]}
    assert "alice" in str(event)


def test_save_without_changes_records_nothing() -> None:
    row = MaintenanceSettings.load()
    row.save()
    assert not MaintenanceEvent.objects.exists()


def test_history_never_shows_the_secret() -> None:
    row = MaintenanceSettings.load()
    row.bypass_secret = "top-secret-value-1"
    row.save()
    row.bypass_secret = "top-secret-value-2"
    row.save()
    for event in MaintenanceEvent.objects.all():
        assert "top-secret" not in str(event.changes)
    assert MaintenanceEvent.objects.first().changes == {"bypass_secret": ["••••••", "••••••"]}  # type: ignore[union-attr]


def test_history_records_times_as_iso_text() -> None:
    row = MaintenanceSettings.load()
    row.ends_at = datetime(2030, 1, 1, 12, tzinfo=UTC)
    row.save()
    assert MaintenanceEvent.objects.get().changes == {"ends_at": [None, "2030-01-01T12:00:00+00:00"]}


def test_history_is_newest_first() -> None:
    row = MaintenanceSettings.load()
    for message in ("a", "b", "c"):
        row.message = message
        row.save()
    assert [event.changes["message"][1] for event in MaintenanceEvent.objects.all()] == ["c", "b", "a"]


def test_enabling_sends_maintenance_enabled(received: list[tuple[str, str]]) -> None:
    row = MaintenanceSettings.load()
    row.enabled = True
    save(row)
    assert received == [("enabled", "save")]


def test_disabling_sends_maintenance_disabled(received: list[tuple[str, str]]) -> None:
    row = MaintenanceSettings.load()
    row.enabled = True
    save(row)
    row.enabled = False
    save(row)
    assert received == [("enabled", "save"), ("disabled", "save")]


def test_saving_other_fields_sends_no_signal(received: list[tuple[str, str]]) -> None:
    row = MaintenanceSettings.load()
    row.message = "still off"
    save(row)
    assert received == []


def test_enabling_for_a_future_window_sends_no_signal_yet(received: list[tuple[str, str]]) -> None:
    row = MaintenanceSettings.load()
    row.enabled = True
    row.starts_at = datetime(2100, 1, 1, tzinfo=UTC)
    save(row)
    assert received == []


def test_is_active_api_reads_the_snapshot() -> None:
    assert maintenance_mode.is_active() is False
    row = MaintenanceSettings.load()
    row.enabled = True
    save(row)
    assert maintenance_mode.is_active() is True


def test_receivers_get_the_new_snapshot() -> None:
    snapshots: list[object] = []

    def keep(snapshot: object, **kwargs: Any) -> None:
        snapshots.append(snapshot)

    signals.maintenance_enabled.connect(keep)
    try:
        row = MaintenanceSettings.load()
        row.enabled = True
        row.message = "now"
        save(row)
    finally:
        signals.maintenance_enabled.disconnect(keep)
    assert [(snapshot.enabled, snapshot.message) for snapshot in snapshots] == [(True, "now")]  # type: ignore[attr-defined]
