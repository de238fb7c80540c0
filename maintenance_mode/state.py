"""Where the maintenance state comes from, and how it stays fast and consistent.

The database row is the truth. Each process keeps an immutable
:class:`~maintenance_mode.snapshot.Snapshot` and trusts it for
``MAINTENANCE_MODE_STATE_TTL`` seconds, so a request reads only process memory:
no query, no cache call.

Stale-while-revalidate. When the snapshot lapses, the request that notices
wakes this process's refresher thread and goes on with the snapshot it has
(and the thread also looks by itself once per TTL, so an idle worker's first
request after a quiet spell does not get an old state);
the thread reads the shared cache, then the database on a miss, installs the
result and closes its database connection (hundreds of workers must not hold
hundreds of idle connections; the thread is the only reader, so a process never
uses more than one connection for this). So once a process has a snapshot, no
request ever waits on the cache or the database, whatever they do (hang, lock,
refuse, answer slowly) and whatever client timeouts the project set: a stuck
reading only means the last good snapshot keeps serving until one succeeds.
The thread is started on first use, and again in a forked child (a hook
replaces the locks and forgets the parent's thread), so preforking servers get
one per worker. Where no thread can be started, or with
``MAINTENANCE_MODE_BACKGROUND_REFRESH = False``, the request that finds the
snapshot due refreshes it itself while the other threads keep the old one.

A process that never had a snapshot (a new worker during an outage) waits at
most ``MAINTENANCE_MODE_FIRST_READ_TIMEOUT`` seconds for its first reading,
then applies ``MAINTENANCE_MODE_FAIL_CLOSED``, says so in the log, and keeps
trying in the background. ``MAINTENANCE_MODE_FORCE`` reads nothing at all.

Writers publish the new snapshot with ``cache.set`` (bounded by
``MAINTENANCE_MODE_PUBLISH_TIMEOUT``: the row is committed, a hung cache costs
a warning, never a hung admin or command) and install it in their own process
at once; readers refill a missing key with ``cache.add``, and a version number
means that neither a slow reader nor the refresher ever puts an older state
back. Failures are logged once per interval.

This module imports neither the models nor the signals: it reads the row
through the app registry, and whatever must happen after a refresh (the
announcement of a scheduled start or end, in ``models.py``) registers itself
with :func:`on_refresh` when the app is ready.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TypeVar

from django.apps import apps
from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections, router, transaction

from maintenance_mode.conf import conf
from maintenance_mode.snapshot import FULL, ROW_FIELDS, SINGLETON_PK, Snapshot

logger = logging.getLogger("maintenance_mode")

T = TypeVar("T")

# Bump the suffix when the payload's shape changes, so that two releases
# running side by side during a rolling deploy never read each other's data.
CACHE_KEY = "maintenance_mode:state:v2"

# Backends that live inside one process (or one machine): they cannot tell
# other servers about a change, so the database is asked instead.
PROCESS_LOCAL_CACHES = (LocMemCache, DummyCache, FileBasedCache)

#: Called with the store and its last good snapshot after each refresh, outside
#: the store's lock (a listener may save the settings, which publishes).
RefreshListener = Callable[["Store", Snapshot], None]
_refresh_listeners: list[RefreshListener] = []


def on_refresh(listener: RefreshListener) -> None:
    """Call ``listener`` after every refresh of every store (once per listener)."""
    if listener not in _refresh_listeners:
        _refresh_listeners.append(listener)


def _payload_version(payload: object) -> int:
    version = payload.get("version") if isinstance(payload, Mapping) else None
    return version if isinstance(version, int) else -1


def _same_state(new: Snapshot, old: Snapshot | None) -> bool:
    return old is not None and new.to_payload() == old.to_payload()


class FailureLog:
    """Logs a failing source once per interval, and once when it recovers."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._since: dict[str, float] = {}
        self._logged_at: dict[str, float] = {}

    def failed(self, source: str, error: BaseException, fallback: str) -> None:
        now = self._clock()
        self._since.setdefault(source, now)
        if now - self._logged_at.get(source, -math.inf) >= conf.ERROR_LOG_INTERVAL:
            self._logged_at[source] = now
            logger.warning(
                "maintenance_mode: the %s is unavailable (%s: %s); %s.", source, type(error).__name__, error, fallback
            )

    def succeeded(self, source: str) -> None:
        since = self._since.pop(source, None)
        if since is not None:
            # A new outage right after this recovery is news: log it at once.
            self._logged_at.pop(source, None)
            logger.warning("maintenance_mode: the %s is back after %.1f s.", source, self._clock() - since)


def call_bounded(function: Callable[[], T], timeout: float) -> T:
    """``function()`` in a helper thread, waiting for it at most ``timeout`` seconds.

    For the writer's cache calls: a Redis that accepted the connection and then
    stopped answering must not hang the admin or the command, whatever socket
    timeout the project set (none, by default, for reads). On ``TimeoutError``
    the call is abandoned to finish on its own (a daemon thread: it never keeps
    the process alive). Where no thread can be started, it runs here.
    """
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, function()))
        except BaseException as error:  # noqa: BLE001 - handed to the caller below
            outcome.append((False, error))

    helper = threading.Thread(target=run, name="maintenance_mode cache call", daemon=True)
    try:
        helper.start()
    except RuntimeError:  # "can't start new thread"
        return function()
    helper.join(timeout)
    if not outcome:
        raise TimeoutError(f"no answer within {timeout:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


# The refresher looks at least this often (seconds), however small the TTL:
# STATE_TTL = 0 must not make it spin.
MIN_POLL_INTERVAL = 0.1

# Stands for "nothing read yet" until the first lapse computes the fallback
# (settings are not read at import time).
_NEVER_READ = Snapshot(known=False)


class Store:
    """The per-process snapshot and the rules for refreshing and publishing it.

    ``clock`` is the monotonic clock the TTL is measured with (tests pass one
    they can move).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._epoch = 0
        self._thread: threading.Thread | None = None
        self._threads_unavailable = False
        self._stopped = False
        self._new_locks()
        _stores.add(self)
        self.reset()

    def _new_locks(self) -> None:
        # _lock guards the snapshot fields and is held for assignments only,
        # never across I/O, so a writer's publish() never waits on a reading.
        self._lock = threading.Lock()
        # One reading at a time; held across the I/O of a reading.
        self._refresh_lock = threading.Lock()
        self._wake = threading.Event()

    def reset(self) -> None:
        """Forget the snapshot and past failures, e.g. when settings change in tests."""
        with self._lock:
            self._epoch += 1  # a reading in flight belongs to the old settings: dropped
            self._failures = FailureLog(self._clock)
            self._last_good: Snapshot | None = None
            self._current = _NEVER_READ
            self._expires = -math.inf
            self._readings = 0
            self._first_attempt = threading.Event()
            self._first_deadline: float | None = None
            self._gave_up = False
            self._publish_outcome: tuple[int, str] | None = None

    def current(self) -> Snapshot:
        """The snapshot for this request: process memory only, once there is one.

        When it is due for a refresh, the refresher thread is woken and this
        still returns the snapshot in hand. Only a process that never had a
        snapshot waits, at most ``FIRST_READ_TIMEOUT`` seconds, for its first
        reading; then it applies ``FAIL_CLOSED``.
        """
        if self._expires > self._clock():
            return self._current
        return self._lapsed(may_wait=True) or self._current  # (never None when it may wait)

    def fresh(self) -> Snapshot | None:
        """The snapshot, without ever blocking or doing I/O.

        ``None`` only while the process waits for its first reading (or, with
        ``BACKGROUND_REFRESH`` off, when a refresh is due): then call
        :meth:`current` in a thread.
        """
        if self._expires > self._clock():
            return self._current
        return self._lapsed(may_wait=False)

    def _lapsed(self, *, may_wait: bool) -> Snapshot | None:
        if conf.FORCE is not None:
            return self._forced()
        if self._current is _NEVER_READ:
            self._current = self._effective(None)
        if not self._request_refresh():
            return self.refresh() if may_wait else None
        now = self._clock()
        if self._last_good is not None or self._first_attempt.is_set():
            # Serve what we have; the refresher installs its reading when it
            # has one. Until the next lapse, requests take the fast path again.
            self._expires = now + conf.STATE_TTL
            return self._current
        if self._first_deadline is None:
            self._first_deadline = now + conf.FIRST_READ_TIMEOUT
        remaining = self._first_deadline - now
        if remaining > 0:
            if not may_wait:
                return None
            if self._first_attempt.wait(remaining):
                return self._current
        self._give_up()
        return self._current

    def _forced(self) -> Snapshot:
        """``MAINTENANCE_MODE_FORCE`` reads nothing, now or later (a settings change resets the store)."""
        with self._lock:
            self._current = self._effective(self._last_good)
            self._expires = math.inf
        return self._current

    def _give_up(self) -> None:
        """No first reading in time: apply FAIL_CLOSED until a reading succeeds."""
        with self._lock:
            self._expires = self._clock() + conf.STATE_TTL
            if self._gave_up:
                return
            self._gave_up = True
        logger.warning(
            "maintenance_mode: no reading of the state within %s s (the cache or the database does not answer); "
            "applying MAINTENANCE_MODE_FAIL_CLOSED = %s until a reading succeeds.",
            conf.FIRST_READ_TIMEOUT,
            conf.FAIL_CLOSED,
        )

    def _request_refresh(self) -> bool:
        """Wake the refresher thread (started on first use, and again in a forked
        child); ``False`` when there is none, so the caller refreshes itself."""
        if self._threads_unavailable or not conf.BACKGROUND_REFRESH:
            return False
        with self._lock:  # two requests must not start two refreshers (once per TTL: cheap)
            thread = self._thread
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=self._run, name="maintenance_mode refresher", daemon=True)
                try:
                    thread.start()
                except RuntimeError as error:  # "can't start new thread": refresh in requests instead
                    self._threads_unavailable = True
                    logger.warning("maintenance_mode: no refresher thread (%s); refreshing in requests.", error)
                    return False
                self._thread = thread
        self._wake.set()
        return True

    def _run(self) -> None:
        """The refresher: one reading per wake-up, and one whenever the snapshot
        lapses with no request to notice it; each reading's connection is closed.

        Polling matters to an idle worker: woken only by requests, it would
        answer its first request after a long quiet spell with the state it had
        when it went quiet, however old. So every worker keeps within the TTL
        (plus one reading) of the truth, busy or not, at the cost of one cache
        read (or one query, without a shared cache) per TTL per process.
        """
        while True:
            woken = self._wake.wait(timeout=max(conf.STATE_TTL, MIN_POLL_INTERVAL))
            self._wake.clear()
            if self._stopped:
                return
            if not woken and self._expires > self._clock():
                continue  # a request or a writer refreshed it meanwhile
            try:
                self.refresh()
            except Exception:  # a bug here must not end the refresher: the next wake-up tries again
                logger.exception("maintenance_mode: refreshing the state failed.")
            finally:
                # Fifty containers of eight workers must not keep 400 idle
                # database connections: this thread's closes after each reading.
                connections.close_all()

    def close(self, timeout: float) -> None:
        """Stop the refresher thread (tests; a process simply exits).

        Waits at most ``timeout`` seconds: a refresher stuck in a reading stops
        when the reading ends.
        """
        self._stopped = True
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=timeout)

    def _after_fork(self) -> None:
        # The child has none of the parent's threads, and a lock the parent's
        # refresher held at the fork would stay held forever.
        self._new_locks()
        self._thread = None

    def refresh(self) -> Snapshot:
        """Read the state now, in the calling thread, and install it.

        The refresher thread calls this. With ``BACKGROUND_REFRESH`` off,
        requests do: one reads, the others keep serving the snapshot they
        have, except before the first reading, when they wait for it.
        """
        if conf.FORCE is not None:
            return self._forced()
        readings = self._readings
        if not self._refresh_lock.acquire(blocking=self._last_good is None):
            return self._current
        try:
            if self._readings != readings:
                return self._current  # another thread read while we waited
            epoch = self._epoch
            loaded = self._load()
            with self._lock:
                if epoch != self._epoch:
                    return self._current  # reset() meanwhile: this reading used the old settings
                self._install(loaded)
                last_good = self._last_good
            self._first_attempt.set()
        finally:
            self._refresh_lock.release()
        if last_good is not None:
            for listener in _refresh_listeners:
                listener(self, last_good)  # outside the locks: a listener may save
        return self._current

    def _install(self, loaded: Snapshot | None) -> None:
        """Under ``_lock``: the reading becomes the snapshot, unless older than ours."""
        self._readings += 1
        last = self._last_good
        # A publish() may have landed during the reading: never go back to an
        # older version. Keep the snapshot object when nothing changed: its
        # identity keys the rendered page, which then survives the refresh.
        if loaded is not None and (last is None or loaded.version >= last.version) and not _same_state(loaded, last):
            self._last_good = loaded
            self._current = self._effective(loaded)
        elif self._current is _NEVER_READ:
            self._current = self._effective(None)
        self._expires = self._clock() + conf.STATE_TTL

    def publish(self, snapshot: Snapshot) -> None:
        """After a committed write: this process at once, other processes via the cache.

        The cache calls are bounded by ``PUBLISH_TIMEOUT``: the write is
        committed, so a hung cache costs the writer a warning, never a hang.
        """
        with self._lock:
            if self._last_good is None or snapshot.version >= self._last_good.version:
                self._last_good = snapshot
                self._current = self._effective(snapshot)
                self._expires = self._clock() + conf.STATE_TTL
            self._first_attempt.set()  # the process has a snapshot now: nobody waits for a reading
        cache = self._shared_cache()
        if cache is None:
            return
        try:
            call_bounded(lambda: self._publish_to(cache, snapshot), conf.PUBLISH_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - any backend error: the database still has it
            self._publish_outcome = (snapshot.version, f"{type(error).__name__}: {error}")
            self._failures.failed("cache", error, self._fallback())
        else:
            self._publish_outcome = None
            self._failures.succeeded("cache")

    @staticmethod
    def _publish_to(cache: BaseCache, snapshot: Snapshot) -> None:
        # Two writers racing to the cache: the older must not land last.
        # (Check-then-set narrows the window to one round trip; the cache
        # timeout bounds what remains.)
        # Garbage that does not unpickle must not block its overwrite (if the
        # cache is down, set() fails and says so).
        with contextlib.suppress(Exception):
            if _payload_version(cache.get(CACHE_KEY)) > snapshot.version:
                return
        cache.set(CACHE_KEY, snapshot.to_payload(), conf.CACHE_TIMEOUT)

    def propagation_warning(self, version: int) -> str | None:
        """Why other servers may not see ``version`` within the TTL, or ``None``.

        Writers call this after saving: when the shared cache missed the new
        state, the others keep the old one until the cache entry expires.
        Bounded like :meth:`publish`, and no second wait when it just failed.
        """
        cache = self._shared_cache()
        if cache is None:
            return None
        from django.utils.translation import gettext as _

        failed = self._publish_outcome
        if failed is not None and failed[0] == version:
            reason = _("the shared cache is unreachable (%(error)s)") % {"error": failed[1]}
        else:
            try:
                cached = _payload_version(call_bounded(lambda: cache.get(CACHE_KEY), conf.PUBLISH_TIMEOUT))
            except Exception as error:  # noqa: BLE001
                reason = _("the shared cache is unreachable (%(error)s)") % {
                    "error": f"{type(error).__name__}: {error}"
                }
            else:
                if cached >= version:
                    return None
                reason = _("the shared cache still holds an older state")
        return _(
            "Saved, but %(reason)s: other servers may keep the previous state for up to %(seconds)s s "
            "(MAINTENANCE_MODE_CACHE_TIMEOUT)."
        ) % {"reason": reason, "seconds": conf.CACHE_TIMEOUT}

    def failed(self, source: str, error: BaseException) -> None:
        """Record that ``source`` ("cache", "database") failed; logged once per interval."""
        self._failures.failed(source, error, self._fallback())

    def _fallback(self) -> str:
        """What requests get meanwhile, for the log."""
        if conf.FORCE is not None:
            return "the state is forced by MAINTENANCE_MODE_FORCE"
        if self._last_good is not None:
            return "serving the last known state"
        return f"no state read yet: applying MAINTENANCE_MODE_FAIL_CLOSED = {conf.FAIL_CLOSED}"

    def _effective(self, snapshot: Snapshot | None) -> Snapshot:
        if snapshot is None:
            snapshot = Snapshot(enabled=conf.FAIL_CLOSED, known=False)
        force = conf.FORCE
        if force is None:
            return snapshot
        # The emergency switch closes the site (or opens it) whatever mode the row holds.
        return dataclasses.replace(snapshot, enabled=force, mode=FULL, starts_at=None, ends_at=None)

    def _shared_cache(self) -> BaseCache | None:
        alias = conf.CACHE_ALIAS
        if alias is None:
            return None
        cache = caches[alias]
        return None if isinstance(cache, PROCESS_LOCAL_CACHES) else cache

    def _load(self) -> Snapshot | None:
        """The newest snapshot available, or ``None`` when nothing could be read."""
        cache = self._shared_cache()
        cache_usable = cache is not None
        if cache is not None:
            try:
                payload = cache.get(CACHE_KEY)
            except Exception as error:  # noqa: BLE001 - Redis down, timeouts, ...
                self._failures.failed("cache", error, self._fallback())
                cache_usable = False
            else:
                self._failures.succeeded("cache")
                cached = self._from_cache(cache, payload)
                if cached is not None:
                    return cached
        try:
            snapshot = self._read_database()
        except Exception as error:  # noqa: BLE001 - DatabaseError, or a driver's own
            self._failures.failed("database", error, self._fallback())
            return None
        self._failures.succeeded("database")
        if cache is not None and cache_usable:
            try:
                cache.add(CACHE_KEY, snapshot.to_payload(), conf.CACHE_TIMEOUT)
            except Exception as error:  # noqa: BLE001
                self._failures.failed("cache", error, self._fallback())
        return snapshot

    def _from_cache(self, cache: BaseCache, payload: object) -> Snapshot | None:
        if payload is None:
            return None
        try:
            snapshot = Snapshot.from_payload(payload)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError) as error:
            logger.warning("maintenance_mode: ignoring a malformed state in the cache (%s).", error)
            try:
                cache.delete(CACHE_KEY)  # our versioned key: only this release writes it
            except Exception as delete_error:  # noqa: BLE001
                self._failures.failed("cache", delete_error, self._fallback())
            return None
        last = self._last_good
        if last is not None and snapshot.version < last.version:
            return None  # a write of ours did not reach the cache: ask the database
        return snapshot

    def _read_database(self) -> Snapshot:
        # Through the registry, not an import: the state layer does not depend
        # on the models module, which depends on it.
        model = apps.get_model("maintenance_mode.maintenancesettings")  # its label_lower
        # The primary (write) database: a lagging replica could hand back an
        # older version. A savepoint, so that a failure (e.g. no table yet)
        # cannot poison the caller's transaction on PostgreSQL.
        using = router.db_for_write(model)
        with transaction.atomic(using=using):
            row = model._default_manager.using(using).filter(pk=SINGLETON_PK).values(*ROW_FIELDS).first()
        return Snapshot() if row is None else Snapshot.from_payload(row)


# Every store, for the fork hook (tests make stores of their own).
_stores: weakref.WeakSet[Store] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for each in list(_stores):
        each._after_fork()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX; a process that cannot fork needs no hook
    os.register_at_fork(after_in_child=_after_fork_in_child)

store = Store()


def current() -> Snapshot:
    return store.current()


def is_active() -> bool:
    """Whether maintenance is on right now, from the snapshot (cheap)."""
    return store.current().is_active(time.time())
