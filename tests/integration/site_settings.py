"""Settings of the served site: the example shop plus the worker header.

Run with ``PYTHONPATH=<repo>/example_project:<repo>``; the shop's own
environment switches (``SHOP_DB``, ``SHOP_REDIS``, ...) choose the database and cache.
"""

from __future__ import annotations

import os

from shop import settings as shop_settings
from shop.settings import *  # noqa: F403

DEBUG = False  # as in production: an error is a bare 500, which the tests count
MIDDLEWARE = ["tests.integration.worker_header.worker_header_middleware", *shop_settings.MIDDLEWARE]

# Persistent connections without health checks, as many deployments run: a
# connection killed behind a worker's back fails on its next query, which is
# the failure the state store must absorb.
conn_max_age = int(os.environ.get("IT_CONN_MAX_AGE", "60"))
DATABASES = {"default": {**shop_settings.DATABASES["default"], "CONN_MAX_AGE": conn_max_age}}

# Spelled out rather than inherited: the fault tests read the app's warnings in
# the servers' logs, and a 500 must leave its traceback there.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "maintenance_mode": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}
