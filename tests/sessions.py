"""A session engine whose store can be made to fail, as a session cache or
database that went down after the visitor logged in does (``SESSION_ENGINE =
"tests.sessions"``)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore


class SessionServerDownError(ConnectionError):
    """What a session cache's client raises when its server does not answer."""


class SessionStore(CacheSessionStore):
    """The cache engine, with the operations named in ``failing`` refused."""

    failing: ClassVar[set[str]] = set()  # of "load", "save", "delete"

    def load(self) -> dict[str, Any]:
        self._refuse("load")
        return super().load()

    def save(self, must_create: bool = False) -> None:
        self._refuse("save")
        super().save(must_create)

    def delete(self, session_key: str | None = None) -> None:
        self._refuse("delete")
        super().delete(session_key)

    def _refuse(self, operation: str) -> None:
        if operation in self.failing:
            raise SessionServerDownError(f"the session server refused the {operation}")
