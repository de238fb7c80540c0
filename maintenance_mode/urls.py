"""Optional: ``path("maintenance/", include("maintenance_mode.urls"))`` adds ``status/``."""

from __future__ import annotations

from django.urls import path

from maintenance_mode import views

app_name = "maintenance_mode"
urlpatterns = [path("status/", views.status, name="status")]
