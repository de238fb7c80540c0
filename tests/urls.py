from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from tests import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
    path("health", views.health),
    path("exempt-view/", views.exempt_view),
    path("exempt-class/", views.ExemptClassView.as_view()),
    path("async/", views.async_home),
    path("api/items/", views.api_items),
    path("api/webhooks/stripe", views.webhook),
    path("order/<int:pk>/edit", views.order_edit),
    path("no-body/", views.no_body),
    path("streaming/", views.streaming),
    path("maintenance/", include("maintenance_mode.urls")),
    path("account/", views.account),
    path("hidden-write/", views.hidden_write),
    path("swallowed-write/", views.swallowed_write),
    path("sign-in-link/", views.session_and_sign_in),
    path("async-hidden-write/", views.async_hidden_write),
]
