from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tests import views

staff_tools = admin.AdminSite(name="staff_tools")

urlpatterns = [path("", views.home), path("staff-tools/", staff_tools.urls)]
