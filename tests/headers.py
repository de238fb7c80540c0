"""Caching headers read as the caches read them, not as substrings.

``"private" in response["Cache-Control"]`` also holds for ``private=False``, and
``"Accept" in response["Vary"]`` for ``Accept-Language``: these helpers split the
header into its directives or fields first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeAlias

from django.http import HttpResponseBase

_COMMAS = re.compile(r"\s*,\s*")  # django.utils.cache's own splitter (cc_delim_re)

# A Django response, or the headers of one read over HTTP (urllib's, as a dict).
Headers: TypeAlias = HttpResponseBase | Mapping[str, str]


def _header(source: Headers, name: str) -> str:
    if isinstance(source, HttpResponseBase):
        return source.get(name) or ""
    return next((value for key, value in source.items() if key.lower() == name.lower()), "")


def _split(value: str) -> list[str]:
    """The comma-separated elements of a header, as Django's ``patch_*`` helpers split it."""
    return [element for element in _COMMAS.split(value.strip()) if element]


def cache_directives(source: Headers) -> set[str]:
    """The Cache-Control directives, each as sent with its name lower-cased
    (``{"private", "max-age=0"}``); empty without the header."""
    directives = set()
    for directive in _split(_header(source, "Cache-Control")):
        name, equals, value = directive.partition("=")
        directives.add(name.strip().lower() + equals + value.strip())
    return directives


def vary_fields(source: Headers) -> set[str]:
    """The header names in Vary, lower-cased (they are case-insensitive); empty without the header."""
    return {field.lower() for field in _split(_header(source, "Vary"))}
