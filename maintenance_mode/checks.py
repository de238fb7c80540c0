"""System checks: misconfiguration is reported at startup, with a hint."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import InvalidCacheBackendError, caches
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ValidationError
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from maintenance_mode import validators
from maintenance_mode.conf import PREFIX, conf
from maintenance_mode.rules import admin_predicate, compile_globs

MIDDLEWARE = "maintenance_mode.middleware.MaintenanceModeMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
MESSAGE_MIDDLEWARE = "django.contrib.messages.middleware.MessageMiddleware"
CORS_MIDDLEWARE = "corsheaders.middleware.CorsMiddleware"  # django-cors-headers


def _error(id_: int, msg: str, hint: str) -> Error:
    return Error(msg, hint=hint, id=f"maintenance_mode.E{id_:03d}")


def _warning(id_: int, msg: str, hint: str) -> Warning:
    return Warning(msg, hint=hint, id=f"maintenance_mode.W{id_:03d}")


@register(Tags.compatibility)
def check_middleware(**kwargs: Any) -> list[CheckMessage]:
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE not in middleware:
        return [_error(1, f"{MIDDLEWARE} is not in MIDDLEWARE.", f"Add it to MIDDLEWARE after {AUTH_MIDDLEWARE}.")]
    position = middleware.index(MIDDLEWARE)
    if AUTH_MIDDLEWARE not in middleware[:position]:
        return [
            _error(
                2,
                f"{MIDDLEWARE} must come after {AUTH_MIDDLEWARE}.",
                "It needs request.user to let administrators in and to log other users out.",
            )
        ]
    warnings: list[CheckMessage] = []
    if MESSAGE_MIDDLEWARE in middleware[position:]:
        warnings.append(
            _warning(
                1,
                f"{MIDDLEWARE} comes before {MESSAGE_MIDDLEWARE}.",
                "Move it after MessageMiddleware so that pages served during maintenance keep their messages.",
            )
        )
    if CORS_MIDDLEWARE in middleware[position:]:
        warnings.append(
            _warning(
                6,
                f"{CORS_MIDDLEWARE} comes after {MIDDLEWARE}.",
                "Move CorsMiddleware before it (django-cors-headers asks for it as high as possible): the "
                "maintenance answers never reach CorsMiddleware, so browsers cannot read the 503 JSON and "
                "preflight requests fail.",
            )
        )
    return warnings


def _is_string_list(value: object) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


@register(Tags.compatibility)
def check_settings(**kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    errors += _check_globs("EXEMPT_PATHS", conf.EXEMPT_PATHS, 3)
    errors += _check_globs("JSON_PATHS", conf.JSON_PATHS, 4)
    errors += _check_networks()
    errors += _check_types()
    errors += _check_admin_check()
    errors += _check_cache()
    errors += _check_render_dir()
    errors += _check_session_engine()
    if not settings.USE_TZ:
        errors.append(
            _error(11, "django-maintenance-shield needs USE_TZ = True.", "Start and end times are stored in UTC.")
        )
    return errors


SIGNED_COOKIE_SESSIONS = "django.contrib.sessions.backends.signed_cookies"


def _check_session_engine() -> list[CheckMessage]:
    # The session lives in the cookie: flushing it only asks the browser to
    # drop it, and any copy of the old cookie stays valid until it expires.
    if settings.SESSION_ENGINE != SIGNED_COOKIE_SESSIONS or conf.LOGOUT_USERS is not True:
        return []
    return [
        _warning(
            5,
            f"SESSION_ENGINE is {SIGNED_COOKIE_SESSIONS!r}: logging users out during maintenance cannot "
            "delete their sessions, so an old session cookie still logs its user in afterwards.",
            "Use a server-side session engine (db, cache, cached_db or file) so logouts are final, "
            f"or set {PREFIX}LOGOUT_USERS = False to keep users logged in during maintenance.",
        )
    ]


def _check_globs(name: str, patterns: Sequence[str], id_: int) -> list[CheckMessage]:
    if not _is_string_list(patterns):
        return [_error(id_, f"{PREFIX}{name} must be a list of strings.", 'For example: ["/health", "/api/*"].')]
    problems = [(pattern, validators.glob_error(pattern)) for pattern in patterns]
    errors: list[CheckMessage] = [
        _error(id_, f"{PREFIX}{name} has a bad pattern {pattern!r}: {why}.", 'Use globs like "/health" or "/api/*".')
        for pattern, why in problems
        if why
    ]
    if name == "EXEMPT_PATHS" and not errors:
        everything = compile_globs(patterns)
        if everything is not None and everything.match("/") and everything.match("/any/page/at/all"):
            errors.append(
                _warning(
                    3,
                    f"{PREFIX}EXEMPT_PATHS matches every path, so maintenance would block nothing.",
                    'Narrow the pattern, e.g. "/api/webhooks/*" instead of "/*".',
                )
            )
    return errors


def _check_networks() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in ("ALLOWED_IPS", "TRUSTED_PROXIES"):
        value = getattr(conf, name)
        if not _is_string_list(value):
            errors.append(
                _error(5, f"{PREFIX}{name} must be a list of strings.", 'For example: ["203.0.113.7", "10.0.0.0/8"].')
            )
            continue
        for entry in value:
            try:
                validators.parse_network(entry)
            except ValidationError:
                errors.append(
                    _error(
                        5,
                        f"{PREFIX}{name} has {entry!r}, which is not an IP address or a CIDR network.",
                        'Use addresses or networks such as "203.0.113.7", "10.0.0.0/8" or "2001:db8::/32".',
                    )
                )
    return errors


def _check_types() -> list[CheckMessage]:
    def number(value: object, minimum: float) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum

    expectations: list[tuple[str, Callable[[object], bool], str]] = [
        ("STATE_TTL", lambda v: number(v, 0), "a number of seconds, 0 or more (e.g. 1.0)"),
        (
            "CACHE_TIMEOUT",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
            "a positive whole number of seconds",
        ),
        ("ERROR_LOG_INTERVAL", lambda v: number(v, 0), "a number of seconds, 0 or more"),
        ("FIRST_READ_TIMEOUT", lambda v: number(v, 0), "a number of seconds, 0 or more (e.g. 2.0)"),
        ("PUBLISH_TIMEOUT", lambda v: number(v, 0) and v != 0, "a number of seconds above 0 (e.g. 2.0)"),
        ("BACKGROUND_REFRESH", lambda v: isinstance(v, bool), "True or False"),
        (
            "BYPASS_COOKIE_AGE",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
            "a positive whole number of seconds",
        ),
        (
            "BANNER_LEAD_TIME",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "a whole number of seconds",
        ),
        (
            "PROXY_COUNT",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            "a whole number, 0 when no proxy",
        ),
        (
            "RETRY_AFTER",
            lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0),
            "None or a positive whole number of seconds",
        ),
        ("FORCE", lambda v: v is None or isinstance(v, bool), "None, True or False"),
        ("RENDER_WITH_REQUEST", lambda v: v is None or isinstance(v, bool), "None, True or False"),
        ("FAIL_CLOSED", lambda v: isinstance(v, bool), "True or False"),
        ("EXEMPT_ADMIN", lambda v: isinstance(v, bool), "True or False"),
        ("LOGOUT_USERS", lambda v: isinstance(v, bool), "True or False"),
        ("SHOW_INDICATOR", lambda v: isinstance(v, bool), "True or False"),
        ("SHOW_READ_ONLY_NOTICE", lambda v: isinstance(v, bool), "True or False"),
        ("READ_ONLY_DATABASE", lambda v: isinstance(v, bool), "True or False"),
        (
            "PROXY_HEADER",
            lambda v: isinstance(v, str) and v.startswith("HTTP_"),
            'a request.META key such as "HTTP_X_FORWARDED_FOR"',
        ),
        (
            "BYPASS_COOKIE_NAME",
            lambda v: isinstance(v, str) and v.isidentifier(),
            "a cookie name made of letters, digits and _",
        ),
        (
            "BASE_URL",
            lambda v: isinstance(v, str) and (not v or v.startswith(("http://", "https://"))),
            "an http(s):// address or an empty string",
        ),
        ("ICON_STYLESHEET", lambda v: isinstance(v, str), "a URL string, or an empty string"),
        (
            "RENDER_DIR",
            lambda v: v is None or (isinstance(v, str | os.PathLike) and bool(os.fspath(v))),
            "None or the path of a directory",
        ),
    ]
    errors: list[CheckMessage] = []
    for name, ok, expected in expectations:
        value = getattr(conf, name)
        if not ok(value):
            errors.append(_error(6, f"{PREFIX}{name} is {value!r}.", f"It must be {expected}."))
    if conf.PROXY_COUNT and conf.TRUSTED_PROXIES:
        errors.append(
            _error(
                10,
                f"{PREFIX}PROXY_COUNT and {PREFIX}TRUSTED_PROXIES are both set.",
                "Declare your proxies one way: TRUSTED_PROXIES (safer: it checks REMOTE_ADDR) or PROXY_COUNT.",
            )
        )
    try:
        get_template(conf.TEMPLATE)
    except TemplateDoesNotExist:
        errors.append(_error(7, f"The template {conf.TEMPLATE!r} does not exist.", f"Check {PREFIX}TEMPLATE."))
    return errors


def _check_admin_check() -> list[CheckMessage]:
    spec = conf.ADMIN_CHECK
    hint = '"staff", "superuser", "perm:app_label.codename" or the dotted path of a callable(user) -> bool.'
    if not isinstance(spec, str) or not spec:
        return [_error(8, f"{PREFIX}ADMIN_CHECK is {spec!r}.", f"Use {hint}")]
    try:
        predicate = admin_predicate(spec)
    except ImportError as error:
        return [_error(8, f"{PREFIX}ADMIN_CHECK {spec!r} cannot be imported: {error}.", f"Use {hint}")]
    if not callable(predicate):
        return [_error(8, f"{PREFIX}ADMIN_CHECK {spec!r} is not callable.", f"Use {hint}")]
    return []


def _check_cache() -> list[CheckMessage]:
    alias = conf.CACHE_ALIAS
    if alias is None:
        return []
    try:
        caches[alias]
    except InvalidCacheBackendError:
        return [
            _error(
                9, f"{PREFIX}CACHE_ALIAS {alias!r} is not in CACHES.", "Name a configured cache, or None for no cache."
            )
        ]
    return []


def _check_render_dir() -> list[CheckMessage]:
    directory = conf.RENDER_DIR
    if not isinstance(directory, str | os.PathLike) or not os.fspath(directory):
        return []  # unset, or reported as E006
    if os.path.isdir(directory) and os.access(directory, os.W_OK):
        return []
    return [
        _warning(
            4,
            f"{PREFIX}RENDER_DIR {os.fspath(directory)!r} is not a directory this process can write.",
            "Create it, writable by the user the app runs as: the exported page is re-rendered there "
            "after every change (until then the proxy serves whatever files it holds).",
        )
    ]
