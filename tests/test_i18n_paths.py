"""EXEMPT_PATHS and JSON_PATHS on a site with LocaleMiddleware and i18n_patterns():
a pattern matches the path as it is, or without its language prefix, so
``/health`` also covers ``/fr/health`` and ``/de/health``."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from maintenance_mode.rules import rules

pytestmark = pytest.mark.usefixtures("maintenance")
i18n_site = override_settings(ROOT_URLCONF="tests.urls_i18n_paths")


@i18n_site
@pytest.mark.parametrize("path", ["/en/health", "/fr/health", "/de/health", "/pt/health"])
def test_exempt_path_matches_in_every_language(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == b"ok"


@i18n_site
def test_exempt_glob_matches_below_a_language_prefix(client: Client) -> None:
    assert client.post("/fr/api/webhooks/stripe").status_code == 200


@i18n_site
def test_other_pages_under_a_language_prefix_get_the_page_in_that_language(client: Client) -> None:
    response = client.get("/fr/")
    assert response.status_code == 503
    assert '<html lang="fr"' in response.content.decode()


@i18n_site
def test_a_prefix_that_is_no_language_of_the_site_is_kept(client: Client) -> None:
    assert client.get("/it/health").status_code == 503  # "it" is not in LANGUAGES
    assert client.get("/frhealth").status_code == 503


@i18n_site
@override_settings(MAINTENANCE_MODE_EXEMPT_PATHS=["/fr/health"])
def test_a_pattern_with_a_language_prefix_matches_that_language_only(client: Client) -> None:
    assert client.get("/fr/health").status_code == 200
    assert client.get("/de/health").status_code == 503


@i18n_site
def test_json_paths_match_below_a_language_prefix(client: Client) -> None:
    response = client.get("/fr/api/reports/", HTTP_ACCEPT="*/*")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert client.get("/api/items/", HTTP_ACCEPT="*/*")["Content-Type"] == "application/json"


@i18n_site
@override_settings(LANGUAGES=[("en", "English"), ("pt", "Portuguese"), ("pt-br", "Brazilian Portuguese")])
def test_longer_language_codes_are_recognised_whole() -> None:
    compiled = rules()
    assert compiled.path_matches(compiled.exempt_paths, "/pt-br/health")
    assert compiled.path_matches(compiled.exempt_paths, "/pt/health")


def test_without_i18n_patterns_a_language_like_prefix_is_an_ordinary_path(client: Client) -> None:
    assert rules().language_prefix is None
    assert client.get("/fr/health").status_code == 503


@i18n_site
@override_settings(USE_I18N=False)
def test_without_i18n_no_prefix_is_removed() -> None:
    assert rules().language_prefix is None


@override_settings(ROOT_URLCONF="tests.urls_i18n_paths_unprefixed_default")
@pytest.mark.parametrize("path", ["/health", "/fr/health", "/de/health"])
def test_exempt_path_matches_in_every_language_when_the_default_one_has_no_prefix(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == b"ok"
