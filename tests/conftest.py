from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.core.cache import BaseCache, caches
from django.db import connections
from django.test import Client
from django.utils import timezone, translation
from pytest_django.fixtures import Settings

from maintenance_mode import apps, signals, state
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.state import CACHE_KEY
from tests.redis_helpers import REDIS_URL, require_redis


@pytest.fixture(scope="session", autouse=True)
def _threads_really_close_their_sqlite_connections() -> Iterator[None]:
    """Django ignores ``close()`` on an in-memory SQLite database, lest the last
    connection take the database with it, so every connection another thread
    opened (the refresher's, a worker's, a pool thread's) was dropped unclosed
    with its thread: a ResourceWarning each. The test database lives on in the
    main thread's connection, so a thread's close of its own connection is made
    real, as on PostgreSQL or an SQLite file."""
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.sqlite3.base import DatabaseWrapper

    keeping_in_memory_databases_open = DatabaseWrapper.close

    def close(self: DatabaseWrapper) -> None:
        # A shared connection (the live server's threads use the main thread's) is not this thread's to close.
        if threading.current_thread() is not threading.main_thread() and not self.allow_thread_sharing:
            BaseDatabaseWrapper.close(self)
        else:
            keeping_in_memory_databases_open(self)

    with mock.patch.object(DatabaseWrapper, "close", close):
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    """pytest-django's, plus: async tests query from asgiref's shared worker
    thread, whose connections the test client never closes; close them before
    the test database is dropped (PostgreSQL refuses to drop it while they
    are open)."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Each test starts from "never read" and leaves nothing behind in memory.

    Also forgets what is derived from settings (compiled rules, resolved views,
    rendered pages), as a settings change does: each test then runs that code
    itself, which mutation testing needs to know which tests reach it.
    """
    apps._settings_changed()
    yield
    state.store.reset()


@pytest.fixture(autouse=True)
def _default_language_and_time_zone() -> Iterator[None]:
    """Each test starts in the settings' language and time zone. A request
    through LocaleMiddleware (or a view activating a zone) leaves its choice
    active in the thread, which would leak into whichever test runs next."""
    translation.deactivate()
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """``state.store`` replaced by a store that measures its TTL with this clock."""
    fake = FakeClock()
    monkeypatch.setattr(state, "store", state.Store(clock=fake))
    return fake


@pytest.fixture
def maintenance(db: None) -> MaintenanceSettings:
    """Maintenance switched on, as an administrator would."""
    row = MaintenanceSettings.load()
    row.enabled = True
    row.save()
    return row


@pytest.fixture
def staff_user(db: None) -> User:
    return User.objects.create_user("admin", "admin@example.com", "pw", is_staff=True, is_superuser=True)


@pytest.fixture
def customer(db: None) -> User:
    return User.objects.create_user("customer", "customer@example.com", "pw")


@pytest.fixture
def staff_client(staff_user: User) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def customer_client(customer: User) -> Client:
    client = Client()
    client.force_login(customer)
    return client


@pytest.fixture
def dead_cache(settings: Settings) -> BaseCache:
    """A Redis cache at a port where nothing listens: every call fails, quickly."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "dead": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    settings.MAINTENANCE_MODE_CACHE_ALIAS = "dead"
    return caches["dead"]


@pytest.fixture
def received() -> Iterator[list[tuple[str, str]]]:
    """``(signal, source)`` for every maintenance_enabled/disabled sent during the test."""
    events: list[tuple[str, str]] = []

    def on_enabled(source: str, **kwargs: Any) -> None:
        events.append(("enabled", source))

    def on_disabled(source: str, **kwargs: Any) -> None:
        events.append(("disabled", source))

    signals.maintenance_enabled.connect(on_enabled)
    signals.maintenance_disabled.connect(on_disabled)
    yield events
    signals.maintenance_enabled.disconnect(on_enabled)
    signals.maintenance_disabled.disconnect(on_disabled)


@pytest.fixture
def shared_cache(settings: Settings) -> Iterator[BaseCache]:
    """A real Redis as the state's shared cache, under a key prefix of its own
    (a process-local cache is never trusted across processes, so never called)."""
    require_redis()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"mm-test-{uuid.uuid4().hex}",
        },
    }
    settings.MAINTENANCE_MODE_CACHE_ALIAS = "shared"
    cache = caches["shared"]
    yield cache
    cache.delete(CACHE_KEY)


@pytest.fixture
def hops() -> Iterator[list[str]]:
    """The names of what the middleware hands to a worker thread."""
    names: list[str] = []

    def recording(func: Any, *args: Any, **kwargs: Any) -> Any:
        names.append(func.__name__)
        return sync_to_async(func, *args, **kwargs)

    with mock.patch("maintenance_mode.middleware.sync_to_async", recording):
        yield names
