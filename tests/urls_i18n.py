from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from tests import views

# The default language's pages have no prefix; French ones live under /fr/.
urlpatterns = i18n_patterns(path("exempt-view/", views.exempt_view), prefix_default_language=False)
