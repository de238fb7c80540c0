"""The refresher thread: no request waits on a reading once the process has a snapshot.

A hung cache or database is played here by a reading that blocks until the
test releases it; tests/integration/test_hangs.py freezes real Redis and
PostgreSQL servers under real web servers.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from django.db import connections
from pytest_django.fixtures import Settings as SettingsWrapper

from maintenance_mode import state
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.snapshot import Snapshot
from tests.conftest import FakeClock

# The refresher reads through its own connection: it must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store(settings: SettingsWrapper, clock: FakeClock) -> Iterator[state.Store]:
    """``state.store``, refreshed by its thread as in production."""
    settings.MAINTENANCE_MODE_BACKGROUND_REFRESH = True
    settings.MAINTENANCE_MODE_STATE_TTL = 1
    yield state.store
    state.store.close(timeout=5)


class Hang:
    """Makes the store's readings block until released, like a frozen Redis."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.readings = 0
        self._load = state.Store._load

    def load(self, store: state.Store) -> Snapshot | None:
        self.readings += 1
        loaded = self._load(store)  # what the database said when the reading began
        self.started.set()
        assert self.release.wait(timeout=30), "the test never released the reading"
        return loaded


@pytest.fixture
def hang() -> Iterator[Hang]:
    stuck = Hang()
    with mock.patch.object(state.Store, "_load", lambda store: stuck.load(store)):
        yield stuck
    stuck.release.set()


def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait (generously) for the refresher thread to have done something."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def save(**fields: Any) -> MaintenanceSettings:
    row = MaintenanceSettings.load()
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def test_first_reading_is_made_by_the_thread_and_awaited(store: state.Store) -> None:
    save(enabled=True, message="from the database")
    store.reset()
    snapshot = store.current()
    assert snapshot.known
    assert snapshot.message == "from the database"
    assert store._thread is not None
    assert store._thread is not threading.current_thread()


def test_stale_snapshot_is_served_while_a_reading_hangs(store: state.Store, clock: FakeClock, hang: Hang) -> None:
    save(enabled=True, message="before")  # publish(): this process has a snapshot
    MaintenanceSettings.objects.update(message="after")  # another server's change, say
    clock.advance(2)  # the TTL lapsed: the next request wakes the refresher
    assert store.current().message == "before"
    assert hang.started.wait(timeout=10)
    for _ in range(3):  # the reading is stuck: requests keep the snapshot in hand
        clock.advance(2)
        assert store.current().message == "before"
        assert store.fresh() is not None
    assert not hang.release.is_set()  # every call above returned during the hang
    hang.release.set()
    eventually(lambda: store.current().message == "after", "the reading never landed")


def test_writer_sees_its_change_while_a_reading_hangs(store: state.Store, clock: FakeClock, hang: Hang) -> None:
    save(enabled=False)
    clock.advance(2)
    store.current()
    assert hang.started.wait(timeout=10)
    save(enabled=True)  # publish() does not wait for the stuck reading
    assert store.current().enabled
    hang.release.set()
    eventually(lambda: store._readings > 0, "the reading never finished")
    assert store.current().enabled  # the reading that started before the write did not undo it


def test_reading_begun_before_a_settings_change_is_dropped(store: state.Store, hang: Hang) -> None:
    save(enabled=True)
    store.reset()
    store.fresh()  # wakes the refresher, which reads with the old settings
    assert hang.started.wait(timeout=10)
    store.reset()  # what a setting_changed signal does
    hang.release.set()
    eventually(lambda: not store._refresh_lock.locked(), "the reading never finished")
    assert store._readings == 0
    assert store._last_good is None


def test_first_reading_waits_at_most_the_timeout_then_fails_closed(
    store: state.Store, settings: SettingsWrapper, clock: FakeClock, hang: Hang, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MAINTENANCE_MODE_FIRST_READ_TIMEOUT = 0.2
    settings.MAINTENANCE_MODE_FAIL_CLOSED = True
    save(enabled=False, message="the truth")
    store.reset()
    with caplog.at_level(logging.WARNING, "maintenance_mode"):
        first = store.current()  # waits 0.2 s for the stuck reading, then gives up
        assert hang.started.is_set()
        assert first.enabled  # FAIL_CLOSED
        assert not first.known
        clock.advance(2)  # past the deadline: the next requests do not wait again
        assert store.current() is first
        assert store.fresh() is first
    assert caplog.messages == [
        "maintenance_mode: no reading of the state within 0.2 s (the cache or the database does not answer); "
        "applying MAINTENANCE_MODE_FAIL_CLOSED = True until a reading succeeds."
    ]
    hang.release.set()
    eventually(lambda: store.current().message == "the truth", "the first reading never landed")
    assert not store.current().enabled


def test_requests_after_giving_up_on_the_first_reading_take_the_fast_path(
    store: state.Store, settings: SettingsWrapper, hang: Hang
) -> None:
    """Until the TTL lapses: no request asks the stuck refresher again, or pays for asking."""
    settings.MAINTENANCE_MODE_FIRST_READ_TIMEOUT = 0.2
    first = store.current()  # gives up after 0.2 s
    assert hang.started.wait(timeout=10)  # the refresher took its wake-up and is stuck in the reading
    for _ in range(3):  # the clock has not moved: within the TTL
        assert store.current() is first
        assert store.fresh() is first
    assert not store._wake.is_set()


def test_fresh_never_waits_for_the_first_reading(store: state.Store, hang: Hang) -> None:
    assert store.fresh() is None  # never read: the async caller awaits current() in a thread
    assert hang.started.wait(timeout=10)  # ... and the refresher is already reading
    hang.release.set()
    eventually(lambda: store.fresh() is not None, "the first reading never landed")


def test_first_reading_that_fails_fast_is_not_waited_for_again(
    store: state.Store, clock: FakeClock, settings: SettingsWrapper
) -> None:
    settings.MAINTENANCE_MODE_FIRST_READ_TIMEOUT = 30
    with mock.patch.object(state.Store, "_read_database", side_effect=RuntimeError("db down")):
        first = store.current()  # the refresher's reading failed: no 30 s wait
        assert not first.known
        clock.advance(2)
        assert store.current() is first
    eventually(lambda: store._readings >= 2, "the refresher did not retry after the TTL")


def test_one_refresher_per_process_however_many_lapses(store: state.Store, clock: FakeClock) -> None:
    store.current()  # the first reading starts the refresher
    thread = store._thread

    def read_after(before: int) -> Callable[[], bool]:
        return lambda: store._readings > before

    for _ in range(5):
        readings = store._readings
        clock.advance(2)
        store.current()
        eventually(read_after(readings), "no reading after the lapse")
    assert store._thread is thread
    refreshers = [each for each in threading.enumerate() if each.name == "maintenance_mode refresher"]
    assert thread in refreshers


def test_refresher_closes_its_database_connection_after_each_reading(store: state.Store, clock: FakeClock) -> None:
    closed_in: list[str] = []
    close_all = connections.close_all

    def recording_close_all() -> None:
        closed_in.append(threading.current_thread().name)
        close_all()

    with mock.patch.object(connections, "close_all", recording_close_all):
        store.current()
        eventually(lambda: closed_in != [], "the first reading's connection was kept")
        clock.advance(2)
        store.current()
        eventually(lambda: len(closed_in) == 2, "the second reading's connection was kept")
    assert closed_in == ["maintenance_mode refresher"] * 2


def test_refresher_survives_a_failing_listener(
    store: state.Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def broken(each: state.Store, snapshot: Snapshot) -> None:
        calls.append(snapshot.version)
        if len(calls) == 1:
            raise RuntimeError("bug in a listener")

    state.on_refresh(broken)
    try:
        with caplog.at_level(logging.ERROR, "maintenance_mode"):
            store.current()
            eventually(lambda: len(calls) == 1, "the listener was not called")
            eventually(lambda: "refreshing the state failed" in caplog.text, "the failure was not logged")
            clock.advance(2)
            store.current()
            eventually(lambda: len(calls) == 2, "the refresher died with the listener")
    finally:
        state._refresh_listeners.remove(broken)
    [failure] = caplog.records
    assert failure.getMessage() == "maintenance_mode: refreshing the state failed."
    assert failure.exc_info is not None
    assert repr(failure.exc_info[1]) == "RuntimeError('bug in a listener')"


def test_no_thread_available_means_refreshing_in_the_request(
    store: state.Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    save(enabled=True, message="read inline")
    store.reset()
    with (
        caplog.at_level(logging.WARNING, "maintenance_mode"),
        mock.patch.object(threading.Thread, "start", side_effect=RuntimeError("can't start new thread")),
    ):
        assert store.current().message == "read inline"
        assert store.fresh() is not None
        MaintenanceSettings.objects.update(message="read inline again")  # behind the app's back
        clock.advance(2)  # the next lapse: no second attempt at a thread, and no second log line
        assert store.current().message == "read inline again"
    assert caplog.record_tuples == [
        (
            "maintenance_mode",
            logging.WARNING,
            "maintenance_mode: no refresher thread (can't start new thread); refreshing in requests.",
        )
    ]
    assert store._thread is None


def test_refresher_is_a_daemon_thread_named_for_thread_dumps(store: state.Store) -> None:
    """A daemon, so that the refresher, which never ends by itself, never keeps a process from exiting
    (started here from the main thread, whose threads are not daemons unless told)."""
    store.current()
    thread = store._thread
    assert thread is not None
    assert thread.name == "maintenance_mode refresher"
    assert thread.daemon


def test_process_with_a_refresher_still_exits() -> None:
    """A worker whose refresher is mid-loop exits when its main thread ends (the test above checks the
    flag in-process, for mutmut, which cannot follow a subprocess)."""
    code = (
        "import os\n"
        "import django\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'\n"
        "django.setup()\n"
        "from django.test.utils import override_settings\n"
        "from maintenance_mode import state\n"
        "with override_settings(MAINTENANCE_MODE_BACKGROUND_REFRESH=True):\n"
        "    state.store.fresh()\n"  # starts the refresher, which then polls for ever
        "    print(state.store._thread.is_alive())\n"
    )
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == "True\n"


def test_closed_store_stops_its_refresher(store: state.Store) -> None:
    store.current()
    thread = store._thread
    assert thread is not None
    store.close(timeout=5)
    assert not thread.is_alive()


def test_closing_a_store_whose_reading_hangs_returns_after_its_bound(
    store: state.Store, clock: FakeClock, hang: Hang
) -> None:
    save(enabled=True)  # publish(): a snapshot in hand, so the request below does not wait
    clock.advance(2)
    store.current()
    assert hang.started.wait(timeout=10)
    thread = store._thread
    assert thread is not None
    store.close(timeout=0.05)
    assert thread.is_alive()  # close() returned while the reading still hangs
    hang.release.set()
    thread.join(timeout=10)
    assert not thread.is_alive()  # ... and the refresher stopped once it ended


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_forked_child_gets_fresh_locks_and_its_own_refresher(store: state.Store) -> None:
    store.current()
    assert store._thread is not None
    with store._refresh_lock:  # the parent's refresher is mid-reading at the fork, say
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            ok = store._thread is None and store._refresh_lock.acquire(blocking=False)
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_fork_hook_replaces_the_locks_and_forgets_the_thread(store: state.Store) -> None:
    """What the child of the test above ran (coverage does not follow a fork)."""
    store.current()
    thread, lock, wake = store._thread, store._refresh_lock, store._wake
    with lock:
        state._after_fork_in_child()
    assert store._thread is None
    assert store._refresh_lock is not lock
    assert store._refresh_lock.acquire(blocking=False)
    store._refresh_lock.release()
    store._stopped = True  # (this is no child: stop the refresher the hook forgot)
    wake.set()
    assert thread is not None
    thread.join(timeout=10)
    assert not thread.is_alive()


class TestCallBounded:
    def test_answer_in_time_is_returned(self) -> None:
        assert state.call_bounded(lambda: 42, 5) == 42

    def test_error_is_raised_in_the_caller(self) -> None:
        def broken() -> None:
            raise ConnectionError("refused")

        with pytest.raises(ConnectionError, match="refused"):
            state.call_bounded(broken, 5)

    def test_hung_call_is_abandoned_after_the_timeout(self) -> None:
        release = threading.Event()
        try:
            with pytest.raises(TimeoutError, match=r"no answer within 0\.05 s"):
                state.call_bounded(lambda: release.wait(30), 0.05)
        finally:
            release.set()

    def test_cache_call_runs_in_a_daemon_thread_named_for_thread_dumps(self) -> None:
        """The name is what py-spy or faulthandler shows for a writer stuck on a hung cache;
        a daemon, so that an abandoned call never keeps the process alive (the test below
        shows it in a real process, which mutmut cannot follow)."""
        helper = state.call_bounded(threading.current_thread, 5)
        assert helper.name == "maintenance_mode cache call"
        assert helper.daemon

    def test_abandoned_cache_call_does_not_keep_the_process_alive(self) -> None:
        """A ``maintenance on`` whose cache never answered still exits once it has warned."""
        code = (
            "import threading\n"
            "from maintenance_mode.state import call_bounded\n"
            "try:\n"
            "    call_bounded(threading.Event().wait, 0.05)\n"  # a call that never returns
            "except TimeoutError as error:\n"
            "    print(error)\n"
        )
        finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert finished.returncode == 0, finished.stderr
        assert finished.stdout == "no answer within 0.05 s\n"

    def test_without_threads_the_call_runs_in_the_caller(self) -> None:
        with mock.patch.object(threading.Thread, "start", side_effect=RuntimeError("can't start new thread")):
            assert state.call_bounded(threading.current_thread, 5) is threading.current_thread()


def test_idle_process_catches_up_with_a_change_without_any_request(store: state.Store, clock: FakeClock) -> None:
    """An idle worker's first request after a quiet spell must not get the old state."""
    save(enabled=False)
    clock.advance(2)
    assert not store.current().enabled  # the refresher runs, as in any worker after its first TTL
    eventually(lambda: store._readings > 0, "the first reading never happened")
    # Another server's write: the row changes behind this process's back.
    MaintenanceSettings.objects.filter(pk=MaintenanceSettings.SINGLETON_PK).update(enabled=True, version=1000)
    clock.advance(2)  # the snapshot lapses, and no request comes to notice it
    eventually(lambda: store._current.enabled, "the idle refresher never looked by itself")
    served = store.fresh()
    assert served is not None
    assert served.enabled


def test_refresher_does_not_read_while_the_snapshot_is_fresh(store: state.Store, clock: FakeClock) -> None:
    save(enabled=False)
    clock.advance(2)
    store.current()
    eventually(lambda: store._readings > 0, "the first reading never happened")
    readings = store._readings
    time.sleep(2.5 * state.MIN_POLL_INTERVAL + 1)  # past a poll of the real-time TTL (1 s)
    assert store._readings == readings  # polled, found the snapshot fresh by the store's clock, read nothing


class RefresherClock:
    """The store's clock, telling how often the refresher thread looked at it."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.looks_by_the_refresher = 0

    def __call__(self) -> float:
        if threading.current_thread().name == "maintenance_mode refresher":
            self.looks_by_the_refresher += 1
        return self._clock()


def test_idle_refresher_reads_at_the_exact_instant_the_snapshot_lapses(store: state.Store, clock: FakeClock) -> None:
    """The refresher's poll and a request agree: at the expiry instant the snapshot is due."""
    save(enabled=False)
    clock.advance(2)
    store.current()
    eventually(lambda: store._readings > 0, "the first reading never happened")
    MaintenanceSettings.objects.filter(pk=MaintenanceSettings.SINGLETON_PK).update(enabled=True, version=1000)
    clock.advance(1)  # exactly the TTL since that reading, and no request comes
    assert store._expires == clock()
    eventually(lambda: store._current.enabled, "the refresher kept the snapshot past its expiry")


def test_refresher_keeps_polling_after_a_poll_that_found_the_snapshot_fresh(
    store: state.Store, clock: FakeClock
) -> None:
    """A request or a writer refreshed meanwhile: the poll reads nothing, and a later change still comes in."""
    save(enabled=False)
    clock.advance(2)
    store.current()
    eventually(lambda: store._readings > 0, "the first reading never happened")
    eventually(lambda: not store._refresh_lock.locked(), "the first reading never finished")  # its clock call too
    thread = store._thread
    watched = RefresherClock(clock)
    store._clock = watched
    readings = store._readings
    eventually(lambda: watched.looks_by_the_refresher > 0, "the refresher never polled")  # the clock has not moved
    assert store._readings == readings  # the poll found the snapshot fresh and read nothing
    MaintenanceSettings.objects.filter(pk=MaintenanceSettings.SINGLETON_PK).update(enabled=True, version=1000)
    clock.advance(2)  # the snapshot lapses, and no request comes to notice it
    eventually(lambda: store._current.enabled, "the refresher stopped after the poll it skipped")
    assert store._thread is thread
