"""The page, the JSON answer and the admin speak the visitor's language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import NamedTuple

import pytest
from django.test import Client, override_settings
from django.utils import timezone, translation

from maintenance_mode.models import MaintenanceSettings


class Expected(NamedTuple):
    title: str
    heading: str
    message: str
    button: str
    eta: str
    countdown: str
    indicator: str
    admin_section: str


EXPECTED = {
    "fr": Expected(
        title="En maintenance",
        heading="Nous serons bientôt de retour",
        message=(
            "Nous effectuons une maintenance programmée. Nous serons de retour très bientôt. Merci de votre patience."
        ),
        button="En savoir plus",
        eta="Retour prévu",
        countdown="Temps restant\u00a0: {time}",
        indicator="Le mode maintenance est activé",
        admin_section="Ce que voient les visiteurs",
    ),
    "de": Expected(
        title="Wartungsarbeiten",
        heading="Wir sind bald wieder da",
        message=(
            "Wir führen gerade geplante Wartungsarbeiten durch und sind in Kürze wieder für Sie da. "
            "Vielen Dank für Ihre Geduld."
        ),
        button="Weitere Informationen",
        eta="Voraussichtlich wieder erreichbar ab",
        countdown="Verbleibende Zeit: {time}",
        indicator="Der Wartungsmodus ist aktiv",
        admin_section="Was Besucher sehen",
    ),
    "es": Expected(
        title="En mantenimiento",
        heading="Volveremos pronto",
        message="Estamos realizando un mantenimiento programado. Volveremos en breve. Gracias por su paciencia.",
        button="Más información",
        eta="Regreso previsto",
        countdown="Tiempo restante: {time}",
        indicator="El modo de mantenimiento está activado",
        admin_section="Lo que ven los visitantes",
    ),
    "pt": Expected(
        title="Em manutenção",
        heading="Voltamos em breve",
        message="Estamos a realizar uma manutenção programada. Voltaremos em breve. Obrigado pela sua paciência.",
        button="Mais informações",
        eta="Regresso previsto",
        countdown="Tempo restante: {time}",
        indicator="O modo de manutenção está ativado",
        admin_section="O que os visitantes veem",
    ),
}
LANGUAGES = list(EXPECTED)


@pytest.fixture(autouse=True)
def _back_to_the_default_language() -> Iterator[None]:
    """The test client's requests leave their language active in this thread: reset it."""
    yield
    translation.deactivate()


@pytest.fixture
def maintenance_with_defaults(maintenance: MaintenanceSettings) -> MaintenanceSettings:
    """On, with a button and an end, and no message or button text of its own."""
    maintenance.bypass_url = "https://status.example.com"
    maintenance.ends_at = timezone.now() + timedelta(hours=2)
    maintenance.save()
    return maintenance


def assert_page_in(language: str, html: str) -> None:
    expected = EXPECTED[language]
    assert f'<html lang="{language}">' in html
    assert f"<title>{expected.title}</title>" in html
    assert f"<h1>{expected.heading}</h1>" in html
    assert f'<p class="mm-message">{expected.message}</p>' in html
    assert f'<a class="mm-button" href="https://status.example.com">{expected.button}<svg' in html
    assert f'<span class="mm-eta-label">{expected.eta}</span>' in html
    assert f'data-mm-template="{expected.countdown}"' in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_page_follows_the_accept_language_header(
    client: Client, maintenance_with_defaults: MaintenanceSettings, language: str
) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=f"{language};q=1, en;q=0.5")

    assert response.status_code == 503
    assert response["Content-Language"] == language
    assert_page_in(language, response.content.decode())


@pytest.mark.parametrize("language", LANGUAGES)
def test_page_falls_back_to_the_site_language(
    client: Client, maintenance_with_defaults: MaintenanceSettings, language: str
) -> None:
    with override_settings(LANGUAGE_CODE=language):
        response = client.get("/")

    assert_page_in(language, response.content.decode())


@pytest.mark.parametrize("language", LANGUAGES)
def test_json_default_message_follows_the_accept_language_header(
    client: Client, maintenance: MaintenanceSettings, language: str
) -> None:
    response = client.get("/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 503
    assert response.json()["message"] == EXPECTED[language].message


@pytest.mark.parametrize("language", LANGUAGES)
def test_json_default_message_falls_back_to_the_site_language(
    client: Client, maintenance: MaintenanceSettings, language: str
) -> None:
    with override_settings(LANGUAGE_CODE=language):
        response = client.get("/api/items/")

    assert response.json()["message"] == EXPECTED[language].message


def test_administrators_own_message_and_button_text_are_shown_as_typed(
    client: Client, maintenance_with_defaults: MaintenanceSettings
) -> None:
    maintenance_with_defaults.message = "Wir ziehen um."
    maintenance_with_defaults.button_text = "Statusseite"
    maintenance_with_defaults.save()

    html = client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert '<p class="mm-message">Wir ziehen um.</p>' in html
    assert ">Statusseite<svg" in html
    assert "<h1>Nous serons bientôt de retour</h1>" in html


def test_page_is_in_english_by_default(client: Client, maintenance_with_defaults: MaintenanceSettings) -> None:
    html = client.get("/").content.decode()

    assert '<html lang="en">' in html
    assert "<h1>We’ll be back soon</h1>" in html
    assert "We are performing scheduled maintenance." in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_indicator_and_admin_speak_the_administrators_language(
    staff_client: Client, maintenance: MaintenanceSettings, language: str
) -> None:
    site = staff_client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    admin = staff_client.get(
        f"/admin/maintenance_mode/maintenancesettings/{maintenance.pk}/change/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()

    assert EXPECTED[language].indicator in site
    assert EXPECTED[language].admin_section in admin
