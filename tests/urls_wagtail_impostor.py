from __future__ import annotations

from django.urls import path

from tests import views

# A project's own views that happen to carry the names of Wagtail's login view and the Django admin's.
urlpatterns = [
    path("impostor/login/", views.home, name="wagtailadmin_login"),
    path("accounts/login/", views.home, name="login"),
]
