"""A scheduled start or end is announced once, whichever process notices it."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connections
from django.test import TestCase, override_settings
from django.utils import timezone

from maintenance_mode import signals, state
from maintenance_mode.models import ANNOUNCE_AFTER, MaintenanceEvent, MaintenanceSettings
from maintenance_mode.snapshot import Snapshot

pytestmark = pytest.mark.django_db(transaction=True)  # announcements are made outside transactions


def plan(start_in: timedelta | None, end_in: timedelta | None) -> MaintenanceSettings:
    now = timezone.now()
    row = MaintenanceSettings.load()
    row.enabled = True
    row.starts_at = now + start_in if start_in is not None else None
    row.ends_at = now + end_in if end_in is not None else None
    with TestCase.captureOnCommitCallbacks(execute=True):
        row.save()
    return row


def later(delta: timedelta) -> mock._patch[mock.MagicMock]:
    moment = (timezone.now() + delta).timestamp()
    return mock.patch("maintenance_mode.models.time.time", return_value=moment)


def test_scheduled_start_is_announced_once_across_processes(received: list[tuple[str, str]]) -> None:
    plan(timedelta(minutes=10), timedelta(hours=1))
    assert received == []  # saved ahead of time: nothing active yet
    processes = [state.Store() for _ in range(3)]
    for process in processes:
        process.current()  # each reads the same version before the start
    with later(timedelta(minutes=11)):
        for process in processes:
            process._expires = -1
            assert process.current().is_active(time.time())
    assert received == [("enabled", "schedule")]
    event = MaintenanceEvent.objects.filter(source="schedule").get()
    assert event.changes == {"active": [False, True]}
    assert MaintenanceSettings.load().signalled_active


def test_scheduled_end_is_announced_once(received: list[tuple[str, str]]) -> None:
    plan(None, timedelta(minutes=5))
    assert received == [("enabled", "save")]
    with later(timedelta(minutes=6)):
        for process in (state.Store(), state.Store()):
            assert not process.current().is_active(time.time())
    assert received == [("enabled", "save"), ("disabled", "schedule")]


def test_losing_process_keeps_its_snapshot_and_reads_the_winner_later(received: list[tuple[str, str]]) -> None:
    plan(timedelta(minutes=10), None)
    loser = state.Store()
    seen = loser.current()
    with later(timedelta(minutes=11)):
        state.Store().current()  # the winner
        loser._expires = -1
        assert loser.current().version == seen.version + 1  # read the winner's version from the database
    assert received == [("enabled", "schedule")]


def test_save_after_an_unnoticed_end_still_announces_it(received: list[tuple[str, str]]) -> None:
    row = plan(None, timedelta(minutes=5))
    MaintenanceSettings.objects.update(ends_at=timezone.now() - timedelta(minutes=1))  # ended, nobody looked
    row.refresh_from_db()
    row.message = "edited afterwards"
    with TestCase.captureOnCommitCallbacks(execute=True):
        row.save()
    assert received == [("enabled", "save"), ("disabled", "save")]


@override_settings(MAINTENANCE_MODE_FORCE=False)
def test_forced_state_announces_nothing(received: list[tuple[str, str]]) -> None:
    MaintenanceSettings.load()
    MaintenanceSettings.objects.update(enabled=True)  # active, never announced
    state.current()
    assert received == []
    assert not MaintenanceSettings.load().signalled_active


def test_failed_announcement_is_logged_and_retried(
    received: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    MaintenanceSettings.load()
    MaintenanceSettings.objects.update(enabled=True)  # active, never announced
    with (
        caplog.at_level(logging.WARNING, "maintenance_mode"),
        mock.patch.object(MaintenanceSettings, "claim_announcement", side_effect=RuntimeError("db down")),
    ):
        assert state.current().enabled
    assert caplog.messages == [
        "maintenance_mode: the database is unavailable (RuntimeError: db down); serving the last known state."
    ]
    state.store._expires = -1
    state.current()
    assert received == [("enabled", "schedule")]


def test_receiver_that_saves_the_settings_does_not_deadlock(received: list[tuple[str, str]]) -> None:
    """A receiver of the scheduled start may itself save (e.g. to change the message)."""
    import threading

    def save_in_receiver(snapshot: Snapshot, **kwargs: Any) -> None:
        row = MaintenanceSettings.load()
        row.message = "started by the schedule"
        row.save()

    def refresh_in_a_worker() -> None:
        try:
            state.Store().current()
        finally:
            connections.close_all()  # as a threaded server's worker does after its request

    plan(timedelta(minutes=10), None)
    signals.maintenance_enabled.connect(save_in_receiver)
    try:
        with later(timedelta(minutes=11)):
            worker = threading.Thread(target=refresh_in_a_worker, daemon=True)
            worker.start()
            worker.join(timeout=10)
    finally:
        signals.maintenance_enabled.disconnect(save_in_receiver)
    assert not worker.is_alive(), "the refresh deadlocked"
    assert MaintenanceSettings.load().message == "started by the schedule"
    assert received == [("enabled", "schedule")]


def test_no_announcement_inside_a_callers_transaction(received: list[tuple[str, str]]) -> None:
    """A rollback would undo the claim but not the signal: wait for a refresh outside."""
    from django.db import transaction

    plan(timedelta(minutes=10), None)
    with later(timedelta(minutes=11)):
        with transaction.atomic():
            state.Store().current()
        assert received == []
        state.Store().current()
    assert received == [("enabled", "schedule")]


def test_failing_receiver_is_logged_and_the_state_still_published(
    received: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: Any) -> None:
        raise KeyError("bug in a receiver")

    plan(timedelta(minutes=10), None)
    signals.maintenance_enabled.connect(broken)
    try:
        with later(timedelta(minutes=11)), caplog.at_level(logging.ERROR, "maintenance_mode"):
            process = state.Store()
            snapshot = process.current()
    finally:
        signals.maintenance_enabled.disconnect(broken)
    assert "receiver" in caplog.text
    assert "failed" in caplog.text
    assert snapshot.signalled_active  # the announced version was installed
    assert received == [("enabled", "schedule")]  # the other receivers still ran


def test_failing_receiver_does_not_break_a_save(caplog: pytest.LogCaptureFixture) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("bug in a receiver")

    signals.maintenance_enabled.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, "maintenance_mode"):
            row = MaintenanceSettings.load()
            row.enabled = True
            row.save()  # autocommit: on_commit runs now
    finally:
        signals.maintenance_enabled.disconnect(broken)
    assert state.is_active()
    assert "failed" in caplog.text


def test_a_stale_claim_loses_to_the_first(received: list[tuple[str, str]]) -> None:
    plan(timedelta(minutes=10), None)
    seen = state.Store().current()
    first = MaintenanceSettings.claim_announcement(seen, active=True)
    assert first is not None
    assert first.version == seen.version + 1
    assert MaintenanceSettings.claim_announcement(seen, active=True) is None
    assert MaintenanceEvent.objects.filter(source="schedule").count() == 1


def test_process_that_loses_the_race_sends_nothing(received: list[tuple[str, str]]) -> None:
    plan(timedelta(minutes=10), None)
    stale = state.Store().current()  # both processes read this version before the start
    with later(timedelta(minutes=11)):
        state.Store().current()  # the winner claims and announces
        loser = state.Store()
        with mock.patch.object(loser, "_load", return_value=stale):
            seen = loser.current()  # it tries to claim the start from the stale version, and loses
        assert seen.is_active(time.time())  # it serves the maintenance page all the same
        assert seen.version == stale.version  # and publishes nothing: the winner's version comes via the cache
    assert received == [("enabled", "schedule")]
    assert MaintenanceEvent.objects.filter(source="schedule").count() == 1


def at_start_plus(seconds: float, row: MaintenanceSettings) -> mock._patch[mock.MagicMock]:
    assert row.starts_at is not None
    return mock.patch("maintenance_mode.models.time.time", return_value=row.starts_at.timestamp() + seconds)


def test_a_start_is_announced_only_once_it_has_settled(received: list[tuple[str, str]]) -> None:
    row = plan(timedelta(minutes=10), None)
    with at_start_plus(0.5, row):
        assert state.Store().current().is_active(row.starts_at.timestamp() + 0.5)  # type: ignore[union-attr]
    assert received == []  # active at once, announced a little later
    with at_start_plus(ANNOUNCE_AFTER + 0.1, row):
        state.Store().current()
    assert received == [("enabled", "schedule")]


def test_a_server_whose_clock_is_behind_never_announces_an_end(received: list[tuple[str, str]]) -> None:
    row = plan(timedelta(minutes=10), timedelta(hours=1))
    with at_start_plus(ANNOUNCE_AFTER + 0.5, row):
        state.Store().current()  # a server whose clock is ahead announces the start
    with at_start_plus(-0.5, row):
        state.Store().current()  # one whose clock still reads just before the start
    assert received == [("enabled", "schedule")]
    assert MaintenanceEvent.objects.filter(source="schedule").count() == 1
