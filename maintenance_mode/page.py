"""What a blocked visitor receives: the HTML page or the JSON body, the
administrators' indicator, and the read-only notice of the live site."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from django.apps import apps
from django.conf import settings
from django.http import HttpRequest
from django.template.base import FilterExpression, Template
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import ExtendsNode, IncludeNode
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from maintenance_mode.conf import conf
from maintenance_mode.rules import WAGTAIL_ADMIN_PERMISSION
from maintenance_mode.snapshot import Snapshot


def default_message() -> str:
    return _("We are performing scheduled maintenance. We will be back shortly. Thank you for your patience.")


def default_read_only_message() -> str:
    return _(
        "The site is read-only while we perform maintenance: you can keep browsing, "
        "but changes cannot be saved right now."
    )


def _message(snapshot: Snapshot) -> str:
    if snapshot.message:
        return snapshot.message
    return default_read_only_message() if snapshot.read_only else default_message()


def page_context(snapshot: Snapshot, read_only: bool = False) -> dict[str, Any]:
    """``read_only``: the page answers a refused change (its wording says it was not saved)."""
    return {
        "read_only": read_only,
        "message": _message(snapshot),
        "image_url": snapshot.image_url,
        "icon": snapshot.icon,
        "icon_stylesheet": conf.ICON_STYLESHEET,
        "button_text": snapshot.button_text or _("More information"),
        "button_url": snapshot.bypass_url,
        "starts_at": snapshot.start,
        "ends_at": snapshot.end,
    }


def page_bytes(snapshot: Snapshot, read_only: bool = False, request: HttpRequest | None = None) -> bytes:
    """The page's body.

    By default it is rendered once per state, language, time zone and template
    (unless DEBUG, so template edits show at once), without the request: a flood
    of visitors costs one dictionary lookup each. A theme that needs the project's
    context (see :func:`renders_with_request`) is rendered for each ``request``,
    with the project's context processors. Without a request (``manage.py
    maintenance render``) the page is always rendered without one.
    """
    # Decided here even without a request, so that cached_page_bytes() knows the answer.
    if renders_with_request() and request is not None:
        html = render_to_string(conf.TEMPLATE, page_context(snapshot, read_only), request=request)
        return html.encode(settings.DEFAULT_CHARSET)
    key = _page_key(snapshot, read_only)
    if settings.DEBUG:
        return _render_page(*key)
    body = _pages.get(key)
    if body is None:
        body = _render_page(*key)
        if len(_pages) >= _MAX_PAGES:  # states x languages x zones: only a test suite gets here
            _pages.clear()
        _pages[key] = body
    return body


def cached_page_bytes(snapshot: Snapshot, read_only: bool = False) -> bytes | None:
    """What :func:`page_bytes` returns for a request if it needs no rendering (no
    template, no I/O: the async path can answer in the event loop), else ``None``:
    not rendered yet for this key, DEBUG, or a page rendered for each request."""
    if settings.DEBUG or _with_request.get(conf.TEMPLATE, True):  # not decided yet: decide in a thread
        return None
    return _pages.get(_page_key(snapshot, read_only))


def renders_with_request() -> bool:
    """Whether the page is rendered for each request, with the request and the
    project's context processors (``MAINTENANCE_MODE_RENDER_WITH_REQUEST``).

    ``None`` (the default) decides from the template, once: a theme that extends
    or includes a template of the project (any name outside ``maintenance_mode/``,
    such as the site's ``base.html``) needs the project's context; the app's own
    page, a theme that extends it, and a self-contained page do not.
    """
    name = conf.TEMPLATE
    decided = _with_request.get(name)
    if decided is None:
        choice = conf.RENDER_WITH_REQUEST
        decided = _with_request[name] = choice if choice is not None else _uses_project_templates(name)
    return decided


def _uses_project_templates(template_name: str) -> bool:
    template = getattr(get_template(template_name), "template", None)
    if not isinstance(template, Template):  # another engine: set RENDER_WITH_REQUEST to choose
        return False
    nodes = template.nodelist
    # get_nodes_by_type() is typed as returning plain Nodes.
    references: list[FilterExpression] = [node.parent_name for node in nodes.get_nodes_by_type(ExtendsNode)]  # type: ignore[attr-defined]
    references += [node.template for node in nodes.get_nodes_by_type(IncludeNode)]  # type: ignore[attr-defined]
    # A project template, or one chosen at render time.
    return any(
        not isinstance(reference.var, str) or reference.filters or not reference.var.startswith(_APP_TEMPLATES)
        for reference in references
    )


_APP_TEMPLATES = "maintenance_mode/"
# RENDER_WITH_REQUEST's answer per template name (the auto choice loads the template once).
_with_request: dict[str, bool] = {}


PageKey = tuple[Snapshot, bool, "str | None", str, str, str]


def _page_key(snapshot: Snapshot, read_only: bool) -> PageKey:
    # The time zone matters only to a page that shows a time (asking costs more than the lookup).
    shows_time = snapshot.starts_at is not None or snapshot.ends_at is not None
    zone = timezone.get_current_timezone_name() if shows_time else ""
    return (snapshot, read_only, get_language(), zone, conf.TEMPLATE, settings.DEFAULT_CHARSET)


def _render_page(
    snapshot: Snapshot, read_only: bool, language: str | None, zone: str, template_name: str, charset: str
) -> bytes:
    return render_to_string(template_name, page_context(snapshot, read_only)).encode(charset)


# The rendered pages by key; a plain dict (not lru_cache) so that cached_page_bytes()
# can look without rendering. Reads and writes of one key are atomic under the GIL; two
# threads rendering the same page at once both store the same bytes.
_pages: dict[PageKey, bytes] = {}
_MAX_PAGES = 64


def json_body(snapshot: Snapshot, now: float) -> dict[str, Any]:
    """The JSON answer for API clients, and the status endpoint's body."""
    start, end = snapshot.start, snapshot.end
    active = snapshot.is_active(now)
    return {
        "maintenance": active,
        "read_only": active and snapshot.read_only,
        "message": _message(snapshot),
        "starts_at": start.isoformat() if start else None,
        "ends_at": end.isoformat() if end else None,
        "retry_after": snapshot.retry_after(now) if active else None,
    }


# maintenance_mode.contrib.wagtail's view; the badge points there when the app is installed.
WAGTAIL_URL_NAME = "maintenance_mode_wagtail"


def admin_change_url() -> str | None:
    name = "admin:maintenance_mode_maintenancesettings_changelist"
    if apps.is_installed("maintenance_mode.contrib.wagtail"):
        name = WAGTAIL_URL_NAME
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# Who may change the settings, in the Django admin and in the Wagtail admin.
CHANGE_PERMISSION = "maintenance_mode.change_maintenancesettings"


def settings_url_for(user: Any) -> str | None:
    """Where the badge's "settings" link points for this logged-in ``user``; ``None``
    (no link) for those the settings form would turn away.

    ``has_perm`` costs nothing for an active superuser; for anyone else
    Django's ModelBackend loads the user's permissions (two queries) once per
    user object, so once per request at most, and not at all when the admin's
    pages or the administrator check already did.
    """
    url = admin_change_url()
    if url is None or not user.is_active:
        return None
    # The way in: the Django admin wants staff, the Wagtail admin its own permission.
    if apps.is_installed("maintenance_mode.contrib.wagtail"):
        enters = user.has_perm(WAGTAIL_ADMIN_PERMISSION)
    else:
        enters = user.is_staff
    return url if enters and user.has_perm(CHANGE_PERMISSION) else None


def indicator_html(read_only: bool = False, settings_url: str | None = None) -> str:
    """The badge; with the "settings" link when ``settings_url`` is given. Rendered
    for each page it is put in (administrators' pages only, a few)."""
    context = {"settings_url": settings_url, "read_only": read_only}
    return render_to_string("maintenance_mode/indicator.html", context)


def read_only_notice_html(snapshot: Snapshot) -> str:
    """The notice every visitor sees on the live site while it is read-only."""
    return _render_notice(snapshot, get_language(), *_notice_moment(snapshot))


def read_only_notice_bytes(snapshot: Snapshot, charset: str) -> bytes | None:
    """The notice encoded for a page in ``charset`` (``None``: a charset Python does
    not know); rendered once per state, language, time zone, day and charset, since
    every visitor's page carries it."""
    encode = _encode_notice if settings.DEBUG else _cached_notice_bytes
    return encode(snapshot, get_language(), *_notice_moment(snapshot), charset)


def _notice_moment(snapshot: Snapshot) -> tuple[str, date | None]:
    # The end reads "18:30" on its day and with its date before: the zone and the day matter.
    if snapshot.ends_at is None:
        return "", None
    return timezone.get_current_timezone_name(), timezone.localdate()


def _encode_notice(
    snapshot: Snapshot, language: str | None, zone: str, today: date | None, charset: str
) -> bytes | None:
    try:
        # Characters the page's charset lacks become character references:
        # the notice must never turn a page into a 500.
        return _render_notice(snapshot, language, zone, today).encode(charset, errors="xmlcharrefreplace")
    except LookupError:
        return None


def _render_notice(snapshot: Snapshot, language: str | None, zone: str, today: date | None) -> str:
    until = ""
    end = snapshot.end
    if end is not None:
        local = timezone.localtime(end)
        shown = time_format(local, "TIME_FORMAT") if local.date() == today else date_format(local, "DATETIME_FORMAT")
        until = f"{shown} {local.tzname() or ''}".strip()
    return render_to_string("maintenance_mode/read_only_notice.html", {"until": until})


_cached_notice_bytes = functools.lru_cache(maxsize=64)(_encode_notice)


def clear_caches() -> None:
    _pages.clear()
    _with_request.clear()
    _cached_notice_bytes.cache_clear()
