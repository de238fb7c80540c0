"""Where the maintenance state comes from, and how it stays fast and consistent.

The database row is the truth. Each process keeps an immutable :class:`Snapshot`
and trusts it for ``MAINTENANCE_MODE_STATE_TTL`` seconds, so a request reads
only process memory: no query, no cache call. When the snapshot lapses, one
thread refreshes it from the shared cache, then from the database on a miss.
Writers publish the new snapshot with ``cache.set``; readers refill a missing
key with ``cache.add``, so a slow reader never puts an older version back.
When the cache or the database fails, the last good snapshot keeps serving.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone  # not datetime.UTC: Python 3.10 is supported
from typing import TYPE_CHECKING, Any

from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ValidationError

from maintenance_mode import validators
from maintenance_mode.conf import conf

if TYPE_CHECKING:
    from maintenance_mode.models import MaintenanceSettings

logger = logging.getLogger("maintenance_mode")

# Bump the suffix when the payload's shape changes, so that two releases
# running side by side during a rolling deploy never read each other's data.
CACHE_KEY = "maintenance_mode:state:v1"

# A scheduled start or end is announced once it has been past this long, so
# that servers whose clocks differ by less never announce it both ways.
ANNOUNCE_AFTER = 2.0

# Backends that live inside one process (or one machine): they cannot tell
# other servers about a change, so the database is asked instead.
PROCESS_LOCAL_CACHES = (LocMemCache, DummyCache, FileBasedCache)


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """One immutable reading of the settings row. Times are UNIX timestamps.

    ``eq=False``: a snapshot is its own identity, cheap to hash as a cache key.
    """

    enabled: bool = False
    message: str = ""
    image_url: str = ""
    icon: str = ""
    button_text: str = ""
    bypass_url: str = ""
    allowed_ips: tuple[validators.Network, ...] = ()
    secret: str = ""
    starts_at: float | None = None
    ends_at: float | None = None
    version: int = 0
    # The active state last announced by signals (see MaintenanceSettings).
    signalled_active: bool = False
    # False when the state could not be read at all and this is the fallback.
    known: bool = True

    def is_active(self, now: float) -> bool:
        if not self.enabled:
            return False
        if self.starts_at is not None and now < self.starts_at:
            return False
        return self.ends_at is None or now < self.ends_at

    def is_upcoming(self, now: float) -> bool:
        return self.enabled and self.starts_at is not None and now < self.starts_at and not self.has_ended(now)

    def phase(self, now: float) -> str:
        """``"on"``, ``"scheduled"`` or ``"off"``, honouring ``MAINTENANCE_MODE_FORCE``."""
        if conf.FORCE is not None:
            return "on" if conf.FORCE else "off"
        if self.is_active(now):
            return "on"
        return "scheduled" if self.is_upcoming(now) else "off"

    def has_ended(self, now: float) -> bool:
        return self.ends_at is not None and now >= self.ends_at

    def retry_after(self, now: float) -> int | None:
        """Whole seconds until the announced end, else the configured default."""
        if self.ends_at is not None and self.ends_at > now:
            return math.ceil(self.ends_at - now)
        return conf.RETRY_AFTER

    @property
    def start(self) -> datetime | None:
        return _datetime(self.starts_at)

    @property
    def end(self) -> datetime | None:
        return _datetime(self.ends_at)

    @classmethod
    def from_instance(cls, row: MaintenanceSettings) -> Snapshot:
        return cls.from_payload({name: getattr(row, name) for name in ROW_FIELDS})

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Snapshot:
        """Build from a database row or a cache payload; ``ValueError`` on garbage."""
        if not isinstance(payload, Mapping):
            raise ValueError(f"expected a mapping, got {type(payload).__name__}")
        strings = {
            name: payload[name]
            for name in ("message", "image_url", "icon", "button_text", "bypass_url", "allowed_ips", "bypass_secret")
        }
        if not all(isinstance(value, str) for value in strings.values()):
            raise ValueError("text fields must be strings")
        if not isinstance(payload["enabled"], bool) or not isinstance(payload["signalled_active"], bool):
            raise ValueError("enabled and signalled_active must be booleans")
        version = payload["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ValueError("version must be a non-negative integer")
        try:
            networks = validators.parse_networks(validators.split_ip_lines(strings["allowed_ips"]))
        except ValidationError as error:
            raise ValueError(f"allowed_ips: {error.messages}") from None
        return cls(
            enabled=payload["enabled"],
            message=strings["message"],
            image_url=strings["image_url"],
            icon=strings["icon"],
            button_text=strings["button_text"],
            bypass_url=strings["bypass_url"],
            allowed_ips=networks,
            secret=strings["bypass_secret"],
            starts_at=_timestamp(payload["starts_at"]),
            ends_at=_timestamp(payload["ends_at"]),
            version=version,
            signalled_active=payload["signalled_active"],
        )

    def to_payload(self) -> dict[str, Any]:
        """Plain data for the shared cache (no pickled classes between releases)."""
        return {
            "enabled": self.enabled,
            "message": self.message,
            "image_url": self.image_url,
            "icon": self.icon,
            "button_text": self.button_text,
            "bypass_url": self.bypass_url,
            "allowed_ips": "\n".join(str(network) for network in self.allowed_ips),
            "bypass_secret": self.secret,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "version": self.version,
            "signalled_active": self.signalled_active,
        }


ROW_FIELDS = (
    "enabled",
    "message",
    "image_url",
    "icon",
    "button_text",
    "bypass_url",
    "allowed_ips",
    "bypass_secret",
    "starts_at",
    "ends_at",
    "version",
    "signalled_active",
)


def _timestamp(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in the state; is USE_TZ off?")
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            datetime.fromtimestamp(value, tz=timezone.utc)  # in range for display, too
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"timestamp out of range: {value!r}") from None
        return float(value)
    raise ValueError(f"bad timestamp {value!r}")


def _datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


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
            self._announce_if_due(last_good)  # outside the lock: receivers may save
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

    def _announce_if_due(self, snapshot: Snapshot) -> None:
        """Send the signal for a scheduled start or end that nobody announced yet."""
        now = time.time()
        active = snapshot.is_active(now)
        if active == snapshot.signalled_active or conf.FORCE is not None:
            return
        if snapshot.is_active(now - ANNOUNCE_AFTER) != active:
            return  # the boundary passed moments ago by this clock: let the other servers' clocks agree first
        if not active and snapshot.enabled and not snapshot.has_ended(now):
            return  # "not started yet" by this clock is never an end
        from django.db import connections, router

        from maintenance_mode import signals
        from maintenance_mode.models import MaintenanceSettings

        if connections[router.db_for_write(MaintenanceSettings)].in_atomic_block:
            return  # a rollback would undo the claim, not the signal: a later refresh announces it
        try:
            announced = MaintenanceSettings.claim_announcement(snapshot, active)
        except Exception as error:  # noqa: BLE001 - the next refresh tries again
            self._failures.failed("database", error)
            return
        if announced is None:
            return  # another process won; its version reaches us like any write
        self.publish(announced)
        signals.send(active, announced, source="schedule")

    def _effective(self, snapshot: Snapshot | None) -> Snapshot:
        if snapshot is None:
            snapshot = Snapshot(enabled=conf.FAIL_CLOSED, known=False)
        force = conf.FORCE
        if force is None:
            return snapshot
        return dataclasses.replace(snapshot, enabled=force, starts_at=None, ends_at=None)

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
        from django.db import router, transaction

        from maintenance_mode.models import MaintenanceSettings

        # The primary (write) database: a lagging replica could hand back an
        # older version. A savepoint, so that a failure (e.g. no table yet)
        # cannot poison the caller's transaction on PostgreSQL.
        using = router.db_for_write(MaintenanceSettings)
        with transaction.atomic(using=using):
            row = (
                MaintenanceSettings.objects.using(using)
                .filter(pk=MaintenanceSettings.SINGLETON_PK)
                .values(*ROW_FIELDS)
                .first()
            )
        return Snapshot() if row is None else Snapshot.from_payload(row)


store = Store()


def current() -> Snapshot:
    return store.current()


def is_active() -> bool:
    """Whether maintenance is on right now, from the snapshot (cheap)."""
    return store.current().is_active(time.time())
