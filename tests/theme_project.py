"""What a project's theme relies on: its own context processor (reading the
database, as many do) and a template engine other than Django's."""

from __future__ import annotations

from pathlib import Path
from string import Template as StringTemplate
from typing import Any

from django.conf import settings
from django.contrib.sites.models import Site
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.backends.base import BaseEngine


def shop(request: HttpRequest) -> dict[str, Any]:
    """The site's name and domain, read from the database on every page."""
    site = Site.objects.get(pk=settings.SITE_ID)
    return {"SITE_NAME": site.name, "SITE_DOMAIN": site.domain}


class PlainTemplates(BaseEngine):
    """A minimal non-Django engine: ``$name`` substitution, files from DIRS."""

    app_dirname = "plain"

    def __init__(self, params: dict[str, Any]) -> None:
        params = params.copy()
        params.pop("OPTIONS", None)
        super().__init__(params)

    def get_template(self, template_name: str) -> PlainTemplate:
        for directory in self.template_dirs:
            path = Path(directory) / template_name
            if path.is_file():
                return PlainTemplate(path.read_text())
        raise TemplateDoesNotExist(template_name, backend=self)


class PlainTemplate:
    def __init__(self, source: str) -> None:
        self.source = StringTemplate(source)

    def render(self, context: dict[str, Any] | None = None, request: HttpRequest | None = None) -> str:
        return self.source.safe_substitute(context or {})
