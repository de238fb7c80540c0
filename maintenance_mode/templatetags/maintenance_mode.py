from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from maintenance_mode.notice import current_notice

register = template.Library()


@register.simple_tag
def maintenance_banner() -> SafeString:
    """The advance notice of scheduled maintenance; nothing when none is near."""
    notice = current_notice()
    if not notice.upcoming:
        return SafeString("")
    return SafeString(render_to_string("maintenance_mode/banner.html", {"notice": notice}))
