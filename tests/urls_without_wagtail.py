from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tests import views

# A site with the Django admin only (tests.urls also mounts the Wagtail admin).
urlpatterns = [path("admin/", admin.site.urls), path("", views.home)]
