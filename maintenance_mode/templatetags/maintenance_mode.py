from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from maintenance_mode import page, state
from maintenance_mode.conf import conf
from maintenance_mode.notice import current_notice

register = template.Library()


@register.simple_tag
def maintenance_banner() -> SafeString:
    """The advance notice of scheduled maintenance; nothing when none is near.

    While the site is read-only it is the read-only notice, when the middleware
    does not already put it at the top of the page (``SHOW_READ_ONLY_NOTICE``).
    """
    notice = current_notice()
    if notice.read_only and not conf.SHOW_READ_ONLY_NOTICE:
        return SafeString(page.read_only_notice_html(state.current()))
    if not notice.upcoming:
        return SafeString("")
    return SafeString(render_to_string("maintenance_mode/banner.html", {"notice": notice}))
