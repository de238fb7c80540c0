"""Where the maintenance state comes from, and how it stays fast and consistent.

The database row is the truth. Each process keeps an immutable :class:`Snapshot`
and trusts it for ``MAINTENANCE_MODE_STATE_TTL`` seconds, so a request reads
only process memory: no query, no cache call. When the snapshot lapses, one
thread refreshes it from the shared cache, then from the database on a miss.
Writers publish the new snapshot with ``cache.set``; readers refill a missing
key with ``cache.add``, so a slow reader never puts an older version back.
When the cache or the database fails, the last good snapshot keeps serving.

This module imports neither the models nor the signals: it reads the row
through the app registry, and whatever must happen after a refresh (the
announcement of a scheduled start or end, in ``models.py``) registers itself
with :func:`on_refresh` when the app is ready.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping

from django.apps import apps
from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import router, transaction

from maintenance_mode.conf import conf
from maintenance_mode.snapshot import FULL, ROW_FIELDS, SINGLETON_PK, Snapshot

logger = logging.getLogger("maintenance_mode")

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


class _FailureLog:
    """Logs a failing source once per interval, and once when it recovers."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}
        self._logged_at: dict[str, float] = {}

    def failed(self, source: str, error: BaseException) -> None:
        now = time.monotonic()
        self._since.setdefault(source, now)
        if now - self._logged_at.get(source, -math.inf) >= conf.ERROR_LOG_INTERVAL:
            self._logged_at[source] = now
            logger.warning(
                "maintenance_mode: the %s is unavailable (%s: %s); serving the last known state.",
                source,
                type(error).__name__,
                error,
            )

    def succeeded(self, source: str) -> None:
        since = self._since.pop(source, None)
        if since is not None:
            self._logged_at.pop(source, None)
            logger.warning("maintenance_mode: the %s is back after %.1f s.", source, time.monotonic() - since)


class Store:
    """The per-process snapshot and the rules for refreshing and publishing it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget the snapshot and past failures, e.g. when settings change in tests."""
        self._failures = _FailureLog()
        self._last_good: Snapshot | None = None
        self._current = self._effective(None)
        self._expires = -math.inf

    def current(self) -> Snapshot:
        """The snapshot for this request: process memory only while it is fresh."""
        if self._expires > time.monotonic():
            return self._current
        return self.refresh()

    def fresh(self) -> Snapshot | None:
        """The snapshot if no refresh is due; the async path refreshes in a thread."""
        return self._current if self._expires > time.monotonic() else None

    def refresh(self) -> Snapshot:
        # One thread refreshes; the others keep serving the snapshot they have,
        # except before the first reading, when they wait for it.
        if not self._lock.acquire(blocking=self._last_good is None):
            return self._current
        try:
            if self._expires > time.monotonic():
                return self._current  # another thread refreshed while we waited
            loaded = self._load()
            # Keep the snapshot object when nothing changed: its identity keys
            # the rendered page, which then survives the refresh.
            if loaded is not None and not _same_state(loaded, self._last_good):
                self._last_good = loaded
                self._current = self._effective(loaded)
            self._expires = time.monotonic() + conf.STATE_TTL
            last_good = self._last_good
        finally:
            self._lock.release()
        if last_good is not None:
            for listener in _refresh_listeners:
                listener(self, last_good)  # outside the lock: a listener may save
        return self._current

    def publish(self, snapshot: Snapshot) -> None:
        """After a committed write: this process at once, other processes via the cache."""
        with self._lock:
            if self._last_good is None or snapshot.version >= self._last_good.version:
                self._last_good = snapshot
                self._current = self._effective(snapshot)
                self._expires = time.monotonic() + conf.STATE_TTL
        cache = self._shared_cache()
        if cache is None:
            return
        try:
            # Two writers racing to the cache: the older must not land last.
            # (Check-then-set narrows the window to one round trip; the cache
            # timeout bounds what remains.)
            try:
                cached = cache.get(CACHE_KEY)
            except Exception:  # noqa: BLE001 - garbage that does not unpickle must not block its overwrite
                cached = None  # (if the cache is down, set() fails and says so)
            if _payload_version(cached) > snapshot.version:
                return
            cache.set(CACHE_KEY, snapshot.to_payload(), conf.CACHE_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - any backend error: the database still has it
            self._failures.failed("cache", error)
        else:
            self._failures.succeeded("cache")

    def propagation_warning(self, version: int) -> str | None:
        """Why other servers may not see ``version`` within the TTL, or ``None``.

        Writers call this after saving: when the shared cache missed the new
        state, the others keep the old one until the cache entry expires.
        """
        cache = self._shared_cache()
        if cache is None:
            return None
        from django.utils.translation import gettext as _

        try:
            cached = _payload_version(cache.get(CACHE_KEY))
        except Exception as error:  # noqa: BLE001
            reason = _("the shared cache is unreachable (%(error)s)") % {"error": f"{type(error).__name__}: {error}"}
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
        self._failures.failed(source, error)

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
                self._failures.failed("cache", error)
                cache_usable = False
            else:
                self._failures.succeeded("cache")
                cached = self._from_cache(cache, payload)
                if cached is not None:
                    return cached
        try:
            snapshot = self._read_database()
        except Exception as error:  # noqa: BLE001 - DatabaseError, or a driver's own
            self._failures.failed("database", error)
            return None
        self._failures.succeeded("database")
        if cache is not None and cache_usable:
            try:
                cache.add(CACHE_KEY, snapshot.to_payload(), conf.CACHE_TIMEOUT)
            except Exception as error:  # noqa: BLE001
                self._failures.failed("cache", error)
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
                self._failures.failed("cache", delete_error)
            return None
        last = self._last_good
        if last is not None and snapshot.version < last.version:
            return None  # a write of ours did not reach the cache: ask the database
        return snapshot

    def _read_database(self) -> Snapshot:
        # Through the registry, not an import: the state layer does not depend
        # on the models module, which depends on it.
        model = apps.get_model("maintenance_mode", "MaintenanceSettings")
        # The primary (write) database: a lagging replica could hand back an
        # older version. A savepoint, so that a failure (e.g. no table yet)
        # cannot poison the caller's transaction on PostgreSQL.
        using = router.db_for_write(model)
        with transaction.atomic(using=using):
            row = model._default_manager.using(using).filter(pk=SINGLETON_PK).values(*ROW_FIELDS).first()
        return Snapshot() if row is None else Snapshot.from_payload(row)


store = Store()


def current() -> Snapshot:
    return store.current()


def is_active() -> bool:
    """Whether maintenance is on right now, from the snapshot (cheap)."""
    return store.current().is_active(time.time())
