from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from tests import views

# i18n_patterns(prefix_default_language=False): /health in English, /fr/health in French.
urlpatterns = i18n_patterns(path("", views.home), path("health", views.health), prefix_default_language=False)
