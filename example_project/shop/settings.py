"""The example shop: SQLite by default; DATABASE_URL-free switches by environment:

- ``SHOP_DB=postgres`` uses PostgreSQL on 127.0.0.1 (database ``SHOP_DB_NAME``,
  ``SHOP_DB_PORT``, 5432 by default);
- ``SHOP_REDIS=1`` shares the state through Redis on 127.0.0.1:6379
  (``SHOP_REDIS_TIMEOUTS=0``: without the short socket timeouts);
- ``MAINTENANCE_MODE_FORCE=on|off`` forces maintenance without the database.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "example-only-change-me")
DEBUG = os.environ.get("SHOP_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
USE_TZ = True
TIME_ZONE = os.environ.get("SHOP_TIME_ZONE", "Europe/Paris")
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("es", "Español"), ("pt", "Português")]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "maintenance_mode",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After authentication (it needs request.user) and messages.
    "maintenance_mode.middleware.MaintenanceModeMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
ASGI_APPLICATION = "shop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The shop's theme: templates/maintenance_mode/maintenance.html overrides the app's page.
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "maintenance_mode.context_processors.maintenance",
            ]
        },
    }
]

if os.environ.get("SHOP_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("SHOP_DB_NAME", "shop"),
            "USER": os.environ.get("SHOP_DB_USER", "postgres"),
            "HOST": os.environ.get("SHOP_DB_HOST", "127.0.0.1"),
            "PORT": int(os.environ.get("SHOP_DB_PORT", "5432")),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SHOP_SQLITE", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
        }
    }

if os.environ.get("SHOP_REDIS"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("SHOP_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "KEY_PREFIX": os.environ.get("SHOP_CACHE_PREFIX", "shop"),
            # SHOP_REDIS_TIMEOUTS=0: Django's default OPTIONS, as a new project has them.
            "OPTIONS": (
                {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
                if os.environ.get("SHOP_REDIS_TIMEOUTS", "1") == "1"
                else {}
            ),
        }
    }

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"maintenance_mode": {"handlers": ["console"], "level": "INFO"}},
}

# --- django-maintenance-shield ---------------------------------------------
MAINTENANCE_MODE_EXEMPT_PATHS = ["/health"]
MAINTENANCE_MODE_JSON_PATHS = ["/api/*"]
MAINTENANCE_MODE_BASE_URL = "http://127.0.0.1:8000"
MAINTENANCE_MODE_STATE_TTL = float(os.environ.get("MAINTENANCE_MODE_STATE_TTL", "1.0"))
MAINTENANCE_MODE_FORCE = {"on": True, "off": False}.get(os.environ.get("MAINTENANCE_MODE_FORCE", "").lower())
