"""The ASGI runs' URLconf: the same site with ``/`` served by the async twin of the minimal view."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

from benchsite import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("", views.async_index, name="index"),
    path("unavailable/", views.async_unavailable),
]
