"""The request rules compiled from settings once, and again when settings change."""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import get_script_prefix
from django.utils.module_loading import import_string

from maintenance_mode import validators
from maintenance_mode.conf import conf

UserPredicate = Callable[[Any], bool]


@dataclasses.dataclass(frozen=True, slots=True)
class Rules:
    exempt_paths: re.Pattern[str] | None
    json_paths: re.Pattern[str] | None
    # Matched against request.path (with the script prefix), like STATIC_URL.
    open_prefixes: tuple[str, ...]
    networks: tuple[validators.Network, ...]
    trusted_proxies: tuple[validators.Network, ...]
    is_admin: UserPredicate


def compile_globs(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for all globs; ``*`` also crosses ``/``, a missing leading ``/`` is added."""
    parts = [fnmatch.translate(pattern if pattern.startswith("/") else "/" + pattern) for pattern in patterns]
    return re.compile("|".join(parts)) if parts else None


def admin_predicate(spec: str) -> UserPredicate:
    if spec == "staff":
        return lambda user: bool(user.is_active and user.is_staff)
    if spec == "superuser":
        return lambda user: bool(user.is_active and user.is_superuser)
    if spec.startswith("perm:"):
        permission = spec.removeprefix("perm:")
        return lambda user: bool(user.is_active and user.has_perm(permission))
    predicate: UserPredicate = import_string(spec)
    return predicate


def _local_prefix(url: str) -> str | None:
    """The path part of STATIC_URL/MEDIA_URL when Django itself may serve it."""
    parts = urlsplit(url)
    if parts.netloc:  # a CDN or another host: not our requests
        return None
    path = parts.path if parts.path.startswith("/") else get_script_prefix() + parts.path
    return path if path != "/" else None


@functools.cache
def rules() -> Rules:
    prefixes = (_local_prefix(settings.STATIC_URL or ""), _local_prefix(settings.MEDIA_URL or ""))
    return Rules(
        exempt_paths=compile_globs(conf.EXEMPT_PATHS),
        json_paths=compile_globs(conf.JSON_PATHS),
        open_prefixes=tuple(prefix for prefix in prefixes if prefix),
        networks=validators.parse_networks(conf.ALLOWED_IPS),
        trusted_proxies=validators.parse_networks(conf.TRUSTED_PROXIES),
        is_admin=admin_predicate(conf.ADMIN_CHECK),
    )
