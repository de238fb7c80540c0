"""``uvicorn benchsite.asgi:application`` (run from ``benchmarks/``), with ``benchsite.settings_asgi``."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings_asgi")

application = get_asgi_application()
