"""The themed site of ``bench_theme.py``: a context processor that reads the
database on every page (as many projects' do), and a page of the site."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def site(request: HttpRequest) -> dict[str, Any]:
    from django.contrib.sites.models import Site

    current = Site.objects.get(pk=settings.SITE_ID)
    return {"SITE_NAME": current.name, "SITE_DOMAIN": current.domain}


def home(request: HttpRequest) -> HttpResponse:
    """A page of the site: the same base template and context processors as the theme."""
    return render(request, "benchtheme/home.html")
