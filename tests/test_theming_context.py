"""Themes that need the project's context: a ``maintenance_mode/maintenance.html``
built on the site's own ``base.html``, with its context processors (one reads
the database), ``{% url %}``, ``{% static %}`` and translated strings.

Such a page is rendered for each request, with the request; the default page,
and themes that only extend it, stay rendered once per state.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sites.models import Site
from django.core.handlers.wsgi import WSGIHandler
from django.test import AsyncClient, Client, override_settings
from django.urls import set_script_prefix

from maintenance_mode import page, state
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.snapshot import Snapshot

TESTS = Path(__file__).resolve().parent
PROJECT_TEMPLATES = TESTS / "templates_theme_project"
PROCESSOR = "tests.theme_project.shop"


def project_theme(**options: Any) -> override_settings:
    """The project's templates in front, and its context processor added."""
    engine: dict[str, Any] = {**settings.TEMPLATES[0], "DIRS": [PROJECT_TEMPLATES]}
    engine["OPTIONS"] = {
        **engine["OPTIONS"],
        "context_processors": [*engine["OPTIONS"]["context_processors"], PROCESSOR],
    }
    return override_settings(TEMPLATES=[engine], **options)


@pytest.fixture
def shop_site(db: None) -> Site:
    return Site.objects.update_or_create(
        pk=settings.SITE_ID, defaults={"name": "Bean & Brew", "domain": "bean.example"}
    )[0]


@pytest.fixture(autouse=True)
def _root_script_prefix() -> Iterator[None]:
    yield
    set_script_prefix("/")  # the WSGI handler sets it per request; leave the default for the next test


def closed_page(client: Client, path: str = "/", **headers: str) -> str:
    response = client.get(path, **headers)  # type: ignore[arg-type]
    assert response.status_code == 503
    return response.content.decode()


def test_theme_on_the_projects_base_template_gets_the_projects_context(
    client: Client, maintenance: MaintenanceSettings, shop_site: Site
) -> None:
    maintenance.message = "Fresh beans at noon."
    maintenance.save()
    with project_theme():
        html = closed_page(client)

    assert "<title>Down for maintenance · Bean &amp; Brew</title>" in html
    assert '<h1 class="closed">Bean &amp; Brew: We’ll be back soon</h1>' in html
    assert "<footer>Bean &amp; Brew · bean.example</footer>" in html
    assert '<a class="brand" href="/"><img src="/static/shop/logo.svg" alt="">Bean &amp; Brew</a>' in html
    assert '<link rel="stylesheet" href="/static/shop/site.css">' in html
    assert '<a href="/maintenance/status/">Status</a>' in html
    assert '<p class="message">Fresh beans at noon.</p>' in html


def test_theme_speaks_the_visitors_language(client: Client, maintenance: MaintenanceSettings, shop_site: Site) -> None:
    with project_theme():
        html = closed_page(client, HTTP_ACCEPT_LANGUAGE="fr")

    assert '<html lang="fr">' in html
    assert "<title>En maintenance · Bean &amp; Brew</title>" in html  # the app's catalog
    assert '<a href="/">Accueil</a>' in html  # Django's own catalog


def test_theme_sees_database_changes_at_once(client: Client, maintenance: MaintenanceSettings, shop_site: Site) -> None:
    with project_theme():
        closed_page(client)
        Site.objects.filter(pk=shop_site.pk).update(name="Bean & Brew Roasters")
        html = closed_page(client)

    assert "<footer>Bean &amp; Brew Roasters · bean.example</footer>" in html


def test_logged_out_customer_gets_the_theme_as_an_anonymous_visitor(
    customer_client: Client, maintenance: MaintenanceSettings, shop_site: Site
) -> None:
    with project_theme():
        html = closed_page(customer_client)

    assert "Bean &amp; Brew" in html
    assert "greeting" not in html  # logged out before the page is rendered


def wsgi_get(path: str, script_name: str, **environ: str) -> tuple[int, str]:
    """One request through Django's real WSGI handler, which sets the script prefix
    (the test client does not)."""
    request: dict[str, Any] = {"PATH_INFO": path, "SCRIPT_NAME": script_name, "wsgi.input": io.BytesIO(), **environ}
    setup_testing_defaults(request)
    request["SERVER_NAME"] = "testserver"
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        statuses.append(status)
        return lambda data: None

    response = WSGIHandler()(request, start_response)
    body = b"".join(response)
    response.close()
    return int(statuses[0].split()[0]), body.decode()


@pytest.mark.django_db(transaction=True)  # the WSGI handler closes the connection at the end of the request
def test_theme_under_a_script_prefix_links_inside_the_prefix(maintenance: MaintenanceSettings) -> None:
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"name": "Bean & Brew", "domain": "bean.example"})
    with project_theme(STATIC_URL="static/"):  # relative: Django puts the script prefix in front
        status, html = wsgi_get("/", "/shop", HTTP_ACCEPT_LANGUAGE="fr")

    assert status == 503
    assert '<a class="brand" href="/shop/"><img src="/shop/static/shop/logo.svg" alt="">Bean &amp; Brew</a>' in html
    assert '<link rel="stylesheet" href="/shop/static/shop/site.css">' in html
    assert '<a href="/shop/">Accueil</a> <a href="/shop/maintenance/status/">Statut</a>' in html


@pytest.mark.django_db(transaction=True)  # the async path reads the database from a worker thread
async def test_theme_is_rendered_with_the_request_in_the_async_path(async_client: AsyncClient) -> None:
    defaults = {"name": "Bean & Brew", "domain": "bean.example"}
    await sync_to_async(Site.objects.update_or_create)(pk=settings.SITE_ID, defaults=defaults)
    with project_theme(MAINTENANCE_MODE_STATE_TTL=600):
        state.store.publish(Snapshot(enabled=True, version=1))
        response = await async_client.get("/async/")
        again = await async_client.get("/async/")

    assert response.status_code == again.status_code == 503
    assert "<footer>Bean &amp; Brew · bean.example</footer>" in response.content.decode()
    assert again.content == response.content


def test_project_can_keep_such_a_theme_rendered_once_without_the_request(
    client: Client, maintenance: MaintenanceSettings, shop_site: Site
) -> None:
    with project_theme(MAINTENANCE_MODE_RENDER_WITH_REQUEST=False):
        html = closed_page(client)

    assert "<footer> · </footer>" in html  # no context processors: its variables are empty
    assert '<a class="brand" href="/"><img src="/static/shop/logo.svg" alt=""></a>' in html  # tags still work


def test_project_can_render_any_page_with_the_request(
    client: Client, maintenance: MaintenanceSettings, shop_site: Site
) -> None:
    with project_theme(MAINTENANCE_MODE_RENDER_WITH_REQUEST=True, MAINTENANCE_MODE_TEMPLATE="shop/include_theme.html"):
        html = closed_page(client)

    assert "<header>Bean &amp; Brew</header>" in html


@pytest.mark.parametrize(
    ("template", "with_request"),
    [
        ("shop/closed.html", False),  # extends the app's base, includes the app's icon
        ("base.html", False),  # extends and includes nothing
        ("shop/include_theme.html", True),  # includes a project partial
        ("shop/variable_base.html", True),  # extends whatever the context names
    ],
)
def test_page_is_rendered_with_the_request_only_when_the_template_uses_project_templates(
    template: str, with_request: bool
) -> None:
    with project_theme(MAINTENANCE_MODE_TEMPLATE=template):
        assert page.renders_with_request() is with_request


def test_theme_on_the_projects_base_is_rendered_with_the_request() -> None:
    with project_theme():
        assert page.renders_with_request()


def test_default_page_is_rendered_once_per_state() -> None:
    assert not page.renders_with_request()


@override_settings(
    TEMPLATES=[{"BACKEND": "tests.theme_project.PlainTemplates", "DIRS": [TESTS / "templates_plain"], "NAME": "plain"}]
)
def test_page_of_another_template_engine_is_rendered_once(maintenance: MaintenanceSettings) -> None:
    snapshot = state.store.current()
    assert not page.renders_with_request()
    assert page.page_bytes(snapshot) == f"Closed: {page.default_message()}\n".encode()


def test_cached_page_is_offered_without_io_only_once_decided_and_rendered(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    snapshot = state.store.current()
    assert page.cached_page_bytes(snapshot) is None  # not decided yet: deciding may load the template
    client.get("/")
    assert page.cached_page_bytes(snapshot) == client.get("/").content


def test_page_rendered_per_request_is_never_offered_from_the_cache(
    client: Client, maintenance: MaintenanceSettings, shop_site: Site
) -> None:
    with project_theme():
        closed_page(client)
        assert page.cached_page_bytes(state.store.current()) is None


def test_page_without_a_request_is_rendered_without_the_projects_context(
    maintenance: MaintenanceSettings, shop_site: Site
) -> None:
    """``manage.py maintenance render`` has no request: the page is rendered without one."""
    with project_theme():
        html = page.page_bytes(state.store.current()).decode()

    assert "<footer> · </footer>" in html
