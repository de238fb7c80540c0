"""The request decision and the responses.

Why was a request blocked? Read :func:`decide`: it is the only place that
answers, for the sync and the async path alike.
"""

from __future__ import annotations

import enum
import functools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, TypeGuard

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import logout
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.functional import SimpleLazyObject, empty
from django.utils.http import http_date, url_has_allowed_host_and_scheme

from maintenance_mode import bypass, guard, page, state
from maintenance_mode.client_ip import client_ip
from maintenance_mode.conf import conf
from maintenance_mode.rules import Rules, rules
from maintenance_mode.snapshot import Snapshot

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class Verdict(enum.Enum):
    SERVE = "serve"  # maintenance is off, or the request is exempt
    SERVE_WITH_NOTICE = "notice"  # administrators and bypass holders: live site plus indicator
    SERVE_READ_ONLY = "read"  # read-only mode, a visitor's read: live site plus the read-only notice
    SERVE_PRIVATE = "private"  # allowed IPs: the live site, kept out of shared caches
    SERVE_EXEMPT_VIEW = "view"  # an exempt view: confirmed once Django resolved the request's real urlconf
    GRANT_BYPASS = "grant"  # the secret link: set the bypass cookie and redirect
    BLOCK = "block"  # the maintenance page (or JSON)
    REFUSE_WRITE = "refuse"  # read-only mode, a visitor's change: the read-only page (or JSON)
    LOGOUT_AND_BLOCK = "logout"  # flush the non-administrator's session, then block
    NEEDS_IO = "io"  # only with may_block=False: the answer needs I/O, ask again in a thread


def decide(request: HttpRequest, snapshot: Snapshot, now: float, *, may_block: bool = True) -> Verdict:
    """The verdict for one request. Reads only the request, the snapshot and the
    compiled rules, except ``request.user``, which may load the session.

    The async path asks first with ``may_block=False``, in the event loop: then
    the answer is ``NEEDS_IO`` instead of reading a user that may need the
    session store or the database, and it asks again in a worker thread.
    """
    if not snapshot.is_active(now):
        return Verdict.SERVE
    compiled = rules()
    if bypass.is_secret_path(request.path_info, snapshot.secret):
        return Verdict.GRANT_BYPASS
    # "/static/../orders/" must not borrow the exemption of "/static/".
    path_exemptions = _DOT_SEGMENT.search(request.path) is None
    if path_exemptions and _is_open_path(request, compiled):
        return Verdict.SERVE
    if _client_ip_allowed(request, snapshot, compiled):
        return Verdict.SERVE_PRIVATE
    if snapshot.secret and bypass.cookie_is_valid(request.COOKIES.get(conf.BYPASS_COOKIE_NAME), snapshot.secret):
        return Verdict.SERVE_WITH_NOTICE
    if not may_block and _user_needs_io(request):
        return Verdict.NEEDS_IO
    user = _user(request)
    logged_in = user is not None
    if logged_in and _is_admin(compiled, user):
        return Verdict.SERVE_WITH_NOTICE
    # @maintenance_exempt views for everyone; the admin for visitors not logged in, so that
    # administrators can sign in: a logged-in non-administrator there is on any other page,
    # but for its login and logout when nobody logs them out (see _logged_in_admin_scope).
    if path_exemptions and _view_is_exempt(request, snapshot, logged_in=logged_in):
        return Verdict.SERVE_EXEMPT_VIEW
    if snapshot.read_only:  # reads reach the site and nobody is logged out; only changes wait
        return Verdict.SERVE_READ_ONLY if request.method in READ_METHODS else Verdict.REFUSE_WRITE
    if logged_in and conf.LOGOUT_USERS:
        return Verdict.LOGOUT_AND_BLOCK
    return Verdict.BLOCK


# What read-only mode lets through: the methods that change nothing (RFC 9110's
# safe methods, without TRACE, which no site needs).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")


def _user(request: HttpRequest) -> Any:
    """The logged-in ``request.user``, or ``None`` for an anonymous visitor.

    AuthenticationMiddleware's lazy user is read from the session; with no
    session cookie there is no session, so a visitor without one is known to
    be anonymous without building the session or the user (most of a blocked
    request's cost during a flood). A session or user store that fails (the
    database under maintenance, a dead session cache) makes the visitor
    anonymous: blocked while maintenance is on, never a 500.
    """
    user = getattr(request, "user", None)
    untouched = isinstance(user, SimpleLazyObject) and user._wrapped is empty
    if untouched and settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    try:
        logged_in = user is not None and user.is_authenticated
    except Exception as error:  # noqa: BLE001 - DatabaseError, a cache client's, a custom backend's
        session_failures.failed("session store", error, "treating the visitor as anonymous")
        # For the rest of the request too: the view (and process_view's second look)
        # must not find a logged-in non-administrator in a store back already, on a
        # page, the admin, decided for a visitor not logged in.
        _make_anonymous(request)
        return None
    if untouched:  # the session was read just now (not the anonymous visitor settled on above)
        session_failures.succeeded("session store")
    return user if logged_in else None


def _is_admin(compiled: Rules, user: Any) -> bool:
    try:
        return compiled.is_admin(user)
    except Exception as error:  # noqa: BLE001 - a permission check that queries a failing database
        session_failures.failed("user store", error, "treating the user as no administrator")
        return False


def _logout(request: HttpRequest) -> None:
    try:
        logout(request)  # deletes the session from the store, not only the cookie
    except Exception as error:  # noqa: BLE001 - the session store failed the delete
        session_failures.failed(
            "session store",
            error,
            "showing the page and telling the browser to drop its session cookie"
            " (the session stays in the store until it expires)",
        )
        session = getattr(request, "session", None)
        if session is not None:
            # Empty it and forget its key, as flush() would have around the delete
            # (no store I/O): SessionMiddleware then sends the browser a cookie
            # deletion instead of writing the session on the way out. It skips a
            # 5xx, but not the redirect a project's middleware may make of the
            # page, nor SESSION_SAVE_EVERY_REQUEST; a write to the store that just
            # failed would turn the answer into a 500.
            session.clear()
            session._session_key = None
        _make_anonymous(request)  # signed out, as logout() would have left it: a theme's page greets no one


def _make_anonymous(request: HttpRequest) -> None:
    """``request.user`` (and ``request.auser()``) from now on: an anonymous visitor."""
    from django.contrib.auth.models import AnonymousUser  # needs the app registry: not at import

    anonymous = AnonymousUser()

    async def auser() -> AnonymousUser:
        return anonymous

    request.user = anonymous
    request.auser = auser


# Logs a failing session or user store once per ERROR_LOG_INTERVAL, not per request.
session_failures = state.FailureLog(time.monotonic)


def _user_needs_io(request: HttpRequest) -> bool:
    """Whether finding out what the visitor may do can need I/O: a lazy user not
    read yet, with a session cookie to load it from, or a logged-in user (a custom
    administrator check may query, and a logout writes the session store)."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return settings.SESSION_COOKIE_NAME in request.COOKIES
    return user is not None and bool(user.is_authenticated)


def _is_open_path(request: HttpRequest, compiled: Rules) -> bool:
    # path_info, not path: Django routes on it, and a SCRIPT_NAME header (which
    # gunicorn accepts from its forwarded_allow_ips) can make path say anything.
    if any(request.path_info.startswith(prefix) for prefix in compiled.open_prefixes):
        return True
    return compiled.path_matches(compiled.exempt_paths, request.path_info)


def _client_ip_allowed(request: HttpRequest, snapshot: Snapshot, compiled: Rules) -> bool:
    networks = compiled.networks + snapshot.allowed_ips
    if not networks:
        return False
    address = client_ip(request.META, compiled.trusted_proxies)
    return address is not None and any(address in network for network in networks)


# How much of the admin (EXEMPT_ADMIN) a request's visitor may reach: all of it, its login and
# logout views only, or none. Strings, not an enum: part of _resolves_to_exempt_view's cache key,
# hashed on every blocked request, and an enum member's hash is a Python call.
AdminScope = Literal["all", "login-logout", "none"]


def _logged_in_admin_scope(snapshot: Snapshot) -> AdminScope:
    """What of the admin a logged-in non-administrator reaches.

    Where nobody logs them out (read-only mode, LOGOUT_USERS=False), that browser would
    otherwise stay out of the admin's login for the whole window. The login replaces
    their session with the administrator's; the logout is the way to the login for
    staff, whom the admin's login page sends on to its index. Both only take access
    away or ask for an administrator's password. LOGOUT_USERS=True logs them out here,
    and the next request is a visitor's.
    """
    if snapshot.read_only or not conf.LOGOUT_USERS:
        return "login-logout"
    return "none"


def _view_is_exempt(request: HttpRequest, snapshot: Snapshot, *, logged_in: bool) -> bool:
    admin_scope: AdminScope
    if not conf.EXEMPT_ADMIN:
        admin_scope = "none"
    elif logged_in:
        admin_scope = _logged_in_admin_scope(snapshot)
    else:
        admin_scope = "all"  # what anonymous visitors, most of a flood, get without another call
    if request.resolver_match is not None:  # in process_view: the view Django really resolved
        return _match_is_exempt(request.resolver_match, admin_scope)
    # Before the view is resolved, with the urlconf known so far: a middleware
    # placed after this one may still set request.urlconf, hence process_view.
    urlconf = getattr(request, "urlconf", None)
    # Translated URL patterns need LocaleMiddleware, which sets LANGUAGE_CODE
    # (cheaper than asking the translation machinery).
    language = getattr(request, "LANGUAGE_CODE", None)
    return _resolves_to_exempt_view(request.path_info, urlconf, language, admin_scope)


@functools.lru_cache(maxsize=1024)
def _resolves_to_exempt_view(
    path_info: str, urlconf: str | None, language: str | None, admin_scope: AdminScope
) -> bool:
    """A ``@maintenance_exempt`` view, or an admin site's view (wherever it is mounted) ``admin_scope`` opens.

    ``language`` is part of the cache key because URL patterns may be translated.
    """
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return False
    return _match_is_exempt(match, admin_scope)


def _match_is_exempt(match: ResolverMatch, admin_scope: AdminScope) -> bool:
    if admin_scope == "all" and ("admin" in match.app_names or _is_wagtail_view(match, WAGTAIL_OPEN_VIEWS)):
        return True
    if admin_scope == "login-logout" and _is_login_or_logout_view(match):
        return True
    view = match.func
    # Django's class-based views keep their class in view_class, REST framework's viewsets in cls.
    classes = (getattr(view, "view_class", None), getattr(view, "cls", None))
    return bool(
        getattr(view, "maintenance_exempt", False) or any(getattr(c, "maintenance_exempt", False) for c in classes)
    )


# The Wagtail admin's views that Wagtail itself serves to people not logged in
# (wagtail/admin/urls: login, password reset, the icons and the translations its
# login page loads), and logout. Named the same wherever the admin is mounted.
WAGTAIL_OPEN_VIEWS = frozenset(
    {
        "wagtailadmin_home",  # redirects visitors to the login, like the Django admin's index
        "wagtailadmin_login",
        "wagtailadmin_logout",
        "wagtailadmin_password_reset",
        "wagtailadmin_password_reset_done",
        "wagtailadmin_password_reset_confirm",
        "wagtailadmin_password_reset_complete",
        "wagtailadmin_sprite",
        "wagtailadmin_javascript_catalog",
    }
)


def _is_login_or_logout_view(match: ResolverMatch) -> bool:
    """Any admin site's login or logout (``admin:login``, ``admin:logout``), or the Wagtail admin's."""
    if "admin" in match.app_names and match.url_name in _ADMIN_LOGIN_LOGOUT:
        return True
    return _is_wagtail_view(match, WAGTAIL_LOGIN_LOGOUT)


_ADMIN_LOGIN_LOGOUT = frozenset({"login", "logout"})
WAGTAIL_LOGIN_LOGOUT = frozenset({"wagtailadmin_login", "wagtailadmin_logout"})


def _is_wagtail_view(match: ResolverMatch, names: frozenset[str]) -> bool:
    if match.url_name not in names:
        return False
    view = getattr(match.func, "view_class", match.func)
    return view.__module__.startswith("wagtail.")  # not a project view that borrowed the name


def settle(
    request: HttpRequest, snapshot: Snapshot, now: float, *, may_block: bool = True
) -> tuple[Verdict, HttpResponse | None]:
    """The verdict and, for a request that does not reach the site, its response.

    With ``may_block=False`` (in the event loop) it answers ``NEEDS_IO`` rather
    than read the user (see :func:`decide`) or render a page not rendered yet
    (templates load files, and a theme's may query).
    """
    verdict = decide(request, snapshot, now, may_block=may_block)
    if verdict is Verdict.SERVE_READ_ONLY and conf.READ_ONLY_DATABASE:
        if not may_block:
            return Verdict.NEEDS_IO, None  # the guard belongs in the worker thread, below
        guard.install()  # here: the thread that runs the view's queries, in the async path too
    if verdict in _NO_RESPONSE_HERE:
        return verdict, None
    if verdict is Verdict.GRANT_BYPASS:
        return verdict, grant_bypass(request, snapshot)
    if verdict is Verdict.LOGOUT_AND_BLOCK:  # never with may_block=False: the user is logged in
        _logout(request)
    read_only = verdict is Verdict.REFUSE_WRITE
    html = None
    if not may_block and not wants_json(request):
        html = page.cached_page_bytes(snapshot, read_only)
        if html is None:
            return Verdict.NEEDS_IO, None  # the first visitor of this state and language renders it
    return verdict, maintenance_response(request, snapshot, read_only=read_only, html=html)


_REACHES_THE_SITE = frozenset(
    {
        Verdict.SERVE,
        Verdict.SERVE_WITH_NOTICE,
        Verdict.SERVE_READ_ONLY,
        Verdict.SERVE_PRIVATE,
        Verdict.SERVE_EXEMPT_VIEW,
    }
)
_NO_RESPONSE_HERE = _REACHES_THE_SITE | {Verdict.NEEDS_IO}


def wants_json(request: HttpRequest) -> bool:
    compiled = rules()
    if compiled.path_matches(compiled.json_paths, request.path_info):
        return True
    return _prefers_json(_bounded_accept(request.META.get("HTTP_ACCEPT", "*/*")))


# What of an Accept header is negotiated (and cached): browsers send about 100
# characters and 8 media ranges, but gunicorn joins repeated header lines, so
# one request can carry megabytes. Parsing and caching only the start bounds
# what a hostile header costs (CPU per request, memory per cache entry).
ACCEPT_PARSED_CHARS = 512
ACCEPT_PARSED_RANGES = 16


def _bounded_accept(accept: str) -> str:
    """``accept`` itself when it is ordinary, else its first whole media ranges, spaces removed."""
    if len(accept) <= ACCEPT_PARSED_CHARS and accept.count(",") < ACCEPT_PARSED_RANGES:
        return accept
    ranges = accept[: ACCEPT_PARSED_CHARS + 1].split(",", ACCEPT_PARSED_RANGES)
    ranges.pop()  # cut by the length limit, or the unsplit rest: not a whole range
    return ",".join("".join(media_range.split()) for media_range in ranges)


@functools.lru_cache(maxsize=256)
def _prefers_json(accept: str) -> bool:
    """Django's negotiation, once per distinct (bounded) Accept header: parsing one costs more than the page."""
    probe = HttpRequest()
    probe.META["HTTP_ACCEPT"] = accept
    return probe.get_preferred_type(["text/html", "application/json"]) == "application/json"


@functools.lru_cache(maxsize=4)
def _http_date(second: int) -> str:
    return http_date(second)


# What add_never_cache_headers() writes on a new response, without its parsing and merging.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def maintenance_response(
    request: HttpRequest, snapshot: Snapshot, *, read_only: bool, html: bytes | None = None
) -> HttpResponse:
    """The 503; ``read_only``: the answer to a refused change, whose wording says it was not saved;
    ``html``: the page's body when the caller already has it."""
    now = time.time()
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(page.json_body(snapshot, now), status=503)
    else:
        response = HttpResponse(page.page_bytes(snapshot, read_only, request) if html is None else html, status=503)
    # HEAD keeps the body, like any Django view: the server drops it and the
    # Content-Length stays the one a GET would get.
    retry_after = snapshot.retry_after(now)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    headers = response.headers  # a new response: set, nothing to merge
    headers["Expires"] = _http_date(int(now))
    headers["Cache-Control"] = NEVER_CACHE  # no-store: no CDN or browser keeps the page
    headers["Vary"] = "Accept"
    # A deliberate 503, not a server error: keep it out of Django's "django.request" ERROR log,
    # which also emails ADMINS (default LOGGING) once per blocked visitor.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def grant_bypass(request: HttpRequest, snapshot: Snapshot) -> HttpResponse:
    home = request.path.removesuffix(request.path_info) + "/"  # the site's root, under any script prefix
    # The prefix may come from a SCRIPT_NAME header (gunicorn takes one from its
    # forwarded_allow_ips). A script prefix is a path, never a URL: one naming
    # any host, even this one ("//evil.example", "http://this.site"), is refused.
    if not url_has_allowed_host_and_scheme(home, allowed_hosts=None):
        home = "/"
    target = request.GET.get("next", home)
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = home
    response = HttpResponseRedirect(target)
    response.set_cookie(
        conf.BYPASS_COOKIE_NAME,
        bypass.make_cookie_value(snapshot.secret),
        max_age=conf.BYPASS_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    add_never_cache_headers(response)
    return response


def keep_private(response: HttpResponseBase) -> HttpResponseBase:
    """A live page that only some people get while maintenance is on: no CDN may
    keep it (and serve it to the visitors maintenance blocks)."""
    patch_cache_control(response, private=True)
    return response


def add_indicator(response: HttpResponseBase, snapshot: Snapshot, request: HttpRequest) -> HttpResponseBase:
    """Insert the "maintenance is on" badge into full HTML pages, and keep them private."""
    keep_private(response)
    if not conf.SHOW_INDICATOR or not _is_full_html_page(response):
        return response
    badge = _encoded(page.indicator_html(snapshot.read_only, _settings_url(request)), response)
    if badge is None:
        return response
    body = response.content
    end = body.rfind(b"</body>")
    return _replace_content(response, body[:end] + badge + body[end:])


def _settings_url(request: HttpRequest) -> str | None:
    """The badge's "settings" link, for a user who may change the settings.

    Only a user already loaded (by :func:`decide` or by the view) is asked: the
    badge never loads a session itself (a bypass holder's page costs no query for it).
    """
    user = _loaded_user(request)
    if user is None:
        return None
    try:
        return page.settings_url_for(user)
    except Exception as error:  # noqa: BLE001 - a permission check that queries a failing database
        session_failures.failed("user store", error, "showing the badge without its settings link")
        return None


def _loaded_user(request: HttpRequest) -> Any:
    """``request.user`` if it is loaded already and logged in, else ``None``."""
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    return user if user.is_authenticated else None


def _badge_may_query(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Whether adding the badge may query the database (the async path then adds it
    in a thread): the link's permission check for a logged-in user other than an
    active superuser, whose permissions are loaded from the database."""
    if not conf.SHOW_INDICATOR or not _is_full_html_page(response):
        return False
    user = _loaded_user(request)
    return user is not None and not (user.is_active and getattr(user, "is_superuser", False))


def add_read_only_notice(response: HttpResponseBase, snapshot: Snapshot) -> HttpResponseBase:
    """Put the read-only notice at the top of full HTML pages, in the page's flow
    (a fixed bar would cover the very buttons it explains)."""
    if not conf.SHOW_READ_ONLY_NOTICE or not _is_full_html_page(response):
        return response
    body = response.content
    match = _BODY_TAG.search(body)
    if match is None:
        return response
    # HttpResponse.charset parses Content-Type on every read: once per distinct header here.
    charset = _charset_of(response.get("Content-Type", ""), settings.DEFAULT_CHARSET)
    notice = page.read_only_notice_bytes(snapshot, charset)
    if notice is None:
        return response
    at = match.end()
    return _replace_content(response, body[:at] + notice + body[at:])


_BODY_TAG = re.compile(rb"<body(?:\s[^>]*)?>", re.IGNORECASE)
_CHARSET = re.compile(r";\s*charset=(?P<charset>[^\s;]+)", re.IGNORECASE)


@functools.lru_cache(maxsize=16)
def _charset_of(content_type: str, default: str) -> str:
    """What ``HttpResponse.charset`` reads from this Content-Type."""
    match = _CHARSET.search(content_type)
    return match["charset"].replace('"', "") if match else default


def _is_full_html_page(response: HttpResponseBase) -> TypeGuard[HttpResponse]:
    if not isinstance(response, HttpResponse):  # streams are left alone
        return False
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    return b"</body>" in response.content


def _encoded(html: str, response: HttpResponse) -> bytes | None:
    try:
        # Characters the page's charset lacks (the badge's "·" in us-ascii) become
        # character references: what we add must never turn a page into a 500.
        return html.encode(response.charset, errors="xmlcharrefreplace")
    except LookupError:  # a charset Python does not know: leave the page as it is
        return None


def _replace_content(response: HttpResponse, content: bytes) -> HttpResponse:
    response.content = content
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(content))
    return response


# The request attribute that carries (snapshot, now) from __call__ to process_view.
_EXEMPT_VIEW_TO_CONFIRM = "_maintenance_mode_exempt_view"


def _confirm_in_process_view(request: HttpRequest, snapshot: Snapshot, now: float) -> None:
    request.__dict__[_EXEMPT_VIEW_TO_CONFIRM] = (snapshot, now)


class MaintenanceModeMiddleware:
    """Place after ``AuthenticationMiddleware`` (and ``MessageMiddleware``)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
            # Django would run a sync process_view in a thread for every request.
            self.process_view = self._aprocess_view  # type: ignore[method-assign, assignment]

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        snapshot = state.store.current()
        if not snapshot.enabled:  # off (decide() would say SERVE): the common case costs one test
            return self.get_response(request)
        now = time.time()
        verdict, response = settle(request, snapshot, now)
        if response is not None:
            return response
        if verdict is Verdict.SERVE_EXEMPT_VIEW:
            _confirm_in_process_view(request, snapshot, now)
        if verdict is Verdict.SERVE_WITH_NOTICE:
            return add_indicator(self.get_response(request), snapshot, request)  # type: ignore[arg-type]
        if verdict is Verdict.SERVE_READ_ONLY:
            if not conf.READ_ONLY_DATABASE:
                return add_read_only_notice(self.get_response(request), snapshot)  # type: ignore[arg-type]
            with guard.refusing_writes(snapshot) as refusals:
                served = self.get_response(request)
            return self._read_only_answer(request, snapshot, served, refusals)  # type: ignore[arg-type]
        if verdict is Verdict.SERVE_PRIVATE:
            return keep_private(self.get_response(request))  # type: ignore[arg-type]
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        get_response: AsyncGetResponse = self.get_response  # type: ignore[assignment]
        snapshot = state.store.fresh() or await sync_to_async(state.store.current)()
        now = time.time()
        if not snapshot.is_active(now):
            return await get_response(request)
        # In the event loop when no I/O is needed (an anonymous visitor and a page
        # already rendered: a flood of them); otherwise one hop to a thread, where
        # request.user, logout and rendering the page may touch the database.
        verdict, response = settle(request, snapshot, now, may_block=False)
        if verdict is Verdict.NEEDS_IO:
            verdict, response = await sync_to_async(settle)(request, snapshot, now)
        if response is not None:
            return response
        if verdict is Verdict.SERVE_EXEMPT_VIEW:
            _confirm_in_process_view(request, snapshot, now)
        if verdict is Verdict.SERVE_WITH_NOTICE:
            served = await get_response(request)
            if _badge_may_query(request, served):
                return await sync_to_async(add_indicator)(served, snapshot, request)
            return add_indicator(served, snapshot, request)
        if verdict is Verdict.SERVE_READ_ONLY:
            if not conf.READ_ONLY_DATABASE:
                return add_read_only_notice(await get_response(request), snapshot)
            with guard.refusing_writes(snapshot) as refusals:  # carried into the view's sync_to_async threads
                served = await get_response(request)
            return self._read_only_answer(request, snapshot, served, refusals)
        if verdict is Verdict.SERVE_PRIVATE:
            return keep_private(await get_response(request))
        return await get_response(request)

    def _read_only_answer(
        self, request: HttpRequest, snapshot: Snapshot, served: HttpResponseBase, refusals: guard.Refusals
    ) -> HttpResponseBase:
        # A refused write means the view did not do what it answered, whatever
        # it answered (it may have caught the error): the visitor is told.
        if refusals.statements:
            return maintenance_response(request, snapshot, read_only=True)
        if isinstance(served, StreamingHttpResponse):  # its view's code runs while the body is sent
            content = served.streaming_content
            if isinstance(content, AsyncIterator):
                served.streaming_content = guard.arefusing_while_streaming(content, refusals)
            else:
                served.streaming_content = guard.refusing_while_streaming(content, refusals)
            return served
        return add_read_only_notice(served, snapshot)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        """Confirm a view exemption against the view Django really resolved.

        A middleware placed after this one may set ``request.urlconf`` (django-hosts,
        django-tenants): the exemption was decided with the urlconf known then, and
        "/admin/..." there may be a live page in the urlconf the request really uses.
        Decided again now (``decide`` then reads ``request.resolver_match``), with the
        same snapshot, before the view runs.
        """
        decided = request.__dict__.pop(_EXEMPT_VIEW_TO_CONFIRM, None)
        if decided is None:
            return None
        _verdict, response = settle(request, *decided)
        return response

    async def _aprocess_view(
        self, request: HttpRequest, view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        decided = request.__dict__.pop(_EXEMPT_VIEW_TO_CONFIRM, None)
        if decided is None:
            return None
        snapshot, now = decided
        verdict, response = settle(request, snapshot, now, may_block=False)  # in the loop, as in __acall__
        if verdict is Verdict.NEEDS_IO:
            _verdict, response = await sync_to_async(settle)(request, snapshot, now)  # logout may touch the session
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A write the guard refused: the read-only 503, not a 500 (nor its error log and email).

        Also any exception after a refusal the view swallowed: with ``ATOMIC_REQUESTS``
        the failed save marked the transaction for rollback, so the view's next query
        raises ``TransactionManagementError``; the answer is the read-only 503 anyway.
        """
        refusals = guard.active()
        if refusals is None:
            return None
        if not (isinstance(exception, guard.WriteRefusedError) or refusals.statements):
            return None
        # The snapshot the request was decided with: the view's transaction may be
        # broken now, so nothing here may ask the database.
        return maintenance_response(request, refusals.snapshot, read_only=True)
