"""What a blocked visitor receives: the HTML page or the JSON body, and the
administrators' indicator."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from maintenance_mode.conf import conf
from maintenance_mode.snapshot import Snapshot


def default_message() -> str:
    return _("We are performing scheduled maintenance. We will be back shortly. Thank you for your patience.")


def page_context(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "message": snapshot.message or default_message(),
        "image_url": snapshot.image_url,
        "icon": snapshot.icon,
        "icon_stylesheet": conf.ICON_STYLESHEET,
        "button_text": snapshot.button_text or _("More information"),
        "button_url": snapshot.bypass_url,
        "starts_at": snapshot.start,
        "ends_at": snapshot.end,
    }


def page_bytes(snapshot: Snapshot) -> bytes:
    """The page's body, rendered once per state, language, time zone and template
    unless DEBUG (so template edits show at once while developing).

    It is rendered without the request, so a flood of visitors costs one
    dictionary lookup each; templates that need the request cannot use it.
    """
    # The time zone matters only to a page that shows a time (asking costs more than the lookup).
    shows_time = snapshot.starts_at is not None or snapshot.ends_at is not None
    zone = timezone.get_current_timezone_name() if shows_time else ""
    key = (snapshot, get_language(), zone, conf.TEMPLATE, settings.DEFAULT_CHARSET)
    return _render_page(*key) if settings.DEBUG else _cached_page(*key)


def _render_page(snapshot: Snapshot, language: str | None, zone: str, template_name: str, charset: str) -> bytes:
    return render_to_string(template_name, page_context(snapshot)).encode(charset)


_cached_page = functools.lru_cache(maxsize=64)(_render_page)


def json_body(snapshot: Snapshot, now: float) -> dict[str, Any]:
    """The JSON answer for API clients, and the status endpoint's body."""
    start, end = snapshot.start, snapshot.end
    active = snapshot.is_active(now)
    return {
        "maintenance": active,
        "message": snapshot.message or default_message(),
        "starts_at": start.isoformat() if start else None,
        "ends_at": end.isoformat() if end else None,
        "retry_after": snapshot.retry_after(now) if active else None,
    }


def admin_change_url() -> str | None:
    try:
        return reverse("admin:maintenance_mode_maintenancesettings_changelist")
    except NoReverseMatch:
        return None


def indicator_html() -> str:
    return render_to_string("maintenance_mode/indicator.html", {"settings_url": admin_change_url()})


def clear_caches() -> None:
    _cached_page.cache_clear()
