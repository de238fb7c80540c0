from __future__ import annotations

from django.urls import path

from tests import views

# A project's own view that happens to carry the name of Wagtail's login view.
urlpatterns = [path("impostor/login/", views.home, name="wagtailadmin_login")]
