"""The admin (as on a real site, so URL resolution walks past it) and the minimal page."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

from benchsite import theme, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("", views.index, name="index"),
    path("home/", theme.home),  # bench_theme.py: a templated page of the themed site
]
