from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from tests import views

# A site whose pages live under a language prefix (/en/health, /fr/health...).
urlpatterns = [
    path("api/items/", views.api_items),
    *i18n_patterns(
        path("", views.home),
        path("health", views.health),
        path("api/reports/", views.api_items),
        path("api/webhooks/stripe", views.webhook),
    ),
]
