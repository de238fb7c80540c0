"""``MAINTENANCE_MODE_READ_ONLY_DATABASE``: the writes a visitor's read tries anyway.

While the site is read-only, a visitor's ``GET`` reaches the live site; a view
that writes on a read (a view counter, a "last seen", a cart created on first
visit) would still change the database. With the setting on, every statement
that changes data (``INSERT``, ``UPDATE``, ``DELETE``...) issued while serving
such a request is refused before it reaches the database, and the visitor gets
the read-only 503 instead of a 500.

What still passes, because refusing it would break reading, not writing:

- the session table (database-backed session engines): sign-in and CSRF state,
  so nobody is logged out by the guard;
- the ``last_login`` column of the user table, the one write of a sign-in;
- this app's own tables (announcing a scheduled end from the request path);
- the tables of ``DatabaseCache`` backends (a cache is no data).

The guard is a ``connection.execute_wrapper``, added once to each connection
the guarded requests use and, while the setting is on, to every new
connection (a pool thread's too); it refuses only while a :class:`Refusals` is active
in the current context, which ``asgiref`` carries into ``sync_to_async``
threads, so it works for sync and async views alike.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from importlib import import_module
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache.backends.db import DatabaseCache
from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.module_loading import import_string

from maintenance_mode.conf import conf
from maintenance_mode.snapshot import Snapshot

logger = logging.getLogger("maintenance_mode")

T = TypeVar("T")

Executor = Callable[[Any, Any, bool, dict[str, Any]], Any]


class WriteRefusedError(Exception):
    """A statement that would change data, refused during read-only maintenance."""


class Refusals:
    """What the guard refused while serving one request, in the state it serves."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.statements: list[str] = []


_active: contextvars.ContextVar[Refusals | None] = contextvars.ContextVar("maintenance_mode_guard", default=None)

# The statement's verb and the table it changes, as Django's backends write them
# ("UPDATE \"shop_order\" SET", "INSERT INTO `shop_order`", "DELETE FROM [t]").
_WRITE = re.compile(
    r"""^\s*(?:
        (?:INSERT|REPLACE)\s+(?:OR\s+\w+\s+)?(?:IGNORE\s+)?INTO
        | UPDATE | DELETE\s+FROM | MERGE\s+INTO | TRUNCATE(?:\s+TABLE)?
    )\s+[`"\[]?(?P<table>[^\s`"\]]+)""",
    re.IGNORECASE | re.VERBOSE,
)
# Anything else that writes and is not worth naming a table for.
_OTHER_WRITE = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE|REPLACE|MERGE|TRUNCATE|UPSERT)\b", re.IGNORECASE)
# What may come before the verb: whitespace and comments (APMs such as
# Datadog's database monitoring prepend a tag comment to every statement; a
# hand-written "-- why"). Always matches.
_PREAMBLE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
# A common table expression that changes data ("WITH moved AS (DELETE FROM ...)
# INSERT INTO ..."), and not one that only reads, even "... FOR UPDATE".
_CTE = re.compile(r"^WITH\b", re.IGNORECASE)
_CTE_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|MERGE\s+INTO|TRUNCATE)\b", re.IGNORECASE)


@contextlib.contextmanager
def refusing_writes(snapshot: Snapshot) -> Iterator[Refusals]:
    """Refuse writes in this context (and the ``sync_to_async`` threads it starts)."""
    refusals = Refusals(snapshot)
    token = _active.set(refusals)
    try:
        yield refusals
    finally:
        _active.reset(token)


def refusing_while_streaming(chunks: Iterable[T], refusals: Refusals) -> Iterator[T]:
    """``chunks``, each produced inside the refusing context: a streaming view's
    generator runs after the view returned, when the server sends the body.

    The status is sent by then, so a refused write cannot become the 503: the
    exception ends the stream, and the client sees an unfinished response
    rather than one whose writes silently happened.
    """
    iterator = iter(chunks)
    while True:
        token = _active.set(refusals)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _active.reset(token)
        yield chunk


async def arefusing_while_streaming(chunks: AsyncIterable[T], refusals: Refusals) -> AsyncIterator[T]:
    """:func:`refusing_while_streaming` for an async stream."""
    iterator = aiter(chunks)
    while True:
        token = _active.set(refusals)
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        finally:
            _active.reset(token)
        yield chunk


def active() -> Refusals | None:
    """The refusals of the request being served, if it is guarded."""
    return _active.get()


def install() -> None:
    """Add the guard to this thread's connections (once each); call it in the
    thread that runs the view's queries."""
    for connection in connections.all():
        if _guard not in connection.execute_wrappers:
            connection.execute_wrappers.append(_guard)


def install_on_new_connection(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """``connection_created`` receiver: the guard on every connection of every thread.

    :func:`install` reaches only the connections of the thread that decided the
    request; a view's ``sync_to_async(..., thread_sensitive=False)`` runs its
    queries in a pool thread with connections of its own, and carries the
    request's context there. The guard is a no-op outside a guarded request.
    """
    if conf.READ_ONLY_DATABASE and _guard not in connection.execute_wrappers:
        connection.execute_wrappers.append(_guard)


def _guard(execute: Executor, sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
    refusals = _active.get()
    if refusals is not None and _changes_data(str(sql)):
        refusals.statements.append(str(sql))
        _log_once(str(sql))
        raise WriteRefusedError("maintenance_mode: a write during read-only maintenance was refused")
    return execute(sql, params, many, context)


def _changes_data(sql: str) -> bool:
    sql = _statement(sql)
    if _CTE.match(sql):
        return _CTE_WRITE.search(sql) is not None
    match = _WRITE.match(sql)
    if match is None:
        return _OTHER_WRITE.match(sql) is not None
    table = match.group("table").split(".")[-1]
    if table in _passing_tables():
        return False
    user_table, last_login = _last_login_column()
    return not (table == user_table and _sets_only(sql, last_login))


def _statement(sql: str) -> str:
    """``sql`` from its first keyword on."""
    return _PREAMBLE.sub("", sql, count=1)


def _sets_only(sql: str, column: str) -> bool:
    assignments = re.search(r"\bSET\s+(?P<set>.*?)\s+WHERE\b", sql, re.IGNORECASE | re.DOTALL)
    if assignments is None:
        return False
    parts = assignments.group("set").split(",")
    return len(parts) == 1 and parts[0].split("=")[0].strip(' `"[]').lower() == column


@functools.cache
def _passing_tables() -> frozenset[str]:
    from maintenance_mode.models import MaintenanceEvent, MaintenanceSettings

    tables = {MaintenanceSettings._meta.db_table, MaintenanceEvent._meta.db_table}
    store = getattr(import_module(settings.SESSION_ENGINE), "SessionStore", None)
    get_model_class = getattr(store, "get_model_class", None)  # the database-backed engines
    if get_model_class is not None:
        tables.add(get_model_class()._meta.db_table)
    tables.update(_database_cache_tables())
    return frozenset(tables)


def _database_cache_tables() -> set[str]:
    """The tables of ``DatabaseCache`` backends: a cache is no data, and
    ``cache_page``, ``{% cache %}`` or a ``cached_db`` session over it write
    there on a read (a refusal would give every visitor of a cached page the 503)."""
    tables = set()
    for config in settings.CACHES.values():
        try:
            backend = import_string(config.get("BACKEND", ""))
        except ImportError:  # Django reports it when the cache is used
            continue
        if isinstance(backend, type) and issubclass(backend, DatabaseCache) and config.get("LOCATION"):
            tables.add(str(config["LOCATION"]))
    return tables


@functools.cache
def _last_login_column() -> tuple[str, str]:
    from django.contrib.auth import get_user_model

    model = get_user_model()
    try:
        field = model._meta.get_field("last_login")
    except FieldDoesNotExist:  # a custom user model without it
        return model._meta.db_table, ""
    return model._meta.db_table, getattr(field, "column", "") or ""


_logged: set[str] = set()


def _log_once(sql: str) -> None:
    """One warning per kind of statement and process: the view that writes on a
    read should be found, not flood the log once per visitor."""
    sql = _statement(sql)
    match = _WRITE.match(sql)
    kind = " ".join(sql.split()[:1] + ([match.group("table")] if match else []))
    if kind in _logged or len(_logged) >= 256:
        return
    _logged.add(kind)
    logger.warning(
        "maintenance_mode: refused %s while serving a visitor during read-only maintenance "
        "(MAINTENANCE_MODE_READ_ONLY_DATABASE); the visitor got the read-only page (or a cut stream).",
        kind,
    )


def clear_caches() -> None:
    _passing_tables.cache_clear()
    _last_login_column.cache_clear()
    _logged.clear()
