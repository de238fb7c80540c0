"""The request rules compiled from settings once, and again when settings change."""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.utils.module_loading import import_string

from maintenance_mode import validators
from maintenance_mode.conf import conf

UserPredicate = Callable[[Any], bool]


@dataclasses.dataclass(frozen=True, slots=True)
class Rules:
    exempt_paths: re.Pattern[str] | None
    json_paths: re.Pattern[str] | None
    # Matched against request.path_info: the script prefix is the client's to choose.
    open_prefixes: tuple[str, ...]
    networks: tuple[validators.Network, ...]
    trusted_proxies: tuple[validators.Network, ...]
    is_admin: UserPredicate
    # "/fr" of "/fr/health" when the root URLconf uses i18n_patterns(): see path_matches().
    language_prefix: re.Pattern[str] | None = None

    def path_matches(self, globs: re.Pattern[str] | None, path_info: str) -> bool:
        """The globs match the path, or the path without its language prefix: under
        i18n_patterns() "/health" also matches "/fr/health" (any of LANGUAGES)."""
        if globs is None:
            return False
        if globs.match(path_info):
            return True
        prefix = self.language_prefix.match(path_info) if self.language_prefix is not None else None
        return prefix is not None and globs.match(path_info[prefix.end() :]) is not None


def compile_globs(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for all globs; ``*`` also crosses ``/``, a missing leading ``/`` is added."""
    parts = [fnmatch.translate(pattern if pattern.startswith("/") else "/" + pattern) for pattern in patterns]
    return re.compile("|".join(parts)) if parts else None


# Who may use the Wagtail admin: Wagtail's own test for its editors, who are usually not staff.
WAGTAIL_ADMIN_PERMISSION = "wagtailadmin.access_admin"


def admin_predicate(spec: str) -> UserPredicate:
    if spec == "staff":
        if apps.is_installed("wagtail.admin"):
            # is_staff first: it costs nothing, has_perm loads the user's permissions once.
            return lambda user: bool(user.is_active and (user.is_staff or user.has_perm(WAGTAIL_ADMIN_PERMISSION)))
        return lambda user: bool(user.is_active and user.is_staff)
    if spec == "superuser":
        return lambda user: bool(user.is_active and user.is_superuser)
    if spec.startswith("perm:"):
        permission = spec.removeprefix("perm:")
        return lambda user: bool(user.is_active and user.has_perm(permission))
    predicate: UserPredicate = import_string(spec)
    return predicate


def _raw_url_setting(name: str) -> str:
    """STATIC_URL/MEDIA_URL as written in the settings.

    ``settings.STATIC_URL`` puts the script prefix of whichever request reads it
    first in front of a relative value, and keeps it for the process: the rules
    are compiled once per process, so they must not depend on one request.
    """
    value = getattr(settings._wrapped, name, None)  # type: ignore[misc]  # the raw value, unprefixed
    return value if isinstance(value, str) else ""


def _route_prefix(url: str) -> str | None:
    """Where STATIC_URL/MEDIA_URL files are in ``path_info`` terms (what Django
    routes on), when Django itself may serve them; ``None``: exempt nothing."""
    if not url:  # unset or empty: no files, and never "the whole site"
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:  # a CDN or another host: not our requests
        return None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    if not path.startswith("/"):
        path = "/" + path  # relative: below the script prefix, which path_info does not carry
    else:
        mount = (settings.FORCE_SCRIPT_NAME or "").rstrip("/")
        if mount and path.startswith(mount + "/"):
            path = path.removeprefix(mount)
    return path if path != "/" else None


def _language_prefix() -> re.Pattern[str] | None:
    if not settings.USE_I18N or not is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0]:
        return None
    # In any order: the lookahead keeps "/pt-br/" whole ("pt" is tried, is not followed
    # by "/", and "pt-br" is). Sorted only so that every process compiles the same pattern.
    codes = sorted({code.lower() for code, _name in settings.LANGUAGES})
    return re.compile("/(?:{})(?=/)".format("|".join(re.escape(code) for code in codes)))


@functools.cache
def rules() -> Rules:
    prefixes = (_route_prefix(_raw_url_setting("STATIC_URL")), _route_prefix(_raw_url_setting("MEDIA_URL")))
    return Rules(
        exempt_paths=compile_globs(conf.EXEMPT_PATHS),
        json_paths=compile_globs(conf.JSON_PATHS),
        open_prefixes=tuple(prefix for prefix in prefixes if prefix),
        networks=validators.parse_networks(conf.ALLOWED_IPS),
        trusted_proxies=validators.parse_networks(conf.TRUSTED_PROXIES),
        is_admin=admin_predicate(conf.ADMIN_CHECK),
        language_prefix=_language_prefix(),
    )
