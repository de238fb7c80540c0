"""The snapshot: no per-request I/O, refresh order, versions, faults."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any
from unittest import mock

import pytest
from django.core.cache import BaseCache, caches
from django.db import connection, connections
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as SettingsWrapper

from maintenance_mode import state
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.snapshot import Snapshot
from maintenance_mode.state import CACHE_KEY
from tests.conftest import FakeClock

UTC = dt_timezone.utc  # datetime.UTC is Python 3.11+

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def counting(cache: BaseCache) -> Iterator[dict[str, int]]:
    """Count the calls the store makes on ``cache`` (the real methods still run)."""
    calls = dict.fromkeys(("get", "add", "set", "delete"), 0)

    def counted(name: str) -> Any:
        method = getattr(cache, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return method(*args, **kwargs)

        return call

    with contextlib.ExitStack() as stack:
        for name in calls:
            stack.enter_context(mock.patch.object(cache, name, counted(name)))
        yield calls


def enable(**fields: Any) -> MaintenanceSettings:
    """Save as a site in autocommit mode would: the on-commit publication runs."""
    from django.test import TestCase

    row = MaintenanceSettings.load()
    row.enabled = True
    for name, value in fields.items():
        setattr(row, name, value)
    with TestCase.captureOnCommitCallbacks(execute=True):
        row.save()
    return row


@pytest.fixture
def hidden_table() -> Iterator[None]:
    """The settings table is gone, as before the first ``migrate``."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE maintenance_mode_maintenancesettings RENAME TO mm_hidden")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE mm_hidden RENAME TO maintenance_mode_maintenancesettings")


class PrimaryReplicaRouter:
    """Reads to a replica, this app's writes to the primary (Django's documented router shape).

    There is no "replica" database in the tests: a reading sent there fails, so a
    reading that succeeds went to the primary.
    """

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return "default" if model._meta.app_label == "maintenance_mode" else None


class TestNoPerRequestIO:
    def test_requests_do_no_query_while_the_snapshot_is_fresh(
        self, settings: SettingsWrapper, client: Client, django_assert_num_queries: Any
    ) -> None:
        settings.MAINTENANCE_MODE_STATE_TTL = 60
        client.get("/")  # the first request of the process reads the state
        with django_assert_num_queries(0):
            for _ in range(5):
                assert client.get("/").status_code == 200

    def test_maintenance_page_needs_no_query_while_fresh(
        self, settings: SettingsWrapper, client: Client, django_assert_num_queries: Any
    ) -> None:
        settings.MAINTENANCE_MODE_STATE_TTL = 60
        enable()
        with django_assert_num_queries(0):
            for _ in range(5):
                assert client.get("/").status_code == 503

    def test_fresh_snapshot_makes_no_cache_call(self, settings: SettingsWrapper, shared_cache: BaseCache) -> None:
        settings.MAINTENANCE_MODE_STATE_TTL = 60
        state.current()
        with counting(shared_cache) as calls:
            for _ in range(5):
                state.current()
        assert calls == {"get": 0, "add": 0, "set": 0, "delete": 0}

    def test_snapshot_is_refreshed_after_the_ttl(self, settings: SettingsWrapper, clock: FakeClock) -> None:
        settings.MAINTENANCE_MODE_STATE_TTL = 5
        MaintenanceSettings.load()
        assert not state.is_active()
        MaintenanceSettings.objects.update(enabled=True)  # behind the app's back: no publish
        clock.advance(4.9)
        assert not state.is_active()  # still trusted
        clock.advance(0.2)
        assert state.is_active()

    def test_fresh_returns_none_once_the_ttl_lapsed(self, settings: SettingsWrapper, clock: FakeClock) -> None:
        """With the refresher thread off, a due refresh is the async caller's to make in a thread."""
        settings.MAINTENANCE_MODE_STATE_TTL = 5
        assert state.store.fresh() is None  # never read
        snapshot = state.current()
        read_at = clock.now
        clock.advance(4.9)
        assert state.store.fresh() is snapshot
        clock.now = read_at + 5  # the TTL is up at its last instant, as for current()
        assert state.store.fresh() is None
        clock.advance(0.1)
        assert state.store.fresh() is None

    def test_is_active_follows_the_scheduled_window(self) -> None:
        hour = 3600
        enable(starts_at=datetime.fromtimestamp(time.time() - hour, tz=UTC))
        enable(ends_at=datetime.fromtimestamp(time.time() + hour, tz=UTC))
        assert state.is_active()  # started an hour ago, ends in an hour
        enable(starts_at=datetime.fromtimestamp(time.time() + hour, tz=UTC))
        assert not state.is_active()  # scheduled: not yet


class TestWrites:
    def test_writer_sees_its_change_at_once_despite_the_ttl(self, settings: SettingsWrapper) -> None:
        settings.MAINTENANCE_MODE_STATE_TTL = 600
        assert not state.is_active()
        enable()
        assert state.is_active()

    def test_write_publishes_the_new_version_to_the_shared_cache(self, shared_cache: BaseCache) -> None:
        row = enable(message="hello")
        payload = shared_cache.get(CACHE_KEY)
        assert payload["version"] == row.version
        assert payload["message"] == "hello"

    def test_write_overwrites_a_cache_entry_that_does_not_unpickle(
        self, shared_cache: BaseCache, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Garbage the writer cannot even read must not block the new state (the readers delete it too late)."""
        key = shared_cache.make_and_validate_key(CACHE_KEY)
        shared_cache._cache.get_client(write=True).set(key, b"\x80\x05garbage")  # type: ignore[attr-defined]
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the unpickler says
            shared_cache.get(CACHE_KEY)
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            row = enable(message="over the garbage")
        assert caplog.messages == []
        payload = shared_cache.get(CACHE_KEY)
        assert payload["version"] == row.version
        assert payload["message"] == "over the garbage"

    def test_nothing_is_published_when_the_transaction_rolls_back(self, shared_cache: BaseCache) -> None:
        from django.db import transaction
        from django.test import TestCase

        def enable_then_fail() -> None:
            with transaction.atomic():
                MaintenanceSettings(enabled=True).save()
                raise RuntimeError("rolled back")

        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
            enable_then_fail()
        assert callbacks == []
        assert shared_cache.get(CACHE_KEY) is None
        assert not state.is_active()

    def test_older_write_never_overwrites_a_newer_one_in_the_cache(self, shared_cache: BaseCache) -> None:
        shared_cache.set(CACHE_KEY, Snapshot(enabled=False, version=99).to_payload())
        state.store.publish(Snapshot(enabled=True, version=98))
        assert shared_cache.get(CACHE_KEY)["version"] == 99

    def test_older_publication_does_not_roll_this_process_back(self, settings: SettingsWrapper) -> None:
        settings.MAINTENANCE_MODE_STATE_TTL = 60
        state.store.publish(Snapshot(enabled=True, version=10))
        state.store.publish(Snapshot(enabled=False, version=9))
        assert state.store.current().version == 10

    def test_publication_of_the_version_in_hand_restarts_the_ttl(
        self, settings: SettingsWrapper, clock: FakeClock
    ) -> None:
        """The refresher read the row a writer had just committed, before the writer's on-commit
        publication ran: that publication, of the same version, is the truth as of now."""
        from django.test import TestCase

        settings.MAINTENANCE_MODE_STATE_TTL = 60
        row = MaintenanceSettings.load()
        row.enabled = True
        with TestCase.captureOnCommitCallbacks() as publications:
            row.save()
        assert state.current().version == row.version  # the reading, at 0 s: trusted until 60 s
        clock.advance(30)
        for publish in publications:
            publish()  # trusted until 90 s
        clock.advance(40)
        with CaptureQueriesContext(connection) as queries:
            assert state.current().enabled
        assert len(queries) == 0

    def test_cache_outage_at_a_write_is_logged_and_so_is_its_end(
        self, shared_cache: BaseCache, clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            with mock.patch.object(type(shared_cache), "set", side_effect=ConnectionError("gone")):
                enable(message="first")
            clock.advance(3)
            row = enable(message="second")
        assert caplog.record_tuples == [
            (
                "maintenance_mode",
                logging.WARNING,
                "maintenance_mode: the cache is unavailable (ConnectionError: gone); serving the last known state.",
            ),
            ("maintenance_mode", logging.WARNING, "maintenance_mode: the cache is back after 3.0 s."),
        ]
        assert shared_cache.get(CACHE_KEY)["version"] == row.version

    def test_write_with_the_cache_down_is_still_committed_and_logged(
        self, dead_cache: BaseCache, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            enable()
        assert MaintenanceSettings.objects.get().enabled
        assert state.is_active()
        assert "cache is unavailable" in caplog.text

    def test_write_with_a_hung_cache_returns_after_the_publish_timeout(
        self, settings: SettingsWrapper, shared_cache: BaseCache, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Redis accepted the connection and stopped answering: the write is committed, the writer warned."""
        settings.MAINTENANCE_MODE_PUBLISH_TIMEOUT = 0.2
        settings.MAINTENANCE_MODE_STATE_TTL = 60
        release = threading.Event()
        try:
            with (
                caplog.at_level(logging.WARNING, "maintenance_mode"),
                mock.patch.object(shared_cache, "set", side_effect=lambda *args, **kwargs: release.wait(30)),
                counting(shared_cache) as calls,
            ):
                row = enable()
                assert state.is_active()  # this process at once
                warning = state.store.propagation_warning(row.version)
        finally:
            release.set()
        assert MaintenanceSettings.objects.get().enabled
        assert "cache is unavailable (TimeoutError: no answer within 0.2 s)" in caplog.text
        assert warning == (
            "Saved, but the shared cache is unreachable (TimeoutError: no answer within 0.2 s): "
            "other servers may keep the previous state for up to 60 s (MAINTENANCE_MODE_CACHE_TIMEOUT)."
        )
        assert calls["get"] == 1  # the publication's version check; the warning asked nothing more


class TestRefreshOrder:
    def test_other_process_write_is_read_from_the_shared_cache(self, shared_cache: BaseCache) -> None:
        published = Snapshot(enabled=True, message="from another server", version=7)
        shared_cache.set(CACHE_KEY, published.to_payload())
        with mock.patch.object(state.Store, "_read_database", side_effect=AssertionError("db read")):
            snapshot = state.current()
        assert snapshot.message == "from another server"
        assert snapshot.version == 7

    def test_cache_miss_reads_the_database_and_fills_the_cache(self, shared_cache: BaseCache) -> None:
        row = enable(message="in the database")
        shared_cache.delete(CACHE_KEY)
        state.store.reset()
        assert state.current().message == "in the database"
        assert shared_cache.get(CACHE_KEY)["version"] == row.version

    def test_write_during_a_reading_is_not_undone_by_it(self, shared_cache: BaseCache) -> None:
        enable(message="old")
        state.store._expires = -1
        shared_cache.delete(CACHE_KEY)
        read_database = state.Store._read_database

        def read_while_this_process_writes(self: state.Store) -> Snapshot:
            old = read_database(self)
            enable(message="written meanwhile")  # publish() does not wait for the reading
            return old

        with mock.patch.object(state.Store, "_read_database", read_while_this_process_writes):
            state.store.refresh()
        assert state.current().message == "written meanwhile"

    def test_slow_reader_never_puts_an_older_snapshot_back(self, shared_cache: BaseCache) -> None:
        enable(message="old")
        shared_cache.delete(CACHE_KEY)
        state.store.reset()
        read_database = state.Store._read_database
        newer = Snapshot(enabled=False, message="new", version=99)

        def slow_read(self: state.Store) -> Snapshot:
            old = read_database(self)
            shared_cache.set(CACHE_KEY, newer.to_payload())  # a writer elsewhere, meanwhile
            return old

        with mock.patch.object(state.Store, "_read_database", slow_read):
            assert state.current().message == "old"
        assert shared_cache.get(CACHE_KEY)["version"] == 99

    def test_cached_version_older_than_ours_sends_us_to_the_database(self, shared_cache: BaseCache) -> None:
        """Our write missed the cache: the database is asked, and it may know more than we do."""
        row = enable(message="ours")
        shared_cache.set(CACHE_KEY, Snapshot(enabled=False, version=row.version - 1).to_payload())
        MaintenanceSettings.objects.update(message="changed since, behind the app's back")
        state.store._expires = -1  # lapse the TTL
        snapshot = state.current()
        assert snapshot.message == "changed since, behind the app's back"
        assert snapshot.version == row.version

    def test_cache_holding_our_own_version_answers_without_a_query(self, shared_cache: BaseCache) -> None:
        """The usual refresh after this process's own write: one cache read, no query."""
        row = enable(message="ours")
        state.store._expires = -1  # lapse the TTL
        with counting(shared_cache) as calls, CaptureQueriesContext(connection) as queries:
            snapshot = state.current()
        assert snapshot.version == row.version
        assert calls == {"get": 1, "add": 0, "set": 0, "delete": 0}
        assert len(queries) == 0

    def test_queryset_update_is_seen_once_the_cache_entry_expires(
        self, settings: SettingsWrapper, shared_cache: BaseCache
    ) -> None:
        settings.MAINTENANCE_MODE_CACHE_TIMEOUT = 1
        enable()
        MaintenanceSettings.objects.update(message="raw change")  # no publish
        deadline = time.monotonic() + 5
        while state.current().message != "raw change":
            assert time.monotonic() < deadline, "the raw change was never picked up"
            time.sleep(0.05)

    @pytest.mark.parametrize(
        "backend",
        [
            "django.core.cache.backends.locmem.LocMemCache",
            "django.core.cache.backends.dummy.DummyCache",
            "django.core.cache.backends.filebased.FileBasedCache",
        ],
    )
    def test_process_local_cache_is_skipped_for_the_database(
        self, settings: SettingsWrapper, backend: str, tmp_path: Any
    ) -> None:
        settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}
        local = caches["default"]
        stale = Snapshot(enabled=True, message="stale, process-local", version=50)
        local.set(CACHE_KEY, stale.to_payload())
        with counting(local) as calls, CaptureQueriesContext(connection) as queries:
            assert state.current().message == ""  # from the database, not the local copy
        assert calls == {"get": 0, "add": 0, "set": 0, "delete": 0}
        assert [query["sql"] for query in queries if "maintenance_mode_maintenancesettings" in query["sql"]] != []

    def test_no_cache_alias_means_database_only(self, settings: SettingsWrapper) -> None:
        settings.MAINTENANCE_MODE_CACHE_ALIAS = None
        enable(message="db only")
        state.store.reset()
        assert state.current().message == "db only"

    def test_state_is_read_from_the_primary_not_from_a_replica(
        self, settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A lagging replica could hand back an older version: the reading goes where the row is written."""
        enable(message="saved")
        MaintenanceSettings.objects.update(message="changed on the primary")  # behind the app's back
        settings.DATABASE_ROUTERS = [PrimaryReplicaRouter()]
        state.store._expires = -1
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            assert state.current().message == "changed on the primary"
        assert caplog.record_tuples == []

    def test_missing_row_reads_as_off(self) -> None:
        assert MaintenanceSettings.objects.count() == 0
        snapshot = state.current()
        assert not snapshot.enabled
        assert snapshot.known

    def test_concurrent_refresh_serves_the_snapshot_in_hand(self) -> None:
        first = state.current()
        state.store._expires = -1
        with state.store._refresh_lock, mock.patch.object(state.Store, "_load", side_effect=AssertionError("loaded")):
            assert state.store.refresh() is first

    def test_refresh_that_waited_uses_the_other_threads_result(self, settings: SettingsWrapper) -> None:
        settings.MAINTENANCE_MODE_STATE_TTL = 60
        state.store.reset()
        results: list[Snapshot] = []
        loads = 0
        original = state.Store._load

        def counting_load(self: state.Store) -> Snapshot | None:
            nonlocal loads
            loads += 1
            time.sleep(0.05)
            return original(self)

        with mock.patch.object(state.Store, "_load", counting_load):
            threads = [worker_thread(lambda: results.append(state.store.refresh())) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert loads == 1  # the first reading is awaited by the others, not repeated
        assert len({id(snapshot) for snapshot in results}) == 1


def worker_thread(work: Callable[[], object]) -> threading.Thread:
    """A thread that closes the database connections it opened, as a threaded
    server's worker does when its request finishes (PostgreSQL would otherwise
    refuse to drop the test database while they linger)."""

    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_refreshes_from_other_threads_read_the_database(settings: SettingsWrapper) -> None:
    """A worker thread of a threaded server reads through its own connection."""
    settings.MAINTENANCE_MODE_STATE_TTL = 0
    enable(message="threaded")
    seen: list[str] = []
    thread = worker_thread(lambda: seen.append(state.current().message))
    thread.start()
    thread.join()
    assert seen == ["threaded"]


class TestFaults:
    def test_garbage_in_the_cache_is_logged_deleted_and_replaced(
        self, shared_cache: BaseCache, caplog: pytest.LogCaptureFixture
    ) -> None:
        row = enable(message="truth")
        shared_cache.set(CACHE_KEY, {"enabled": "yes"})
        state.store._expires = -1
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            assert state.current().message == "truth"
        assert caplog.messages == ["maintenance_mode: ignoring a malformed state in the cache ('message')."]
        assert shared_cache.get(CACHE_KEY)["version"] == row.version

    def test_garbage_that_cannot_be_deleted_is_survived(
        self, shared_cache: BaseCache, caplog: pytest.LogCaptureFixture
    ) -> None:
        enable(message="truth")
        shared_cache.set(CACHE_KEY, "junk")
        state.store._expires = -1
        with (
            caplog.at_level(logging.WARNING, "maintenance_mode"),
            mock.patch.object(type(shared_cache), "delete", side_effect=ConnectionError("gone")),
        ):
            assert state.current().message == "truth"
        assert caplog.messages == [
            "maintenance_mode: ignoring a malformed state in the cache (expected a mapping, got str).",
            "maintenance_mode: the cache is unavailable (ConnectionError: gone); serving the last known state.",
        ]

    def test_cache_down_falls_back_to_the_database(self, dead_cache: BaseCache, client: Client) -> None:
        MaintenanceSettings.objects.create(enabled=True)
        state.store.reset()
        assert client.get("/").status_code == 503

    def test_cache_that_failed_the_read_is_not_refilled(self, dead_cache: BaseCache) -> None:
        """After a failed get, the store goes to the database and leaves the dead cache alone."""
        enable(message="truth")
        state.store._expires = -1
        with counting(dead_cache) as calls:
            assert state.current().message == "truth"
        assert calls["get"] == 1
        assert calls["add"] == 0  # a second round trip to a dead (or hung) cache would only add delay

    def test_new_outage_right_after_a_recovery_is_logged(
        self, settings: SettingsWrapper, clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings.MAINTENANCE_MODE_ERROR_LOG_INTERVAL = 60
        MaintenanceSettings.load()
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            with mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down")):
                state.current()
            clock.advance(1)
            state.store._expires = -1
            state.current()  # the database is back
            clock.advance(1)
            with mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down again")):
                state.store._expires = -1
                state.current()
        assert caplog.text.count("database is unavailable") == 2
        assert "db down again" in caplog.text

    def test_ongoing_outage_is_logged_again_exactly_one_interval_later(
        self, settings: SettingsWrapper, clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings.MAINTENANCE_MODE_ERROR_LOG_INTERVAL = 60
        first_logged = clock.now
        with (
            caplog.at_level(logging.WARNING, "maintenance_mode"),
            mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down")),
        ):
            logged = []
            for moment in (0, 59.5, 60, 119.5):
                clock.now = first_logged + moment
                state.store.refresh()
                logged.append(caplog.text.count("database is unavailable"))
        assert logged == [1, 1, 2, 2]  # at 0 and at 60, the interval counted from the last line

    def test_failure_before_any_reading_says_fail_closed_applies(
        self, settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings.MAINTENANCE_MODE_FAIL_CLOSED = True
        with (
            caplog.at_level(logging.WARNING, "maintenance_mode"),
            mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down")),
        ):
            assert state.current().enabled
        assert caplog.messages == [
            "maintenance_mode: the database is unavailable (RuntimeError: db down); "
            "no state read yet: applying MAINTENANCE_MODE_FAIL_CLOSED = True."
        ]

    def test_failed_first_reading_of_a_new_store_applies_fail_closed(self, settings: SettingsWrapper) -> None:
        settings.MAINTENANCE_MODE_FAIL_CLOSED = True
        with mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down")):
            snapshot = state.Store().refresh()
        assert snapshot.enabled
        assert not snapshot.known

    def test_cache_add_failure_is_survived(self, shared_cache: BaseCache, caplog: pytest.LogCaptureFixture) -> None:
        enable(message="truth")
        shared_cache.delete(CACHE_KEY)
        state.store._expires = -1
        with (
            caplog.at_level(logging.WARNING, "maintenance_mode"),
            mock.patch.object(type(shared_cache), "add", side_effect=ConnectionError("gone")),
        ):
            assert state.current().message == "truth"
        assert caplog.record_tuples == [
            (
                "maintenance_mode",
                logging.WARNING,
                "maintenance_mode: the cache is unavailable (ConnectionError: gone); serving the last known state.",
            )
        ]

    def test_cache_outage_during_a_reading_is_logged_and_so_is_its_end(
        self, shared_cache: BaseCache, clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The refresher's cache read fails: the database answers meanwhile, and the cache's return is news."""
        enable(message="truth")
        MaintenanceSettings.objects.update(message="changed behind the app's back")
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            with mock.patch.object(type(shared_cache), "get", side_effect=ConnectionError("gone")):
                assert state.current().message == "changed behind the app's back"  # from the database
            clock.advance(2.5)
            assert state.current().message == "truth"  # from the cache again (the raw change never reached it)
        assert caplog.record_tuples == [
            (
                "maintenance_mode",
                logging.WARNING,
                "maintenance_mode: the cache is unavailable (ConnectionError: gone); serving the last known state.",
            ),
            ("maintenance_mode", logging.WARNING, "maintenance_mode: the cache is back after 2.5 s."),
        ]

    def test_cache_entry_refilled_after_a_miss_expires_after_the_cache_timeout(
        self, settings: SettingsWrapper, shared_cache: BaseCache
    ) -> None:
        """Neither forever nor the cache's own default (300 s): MAINTENANCE_MODE_CACHE_TIMEOUT bounds a stale entry."""
        settings.MAINTENANCE_MODE_CACHE_TIMEOUT = 3600
        row = enable()
        shared_cache.delete(CACHE_KEY)
        state.store._expires = -1
        state.current()  # the miss: the database is read and the entry refilled
        assert shared_cache.get(CACHE_KEY)["version"] == row.version
        key = shared_cache.make_and_validate_key(CACHE_KEY)
        seconds_left = shared_cache._cache.get_client(key).ttl(key)  # type: ignore[attr-defined]
        assert 3000 < seconds_left <= 3600  # generous: only a test stuck for ten minutes gets below

    def test_missing_table_serves_the_site_never_a_500(self, hidden_table: None, client: Client) -> None:
        assert client.get("/").status_code == 200
        assert not state.current().known

    def test_missing_table_with_fail_closed_serves_the_page(
        self, settings: SettingsWrapper, hidden_table: None, client: Client
    ) -> None:
        settings.MAINTENANCE_MODE_FAIL_CLOSED = True
        assert client.get("/").status_code == 503

    def test_database_outage_keeps_the_last_good_snapshot(
        self, client: Client, caplog: pytest.LogCaptureFixture
    ) -> None:
        enable(message="last good")
        state.current()
        state.store._expires = -1
        with (
            caplog.at_level(logging.WARNING, "maintenance_mode"),
            mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down")),
        ):
            assert client.get("/").status_code == 503
            assert state.current().message == "last good"
        assert caplog.messages == [
            "maintenance_mode: the database is unavailable (RuntimeError: db down); serving the last known state."
        ]

    def test_failures_are_logged_once_per_interval_then_recovery(
        self, settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings.MAINTENANCE_MODE_ERROR_LOG_INTERVAL = 60
        with (
            caplog.at_level(logging.WARNING, "maintenance_mode"),
            mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down")),
        ):
            for _ in range(20):
                state.store._expires = -1
                state.current()
        assert caplog.text.count("database is unavailable") == 1
        state.store._expires = -1
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            state.current()
        assert "database is back after" in caplog.text

    def test_failure_log_repeats_after_the_interval(
        self, settings: SettingsWrapper, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings.MAINTENANCE_MODE_ERROR_LOG_INTERVAL = 0
        with (
            caplog.at_level(logging.WARNING, "maintenance_mode"),
            mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down")),
        ):
            for _ in range(3):
                state.store._expires = -1
                state.current()
        assert caplog.text.count("database is unavailable") == 3


class TestForce:
    def test_force_on_ignores_the_database(self, settings: SettingsWrapper, client: Client) -> None:
        settings.MAINTENANCE_MODE_FORCE = True
        assert client.get("/").status_code == 503

    def test_force_off_ignores_the_database(self, settings: SettingsWrapper, client: Client) -> None:
        enable()
        settings.MAINTENANCE_MODE_FORCE = False
        assert client.get("/").status_code == 200

    def test_force_reads_neither_the_cache_nor_the_database(
        self, settings: SettingsWrapper, shared_cache: BaseCache, clock: FakeClock
    ) -> None:
        settings.MAINTENANCE_MODE_FORCE = True
        settings.MAINTENANCE_MODE_STATE_TTL = 1
        with counting(shared_cache) as calls, CaptureQueriesContext(connection) as queries:
            for _ in range(5):
                assert state.is_active()
                assert state.store.fresh() is not None
                clock.advance(10)  # TTLs lapse: still nothing to read
            state.store.refresh()
        assert calls == {"get": 0, "add": 0, "set": 0, "delete": 0}
        assert len(queries) == 0

    def test_cache_failure_under_force_is_logged_as_forced(
        self, settings: SettingsWrapper, dead_cache: BaseCache, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings.MAINTENANCE_MODE_FORCE = True
        with caplog.at_level(logging.WARNING, "maintenance_mode"):
            enable()  # the writer still publishes, for the servers that are not forced
        [message] = caplog.messages
        assert re.fullmatch(
            r"maintenance_mode: the cache is unavailable \(ConnectionError: .+\); "
            r"the state is forced by MAINTENANCE_MODE_FORCE\.",
            message,
        )

    def test_forced_page_keeps_the_message_saved_in_this_process_after_the_ttl(
        self, settings: SettingsWrapper, clock: FakeClock, client: Client
    ) -> None:
        settings.MAINTENANCE_MODE_FORCE = True
        settings.MAINTENANCE_MODE_STATE_TTL = 5
        enable(enabled=False, message="Back at three.")  # an administrator of this server, during the emergency
        clock.advance(10)
        response = client.get("/")
        assert response.status_code == 503
        assert "Back at three." in response.content.decode()

    @pytest.mark.parametrize(
        "saved",
        [
            {"mode": "read-only"},  # reads would stay open
            {"starts_at": datetime(2100, 1, 1, tzinfo=dt_timezone.utc)},  # not begun yet
            {"ends_at": datetime(2000, 1, 1, tzinfo=dt_timezone.utc)},  # over already
        ],
        ids=["read-only", "window-not-begun", "window-over"],
    )
    def test_force_on_closes_the_whole_site_whatever_the_row_saved_in_this_process_holds(
        self, settings: SettingsWrapper, client: Client, saved: dict[str, object]
    ) -> None:
        """The emergency switch: a full 503 now, with no end time from the row."""
        settings.MAINTENANCE_MODE_FORCE = True
        enable(enabled=False, **saved)  # an administrator of this server, during the emergency
        response = client.get("/")
        assert response.status_code == 503
        assert "Retry-After" not in response
        assert json.loads(client.get("/", HTTP_ACCEPT="application/json").content)["read_only"] is False

    def test_force_off_opens_the_site_whatever_the_row_saved_in_this_process_holds(
        self, settings: SettingsWrapper, client: Client
    ) -> None:
        settings.MAINTENANCE_MODE_FORCE = False
        enable(mode="read-only")
        for response in (client.get("/"), client.post("/")):  # not even writes are refused
            assert (response.status_code, response.content) == (200, b"<html><body><h1>Live site</h1></body></html>")

    def test_force_on_works_with_the_database_down(self, settings: SettingsWrapper, hidden_table: None) -> None:
        settings.MAINTENANCE_MODE_FORCE = True
        assert state.is_active()


class TestSnapshot:
    def test_round_trips_through_the_cache_payload(self) -> None:
        snapshot = Snapshot.from_payload(
            {
                "enabled": True,
                "mode": "read-only",
                "message": "m",
                "image_url": "/i.png",
                "icon": "fa",
                "button_text": "b",
                "bypass_url": "/s",
                "allowed_ips": "10.0.0.0/8\n2001:db8::/32",
                "bypass_secret": "s" * 12,
                "starts_at": datetime(2030, 1, 1, tzinfo=UTC),
                "ends_at": 1893459600,
                "version": 3,
                "signalled_active": True,
            }
        )
        again = Snapshot.from_payload(snapshot.to_payload())
        assert again.to_payload() == snapshot.to_payload()
        assert [str(network) for network in again.allowed_ips] == ["10.0.0.0/8", "2001:db8::/32"]
        assert again.start == datetime(2030, 1, 1, tzinfo=UTC)
        assert again.read_only

    def test_a_mode_this_release_does_not_know_closes_the_site(self) -> None:
        snapshot = Snapshot.from_payload(Snapshot().to_payload() | {"enabled": True, "mode": "writes-by-staff"})
        assert snapshot.mode == "full"
        assert not snapshot.read_only

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"enabled": "true"}, "enabled and signalled_active must be booleans"),
            ({"signalled_active": None}, "enabled and signalled_active must be booleans"),
            ({"mode": None}, "mode must be a string"),
            ({"message": None}, "text fields must be strings"),
            ({"version": -1}, "version must be a non-negative integer"),
            ({"version": True}, "version must be a non-negative integer"),
            ({"version": "3"}, "version must be a non-negative integer"),
            ({"allowed_ips": "10.0.0.300"}, "allowed_ips: "),
            ({"starts_at": "2030-01-01"}, "bad timestamp '2030-01-01'"),
            ({"starts_at": True}, "bad timestamp True"),
            ({"ends_at": float("nan")}, "bad timestamp nan"),
            ({"ends_at": 1e20}, "timestamp out of range: 1e+20"),  # beyond what a datetime can show
            ({"ends_at": datetime(2030, 1, 1)}, "naive datetime in the state; is USE_TZ off?"),
        ],
    )
    def test_malformed_payloads_are_refused_saying_what_is_wrong(self, change: dict[str, object], reason: str) -> None:
        """The reason is what an operator reads in the log line about a malformed cached state."""
        payload = Snapshot().to_payload() | change
        with pytest.raises(ValueError, match=rf"^{re.escape(reason)}"):
            Snapshot.from_payload(payload)

    @pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14, UTC-11
    def test_the_latest_and_earliest_times_a_datetime_can_show_are_accepted_in_any_server_time_zone(
        self, settings: SettingsWrapper, zone: str
    ) -> None:
        """The range check is in UTC, as the page shows the times: a server's local zone
        must not turn the last second of year 9999 (or the first of year 1) into an error."""
        settings.TIME_ZONE = zone  # Django sets TZ and calls time.tzset()
        latest = datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt_timezone.utc).timestamp()
        earliest = datetime(1, 1, 1, tzinfo=dt_timezone.utc).timestamp()
        window = Snapshot.from_payload(Snapshot().to_payload() | {"starts_at": earliest, "ends_at": latest})
        assert (window.starts_at, window.ends_at) == (earliest, latest)

    def test_non_mapping_payload_is_refused(self) -> None:
        with pytest.raises(ValueError, match="expected a mapping"):
            Snapshot.from_payload([1, 2])  # type: ignore[arg-type]

    def test_missing_key_is_refused(self) -> None:
        payload = Snapshot().to_payload()
        del payload["version"]
        with pytest.raises(KeyError):
            Snapshot.from_payload(payload)

    def test_active_window_boundaries(self) -> None:
        window = Snapshot(enabled=True, starts_at=100.0, ends_at=200.0)
        assert not window.is_active(99.999)
        assert window.is_active(100.0)  # exactly at the start: on
        assert window.is_active(199.999)
        assert not window.is_active(200.0)  # exactly at the end: off
        assert window.is_upcoming(50.0)
        assert window.is_upcoming(99.999)
        assert not window.is_upcoming(100.0)  # exactly at the start: on, no longer upcoming
        assert not window.is_upcoming(150.0)
        assert window.has_ended(200.0)
        assert not Snapshot(enabled=False, starts_at=100.0).is_upcoming(50.0)

    def test_retry_after_counts_whole_seconds_to_the_end(self) -> None:
        assert Snapshot(enabled=True, ends_at=200.0).retry_after(100.5) == 100
        assert Snapshot(enabled=True, ends_at=200.0).retry_after(100.0) == 100
        assert Snapshot(enabled=True, ends_at=200.0).retry_after(199.9) == 1
        assert Snapshot(enabled=True, ends_at=200.0).retry_after(300.0) is None

    def test_retry_after_at_the_exact_end_is_the_configured_default(self, settings: SettingsWrapper) -> None:
        """At the end instant nothing is left to count down: a client is never told to retry in 0 s."""
        window = Snapshot(enabled=True, ends_at=200.0)
        assert window.retry_after(200.0) is None  # no MAINTENANCE_MODE_RETRY_AFTER: no header
        settings.MAINTENANCE_MODE_RETRY_AFTER = 120
        assert window.retry_after(200.0) == 120
        assert window.retry_after(199.5) == 1  # half a second before the end: still counting down


class TestPropagationWarning:
    def test_no_warning_when_the_cache_has_the_version(self, shared_cache: BaseCache) -> None:
        row = enable()
        assert state.store.propagation_warning(row.version) is None

    def test_warning_when_the_cache_holds_an_older_state(self, shared_cache: BaseCache) -> None:
        row = enable()
        shared_cache.set(CACHE_KEY, Snapshot(version=row.version - 1).to_payload())
        assert state.store.propagation_warning(row.version) == (
            "Saved, but the shared cache still holds an older state: "
            "other servers may keep the previous state for up to 60 s (MAINTENANCE_MODE_CACHE_TIMEOUT)."
        )

    def test_warning_when_the_save_that_created_the_row_is_missing_from_the_cache(
        self, shared_cache: BaseCache
    ) -> None:
        """Evicted, or dropped by a cache that refuses the value silently (memcached's size limit):
        an empty cache holds no version at all, not even the first."""
        from django.test import TestCase

        row = MaintenanceSettings(enabled=True)
        with TestCase.captureOnCommitCallbacks(execute=True):
            row.save()
        assert row.version == 1
        shared_cache.delete(CACHE_KEY)
        warning = state.store.propagation_warning(row.version)
        assert warning is not None
        assert "still holds an older state" in warning

    def test_warning_check_with_a_hung_cache_returns_after_the_publish_timeout(
        self, settings: SettingsWrapper, shared_cache: BaseCache
    ) -> None:
        """The publication went through, then Redis stopped answering: the check is bounded too."""
        settings.MAINTENANCE_MODE_PUBLISH_TIMEOUT = 0.2
        row = enable()
        release = threading.Event()
        try:
            with mock.patch.object(shared_cache, "get", side_effect=lambda *args, **kwargs: release.wait(30)):
                warning = state.store.propagation_warning(row.version)
        finally:
            release.set()
        assert warning == (
            "Saved, but the shared cache is unreachable (TimeoutError: no answer within 0.2 s): "
            "other servers may keep the previous state for up to 60 s (MAINTENANCE_MODE_CACHE_TIMEOUT)."
        )


class TestRefreshListeners:
    def test_listener_registered_twice_is_called_once_per_refresh(self) -> None:
        calls: list[Snapshot] = []

        def listener(store: state.Store, snapshot: Snapshot) -> None:
            calls.append(snapshot)

        state.on_refresh(listener)
        state.on_refresh(listener)
        try:
            snapshot = state.current()
        finally:
            state._refresh_listeners.remove(listener)
        assert calls == [snapshot]

    def test_reading_the_state_imports_neither_the_models_nor_the_signals(self) -> None:
        import subprocess
        import sys

        code = (
            "import sys, maintenance_mode.state, maintenance_mode.snapshot;"
            "print(sorted(m for m in sys.modules if m.startswith('maintenance_mode')))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert "maintenance_mode.models" not in out
        assert "maintenance_mode.signals" not in out
        assert "maintenance_mode.state" in out
