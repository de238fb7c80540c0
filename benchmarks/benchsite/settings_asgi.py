"""The load-run site under ASGI: the same settings, with ``/`` an async view."""

from __future__ import annotations

from benchsite.settings import *  # noqa: F403

ROOT_URLCONF = "benchsite.urls_asgi"
ASGI_APPLICATION = "benchsite.asgi.application"
