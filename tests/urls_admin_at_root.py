from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tests import views

urlpatterns = [path("shop/", views.home), path("", admin.site.urls)]
