"""A second urlconf, chosen per request by a middleware (django-hosts style):
here "/admin/..." is the shop, not an admin site."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tests import views

urlpatterns = [
    path("admin/<path:rest>", views.shop_page),
    path("backoffice/", admin.site.urls),
    path("exempt-view/", views.home),  # exempt in ROOT_URLCONF, live here
]
