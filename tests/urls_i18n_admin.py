from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import path

# The admin under a language prefix (/en/admin/, /fr/admin/).
urlpatterns = i18n_patterns(path("admin/", admin.site.urls))
