"""Every ``MAINTENANCE_MODE_*`` setting, read lazily at call time.

Nothing here is read at import time and no default is written onto
``django.conf.settings``, so ``override_settings`` works everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from django.conf import settings as django_settings

PREFIX = "MAINTENANCE_MODE_"


# Values already read: an unset setting costs an AttributeError inside LazySettings
# (2-3 µs), and the maintenance page reads several per request. Emptied on every
# ``setting_changed`` (apps.py), so override_settings still works.
_values: dict[str, Any] = {}


def _get(name: str, default: Any) -> Any:
    try:
        return _values[name]
    except KeyError:
        value = _values[name] = getattr(django_settings, PREFIX + name, default)
        return value


def clear_cache() -> None:
    _values.clear()


class Settings:
    """Typed access to the app's settings; see the README for each one."""

    @property
    def EXEMPT_PATHS(self) -> Sequence[str]:
        """Glob patterns of paths always served, e.g. ``/health`` or ``/api/webhooks/*``."""
        return _get("EXEMPT_PATHS", ())  # type: ignore[no-any-return]

    @property
    def JSON_PATHS(self) -> Sequence[str]:
        """Glob patterns of paths answered with JSON during maintenance, e.g. ``/api/*``."""
        return _get("JSON_PATHS", ())  # type: ignore[no-any-return]

    @property
    def EXEMPT_ADMIN(self) -> bool:
        """Keep the Django admin reachable so administrators can log in."""
        return _get("EXEMPT_ADMIN", True)  # type: ignore[no-any-return]

    @property
    def ALLOWED_IPS(self) -> Sequence[str]:
        """Addresses and CIDR networks (IPv4 and IPv6) that see the live site."""
        return _get("ALLOWED_IPS", ())  # type: ignore[no-any-return]

    @property
    def PROXY_COUNT(self) -> int:
        """How many reverse proxies every request passes through, each appending the
        address it received the request from to ``PROXY_HEADER``. 0: only
        ``REMOTE_ADDR`` counts, so a forged ``X-Forwarded-For`` grants nothing."""
        return _get("PROXY_COUNT", 0)  # type: ignore[no-any-return]

    @property
    def TRUSTED_PROXIES(self) -> Sequence[str]:
        """Addresses or networks of your reverse proxies (instead of ``PROXY_COUNT``)."""
        return _get("TRUSTED_PROXIES", ())  # type: ignore[no-any-return]

    @property
    def PROXY_HEADER(self) -> str:
        """The ``request.META`` key of the header your proxies append to."""
        return _get("PROXY_HEADER", "HTTP_X_FORWARDED_FOR")  # type: ignore[no-any-return]

    @property
    def ADMIN_CHECK(self) -> str:
        """Who sees the live site: ``staff``, ``superuser``, ``perm:app.codename``
        or the dotted path of a ``callable(user) -> bool``."""
        return _get("ADMIN_CHECK", "staff")  # type: ignore[no-any-return]

    @property
    def LOGOUT_USERS(self) -> bool:
        """Flush the session of logged-in users who are not administrators."""
        return _get("LOGOUT_USERS", True)  # type: ignore[no-any-return]

    @property
    def SHOW_INDICATOR(self) -> bool:
        """Show administrators a small "Maintenance mode is on" badge."""
        return _get("SHOW_INDICATOR", True)  # type: ignore[no-any-return]

    @property
    def SHOW_READ_ONLY_NOTICE(self) -> bool:
        """Put a "read-only maintenance" notice at the top of every HTML page while the
        site is read-only (``False``: place ``{% maintenance_banner %}`` yourself)."""
        return _get("SHOW_READ_ONLY_NOTICE", True)  # type: ignore[no-any-return]

    @property
    def READ_ONLY_DATABASE(self) -> bool:
        """While read-only, refuse the database writes a visitor's read tries anyway
        (``INSERT``/``UPDATE``/``DELETE`` in a ``GET`` view) with the read-only 503."""
        return _get("READ_ONLY_DATABASE", False)  # type: ignore[no-any-return]

    @property
    def TEMPLATE(self) -> str:
        return _get("TEMPLATE", "maintenance_mode/maintenance.html")  # type: ignore[no-any-return]

    @property
    def RENDER_WITH_REQUEST(self) -> bool | None:
        """Render the page for each request, with the project's context processors
        (``True``), or once per state without the request (``False``); ``None``: with
        the request when the template extends or includes a template of the project."""
        return _get("RENDER_WITH_REQUEST", None)  # type: ignore[no-any-return]

    @property
    def ICON_STYLESHEET(self) -> str:
        """URL of the icon font stylesheet the page loads (e.g. Font Awesome); empty: none."""
        return _get("ICON_STYLESHEET", "")  # type: ignore[no-any-return]

    @property
    def RETRY_AFTER(self) -> int | None:
        """Seconds for ``Retry-After`` when no end time is set; ``None``: no header."""
        return _get("RETRY_AFTER", None)  # type: ignore[no-any-return]

    @property
    def BYPASS_COOKIE_NAME(self) -> str:
        return _get("BYPASS_COOKIE_NAME", "maintenance_bypass")  # type: ignore[no-any-return]

    @property
    def BYPASS_COOKIE_AGE(self) -> int:
        """Lifetime of the secret bypass cookie, in seconds (12 hours by default)."""
        return _get("BYPASS_COOKIE_AGE", 12 * 60 * 60)  # type: ignore[no-any-return]

    @property
    def BASE_URL(self) -> str:
        """Site address the command prints the bypass link with, e.g. ``https://shop.example``."""
        return _get("BASE_URL", "")  # type: ignore[no-any-return]

    @property
    def STATE_TTL(self) -> float:
        """Seconds a process trusts its in-memory snapshot before it looks again."""
        return _get("STATE_TTL", 1.0)  # type: ignore[no-any-return]

    @property
    def BACKGROUND_REFRESH(self) -> bool:
        """Refresh the snapshot in a background thread of each process, so that no
        request waits on the cache or the database. ``False``: the request that
        finds the snapshot due refreshes it (for servers that cannot run threads)."""
        return _get("BACKGROUND_REFRESH", True)  # type: ignore[no-any-return]

    @property
    def FIRST_READ_TIMEOUT(self) -> float:
        """Seconds a process that never read the state waits for its first reading
        before it applies ``FAIL_CLOSED``."""
        return _get("FIRST_READ_TIMEOUT", 2.0)  # type: ignore[no-any-return]

    @property
    def PUBLISH_TIMEOUT(self) -> float:
        """Seconds a writer (admin, command) waits for the shared cache after its
        change is committed; past them it warns that other servers may lag."""
        return _get("PUBLISH_TIMEOUT", 2.0)  # type: ignore[no-any-return]

    @property
    def CACHE_ALIAS(self) -> str | None:
        """Shared cache that carries the state between servers; ``None``: database only."""
        return _get("CACHE_ALIAS", "default")  # type: ignore[no-any-return]

    @property
    def CACHE_TIMEOUT(self) -> int:
        """Seconds the shared cache keeps the state: the bound on how late a change
        made behind the app's back (``QuerySet.update()``, raw SQL) is seen."""
        return _get("CACHE_TIMEOUT", 60)  # type: ignore[no-any-return]

    @property
    def FAIL_CLOSED(self) -> bool:
        """When the state has never been readable (database down at start, table
        missing): ``False`` serves the site, ``True`` shows the maintenance page."""
        return _get("FAIL_CLOSED", False)  # type: ignore[no-any-return]

    @property
    def FORCE(self) -> bool | None:
        """Emergency override that ignores the database: ``True`` on, ``False`` off."""
        return _get("FORCE", None)  # type: ignore[no-any-return]

    @property
    def ERROR_LOG_INTERVAL(self) -> float:
        """Seconds between two log lines about the same ongoing state-store failure."""
        return _get("ERROR_LOG_INTERVAL", 60.0)  # type: ignore[no-any-return]

    @property
    def RENDER_DIR(self) -> str | os.PathLike[str] | None:
        """Directory the exported page is re-rendered into after every change; ``None``: never."""
        return _get("RENDER_DIR", None)  # type: ignore[no-any-return]

    @property
    def BANNER_LEAD_TIME(self) -> int:
        """Seconds before a scheduled start that the advance-notice banner appears."""
        return _get("BANNER_LEAD_TIME", 3 * 24 * 60 * 60)  # type: ignore[no-any-return]


conf = Settings()
