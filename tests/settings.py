"""Settings for the test suite; MAINTENANCE_TEST_DB=postgres switches the database."""

from __future__ import annotations

import os

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "Europe/Paris"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "French"), ("de", "German"), ("es", "Spanish"), ("pt", "Portuguese")]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # read by the project theme's context processor (tests/theme_project.py)
    # A Wagtail site's apps (the whole `wagtail start` site runs in test_wagtail_project.py).
    "wagtail.users",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.admin",
    "wagtail",
    "taggit",
    "modelcluster",
    "corsheaders",  # API clients (test_api_clients.py)
    "rest_framework",
    "maintenance_mode",
    "maintenance_mode.contrib.wagtail",
]
# Other apps' tables come from their models rather than their migrations
# (Wagtail has ~150, which would triple the time the test database takes to
# build); only this app's own migrations run, and they are what the PostgreSQL
# run checks. Every other app, not only Wagtail's: tables made from models come
# before migrated apps, and on PostgreSQL their foreign keys to a migrated
# auth_user would fail.
MIGRATION_MODULES = {
    label: None
    for label in (
        "admin",
        "auth",
        "contenttypes",
        "sessions",
        "sites",
        "wagtailusers",
        "wagtaildocs",
        "wagtailimages",
        "wagtailadmin",
        "wagtailcore",
        "taggit",
    )
}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "maintenance_mode.middleware.MaintenanceModeMiddleware",
]

ROOT_URLCONF = "tests.urls"

if os.environ.get("MAINTENANCE_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            # One name per run: two checkouts testing at once must not share
            # (and drop) each other's test database.
            "NAME": f"maintenance_tests_{os.getpid()}",
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": 5432,
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

STATIC_URL = "/static/"
MEDIA_URL = "/media/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MAINTENANCE_MODE_EXEMPT_PATHS = ["/health", "/api/webhooks/*", "order/*/edit"]
MAINTENANCE_MODE_JSON_PATHS = ["/api/*"]
MAINTENANCE_MODE_STATE_TTL = 0  # tests see every write at once; the TTL has its own tests
# The unit tests read the state in the test's own thread, so that a reading
# sees the test's transaction; the refresher thread has tests of its own
# (tests/test_refresher.py) and runs in every integration test's servers.
MAINTENANCE_MODE_BACKGROUND_REFRESH = False

WAGTAIL_SITE_NAME = "Test site"
WAGTAILADMIN_BASE_URL = "http://testserver"
SITE_ID = 1
