"""Regression tests for the findings of the outside security review (issue #9).

Each test names the situation an attacker (or an unlucky deployment) set up.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import CommandError, call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.urls import set_script_prefix
from django.utils import timezone

from maintenance_mode import bypass, middleware, validators
from maintenance_mode.conf import conf
from maintenance_mode.middleware import MaintenanceModeMiddleware
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.rules import rules
from tests.headers import cache_directives

pytestmark = pytest.mark.django_db

# An admin change form that changes nothing (the split date and time widgets included).
ADMIN_FORM = {
    "mode": "full",
    **{field: "" for field in ("message", "image_url", "icon", "button_text", "bypass_url", "allowed_ips")},
    **{f"{field}_{part}": "" for field in ("starts_at", "ends_at") for part in (0, 1)},
    "bypass_secret": "",
}


@pytest.fixture(autouse=True)
def _fresh_rules() -> Iterator[None]:
    """The rules are compiled once per process: each test starts from "not compiled yet"."""
    rules.cache_clear()
    yield
    rules.cache_clear()
    set_script_prefix("/")


def wsgi_get(path: str, script_name: str = "") -> tuple[int, bytes]:
    """One request through Django's real WSGI handler (the test client sets no script prefix):
    its status and body."""
    environ: dict[str, object] = {"PATH_INFO": path, "SCRIPT_NAME": script_name, "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    environ["SERVER_NAME"] = "testserver"
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        statuses.append(status)
        return lambda data: None

    # As Django's test client does: a real handler would close the test's
    # database connection at the end of the request, in the middle of the
    # test's transaction (PostgreSQL; SQLite's in-memory one stays open).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, start_response)
        body = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(statuses[0].split()[0]), body


def wsgi_status(path: str, script_name: str = "") -> int:
    return wsgi_get(path, script_name)[0]


# What tests/urls.py serves for /static/app.css and /media/upload.txt: an exempt path gets the file itself.
APP_CSS = (200, b"body { color: #222; }\n")
UPLOAD_TXT = (200, b"A customer upload.\n")


# Finding 1: a SCRIPT_NAME header turned the static/media exemption into a full bypass.


def test_script_name_header_naming_the_static_prefix_does_not_open_the_live_site(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    # gunicorn turns a "SCRIPT_NAME: /static" header into the environ's SCRIPT_NAME:
    # request.path is then /static/ while Django routes "/" (the live home page).
    response = client.get("/", SCRIPT_NAME="/static")
    assert response.status_code == 503


def test_script_name_naming_the_static_prefix_does_not_open_the_live_site_through_wsgi(
    maintenance: MaintenanceSettings,
) -> None:
    assert wsgi_status("/", script_name="/static") == 503
    assert wsgi_get("/media/upload.txt", script_name="/static") == UPLOAD_TXT  # still the media exemption


@override_settings(STATIC_URL="static/")
def test_first_request_script_prefix_is_not_kept_for_the_worker_lifetime(maintenance: MaintenanceSettings) -> None:
    assert wsgi_status("/", script_name="/zzz") == 503  # the first request this worker handles
    assert wsgi_get("/static/app.css") == APP_CSS
    assert wsgi_get("/static/app.css", script_name="/shop") == APP_CSS


@override_settings(STATIC_URL="static/", MEDIA_URL="media/")
def test_relative_static_url_is_exempt_under_a_script_name_set_by_the_server(
    maintenance: MaintenanceSettings,
) -> None:
    assert wsgi_get("/static/app.css", script_name="/shop") == APP_CSS
    assert wsgi_get("/media/upload.txt", script_name="/shop") == UPLOAD_TXT
    assert wsgi_status("/orders/", script_name="/shop") == 503


# Finding 2: under a script prefix, an empty MEDIA_URL (startproject's default) exempted every path.


@override_settings(FORCE_SCRIPT_NAME="/shop", STATIC_URL="static/", MEDIA_URL="")
def test_empty_media_url_under_force_script_name_exempts_nothing(maintenance: MaintenanceSettings) -> None:
    set_script_prefix("/shop")  # what django.setup() does with FORCE_SCRIPT_NAME
    assert wsgi_status("/") == 503
    assert wsgi_status("/orders/") == 503
    assert wsgi_get("/static/app.css") == APP_CSS


@override_settings(STATIC_URL="static/", MEDIA_URL="")
def test_empty_media_url_under_a_server_script_name_exempts_nothing(maintenance: MaintenanceSettings) -> None:
    assert wsgi_status("/", script_name="/shop") == 503
    assert wsgi_status("/orders/", script_name="/shop") == 503


@override_settings(FORCE_SCRIPT_NAME="/shop", STATIC_URL=None, MEDIA_URL=None)
def test_unset_static_and_media_urls_under_a_prefix_exempt_nothing(maintenance: MaintenanceSettings) -> None:
    set_script_prefix("/shop")
    assert wsgi_status("/") == 503
    assert wsgi_status("/static/x.css") == 503


@override_settings(FORCE_SCRIPT_NAME="/shop", STATIC_URL="/shop/static/", MEDIA_URL="/shop/media/")
def test_absolute_static_url_including_force_script_name_is_exempt(maintenance: MaintenanceSettings) -> None:
    set_script_prefix("/shop")
    assert wsgi_get("/static/app.css") == APP_CSS
    assert wsgi_get("/media/upload.txt") == UPLOAD_TXT
    assert wsgi_status("/orders/") == 503
    assert rules().open_prefixes == ("/static/", "/media/")  # in path_info terms, what Django routes on


def test_force_script_name_prefix_of_the_static_url_is_only_stripped_at_a_segment() -> None:
    with override_settings(FORCE_SCRIPT_NAME="/sh", STATIC_URL="/shop/static/", MEDIA_URL="/sh/"):
        assert rules().open_prefixes == ("/shop/static/",)  # "/sh/" is the whole mount: not a media prefix


# Finding 4: the badge broke HTML pages that are not UTF-8.


def staff_request(staff_user: User) -> HttpRequest:
    request = RequestFactory().get("/")
    request.user = staff_user
    request.COOKIES[settings.SESSION_COOKIE_NAME] = "present"  # logged in: the user is looked at
    return request


def test_badge_on_an_ascii_page_is_escaped_not_a_500(staff_user: User, maintenance: MaintenanceSettings) -> None:
    page = "<html><body>live</body></html>"
    middleware = MaintenanceModeMiddleware(
        lambda request: HttpResponse(page, content_type="text/html; charset=us-ascii")
    )
    response = middleware(staff_request(staff_user))
    body = response.content.decode("ascii")  # still pure ASCII: the "·" became a character reference
    assert "live" in body
    assert "&#183;" in body
    assert body.endswith("</body></html>")


def test_badge_leaves_a_page_in_an_unknown_charset_alone(staff_user: User, maintenance: MaintenanceSettings) -> None:
    page = b"<html><body>live</body></html>"
    middleware = MaintenanceModeMiddleware(lambda request: HttpResponse(page, content_type="text/html; charset=x-nope"))
    response = middleware(staff_request(staff_user))
    assert response.status_code == 200
    assert response.content == page
    assert "private" in cache_directives(response)


@override_settings(DEFAULT_CHARSET="iso-8859-1")
def test_badge_on_a_latin_1_site_is_encoded_in_latin_1(staff_client: Client, maintenance: MaintenanceSettings) -> None:
    response = staff_client.get("/")
    assert response.status_code == 200
    assert "Maintenance" in response.content.decode("iso-8859-1")


# Finding 5: malformed bracketed URLs were a ValueError (a 500 in the admin, a traceback in the command).


@pytest.mark.parametrize(
    "url", ["http://[::1", "https://[x]/", "https://[::1]x/", "http://example.com:port/", "http://]/", "http://:80/"]
)
def test_malformed_urls_are_a_validation_error(url: str) -> None:
    with pytest.raises(ValidationError) as error:
        validators.validate_safe_url(url)
    assert error.value.code == "invalid_url"


@pytest.mark.parametrize("url", ["https://[::1]/status", "http://[2001:db8::7]:8080/", "https://example.com:8443/x"])
def test_bracketed_ipv6_and_ports_are_accepted(url: str) -> None:
    validators.validate_safe_url(url)


@pytest.mark.parametrize(("option", "field"), [("--image-url", "image_url"), ("--button-url", "bypass_url")])
def test_command_refuses_a_malformed_bracketed_url_clearly(option: str, field: str) -> None:
    with pytest.raises(CommandError) as error:
        call_command("maintenance", "on", option, "http://[::1", stdout=io.StringIO())
    assert f"{field}: This URL is malformed" in str(error.value)
    assert not MaintenanceSettings.load().enabled


def test_admin_refuses_a_malformed_bracketed_url_with_a_form_error(staff_client: Client) -> None:
    change = "/admin/maintenance_mode/maintenancesettings/1/change/"
    MaintenanceSettings.load()
    response = staff_client.post(change, {**ADMIN_FORM, "image_url": "http://[::1", "bypass_url": "https://[x]/"})
    assert response.status_code == 200  # the form again, with its errors
    assert response.content.count(b"This URL is malformed") == 2


# Finding 3: Accept headers cost CPU and memory without bound.

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def hostile_accept(seed: int) -> str:
    """What gunicorn hands Django for 95 repeated 8 KB Accept lines: one joined, huge header."""
    line = f"application/x-{seed}-" + "a" * 8000 + ";q=0.1"
    return ",".join([line] * 95) + ",application/json"


@pytest.fixture
def parsed_accept_headers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every Accept header Django's negotiation is asked to parse (the real parser still runs)."""
    seen: list[str] = []
    original = HttpRequest.get_preferred_type

    def recording(self: HttpRequest, media_types: Any) -> str | None:
        seen.append(self.META["HTTP_ACCEPT"])
        return original(self, media_types)

    monkeypatch.setattr(HttpRequest, "get_preferred_type", recording)
    middleware._prefers_json.cache_clear()
    yield seen
    middleware._prefers_json.cache_clear()


def test_huge_accept_header_is_cut_before_it_is_parsed(
    client: Client, maintenance: MaintenanceSettings, parsed_accept_headers: list[str]
) -> None:
    response = client.get("/", HTTP_ACCEPT=hostile_accept(0))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")  # the JSON range came after the cut
    assert parsed_accept_headers
    assert all(len(header) <= middleware.ACCEPT_PARSED_CHARS for header in parsed_accept_headers)
    assert all(header.count(",") < middleware.ACCEPT_PARSED_RANGES for header in parsed_accept_headers)


def test_distinct_huge_accept_headers_share_bounded_cache_entries(
    client: Client, maintenance: MaintenanceSettings, parsed_accept_headers: list[str]
) -> None:
    for seed in range(300):  # distinct only beyond what is parsed: one entry
        client.get("/", HTTP_ACCEPT="text/html," + "b" * 600 + str(seed))
    assert middleware._prefers_json.cache_info().currsize == 1
    for seed in range(300):  # distinct within it: the cache stops at its size, each key short
        client.get("/", HTTP_ACCEPT=hostile_accept(seed))
    info = middleware._prefers_json.cache_info()
    assert info.maxsize is not None
    assert info.currsize <= info.maxsize
    assert max(len(header) for header in parsed_accept_headers) <= middleware.ACCEPT_PARSED_CHARS


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        (BROWSER_ACCEPT, False),
        ("application/json, text/plain, */*", True),
        ("Application/JSON", True),
        ("text/html;q=0.5, application/json", True),
        ("*/*", False),
        ("", False),
    ],
)
def test_ordinary_accept_headers_are_negotiated_as_before(
    client: Client, maintenance: MaintenanceSettings, accept: str, json: bool
) -> None:
    response = client.get("/", HTTP_ACCEPT=accept)
    assert response["Content-Type"].startswith("application/json" if json else "text/html")


# Finding 10: live pages served to allowed IPs stayed publicly cacheable.


def publicly_cacheable_page(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("<html><body>live</body></html>")
    response["Cache-Control"] = "public, max-age=3600"
    return response


async def async_publicly_cacheable_page(request: HttpRequest) -> HttpResponse:
    return publicly_cacheable_page(request)


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["198.51.100.7"])
def test_live_page_for_an_allowed_ip_is_private_during_maintenance(maintenance: MaintenanceSettings) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    response = MaintenanceModeMiddleware(publicly_cacheable_page)(request)
    assert response.status_code == 200
    assert cache_directives(response) == {"private", "max-age=3600"}


@pytest.mark.django_db(transaction=True)  # async code reaches the database from another thread
@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["198.51.100.7"])
async def test_async_live_page_for_an_allowed_ip_is_private_during_maintenance(
    maintenance: MaintenanceSettings,
) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    response = await MaintenanceModeMiddleware(async_publicly_cacheable_page)(request)
    assert response.status_code == 200
    assert cache_directives(response) == {"private", "max-age=3600"}


def test_live_page_for_a_bypass_cookie_holder_is_private(maintenance: MaintenanceSettings) -> None:
    maintenance.bypass_secret = "kT3-vQ9_xLm2Rb7w"
    maintenance.save()
    request = RequestFactory().get("/")
    request.COOKIES[conf.BYPASS_COOKIE_NAME] = bypass.make_cookie_value(maintenance.bypass_secret)
    response = MaintenanceModeMiddleware(publicly_cacheable_page)(request)
    assert response.status_code == 200
    assert "public" not in cache_directives(response)
    assert "private" in cache_directives(response)


@override_settings(MAINTENANCE_MODE_SHOW_INDICATOR=False)
def test_live_page_for_an_administrator_is_private_even_without_the_badge(
    staff_user: User, maintenance: MaintenanceSettings
) -> None:
    response = MaintenanceModeMiddleware(publicly_cacheable_page)(staff_request(staff_user))
    assert cache_directives(response) == {"private", "max-age=3600"}


def test_exempt_paths_keep_their_own_caching(maintenance: MaintenanceSettings) -> None:
    # The same for everyone, maintenance or not: a CDN may keep it.
    response = MaintenanceModeMiddleware(publicly_cacheable_page)(RequestFactory().get("/health"))
    assert cache_directives(response) == {"public", "max-age=3600"}


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["198.51.100.7"])
def test_allowed_ip_keeps_public_caching_when_maintenance_is_off(db: None) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    response = MaintenanceModeMiddleware(publicly_cacheable_page)(request)
    assert cache_directives(response) == {"public", "max-age=3600"}


# Finding 6: the status endpoint published drafts.

NOTHING_ANNOUNCED = {
    "maintenance": False,
    "read_only": False,
    "message": None,
    "starts_at": None,
    "ends_at": None,
    "retry_after": None,
}


def status_body(client: Client) -> dict[str, Any]:
    response = client.get("/maintenance/status/")
    assert response.status_code == 200
    body: dict[str, Any] = json.loads(response.content)
    return body


def save_row(**fields: Any) -> MaintenanceSettings:
    row = MaintenanceSettings.load()
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def test_status_endpoint_does_not_publish_a_disabled_draft(client: Client) -> None:
    start = timezone.now() + timedelta(days=20)
    save_row(
        enabled=False, message="Draft: we move to the new provider", starts_at=start, ends_at=start + timedelta(hours=2)
    )
    assert status_body(client) == NOTHING_ANNOUNCED


def test_status_endpoint_does_not_publish_a_window_beyond_the_banner_lead_time(client: Client) -> None:
    start = timezone.now() + timedelta(days=20)
    save_row(enabled=True, message="Planned move", starts_at=start, ends_at=start + timedelta(hours=2))
    assert status_body(client) == NOTHING_ANNOUNCED


def test_status_endpoint_publishes_a_window_inside_the_banner_lead_time(client: Client) -> None:
    start = timezone.now() + timedelta(days=2)
    save_row(enabled=True, message="Planned move", starts_at=start, ends_at=start + timedelta(hours=2))
    body = status_body(client)
    assert body["maintenance"] is False
    assert body["message"] == "Planned move"
    assert body["starts_at"] == start.astimezone(dt_timezone.utc).isoformat()


def test_status_endpoint_forgets_the_message_after_maintenance_off(client: Client) -> None:
    call_command("maintenance", "on", "--message", "Emergency: payments are down", stdout=io.StringIO())
    assert status_body(client)["message"] == "Emergency: payments are down"
    call_command("maintenance", "off", stdout=io.StringIO())
    assert status_body(client) == NOTHING_ANNOUNCED


# Finding 7: bypass links survived into later windows; weak secrets were accepted.


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("maintenance", *args, stdout=out)
    return out.getvalue()


def test_with_secret_generates_a_fresh_secret_every_time() -> None:
    command("on", "--with-secret")
    first = MaintenanceSettings.load().bypass_secret
    command("on", "--with-secret")
    second = MaintenanceSettings.load().bypass_secret
    assert first
    assert second
    assert first != second
    validators.validate_secret(second)


def test_link_and_cookie_of_one_window_do_not_open_the_next(client: Client) -> None:
    command("on", "--with-secret")
    old_secret = MaintenanceSettings.load().bypass_secret
    assert client.get(f"/{old_secret}").status_code == 302  # the browser now holds the cookie
    assert client.get("/").status_code == 200
    command("off")
    assert MaintenanceSettings.load().bypass_secret == ""  # ending maintenance forgets the secret
    command("on")
    assert client.get("/").status_code == 503  # the old cookie
    assert client.get(f"/{old_secret}").status_code == 503  # the old link
    command("on", "--with-secret")
    assert client.get("/").status_code == 503
    assert client.get(f"/{old_secret}").status_code == 503


def test_a_window_that_ended_by_its_end_time_does_not_hand_its_secret_to_the_next(client: Client) -> None:
    save_row(enabled=True, bypass_secret="kT3-vQ9_xLm2Rb7w", ends_at=timezone.now() - timedelta(minutes=1))
    command("on", "--for", "1h")
    assert MaintenanceSettings.load().bypass_secret == ""
    assert client.get("/kT3-vQ9_xLm2Rb7w").status_code == 503


def test_a_secret_given_with_the_new_window_is_kept() -> None:
    command("on", "--secret", "kT3-vQ9_xLm2Rb7w")
    command("off")
    command("on", "--secret", "kT3-vQ9_xLm2Rb7w")  # given again on purpose: its links work again
    assert MaintenanceSettings.load().bypass_secret == "kT3-vQ9_xLm2Rb7w"


def test_updating_a_running_window_keeps_its_secret() -> None:
    command("on", "--secret", "kT3-vQ9_xLm2Rb7w")
    command("on", "--message", "Still upgrading")
    assert MaintenanceSettings.load().bypass_secret == "kT3-vQ9_xLm2Rb7w"


def test_switching_off_in_the_admin_revokes_the_links(staff_client: Client) -> None:
    change = "/admin/maintenance_mode/maintenancesettings/1/change/"
    save_row(enabled=True, bypass_secret="kT3-vQ9_xLm2Rb7w")
    response = staff_client.post(change, {**ADMIN_FORM, "bypass_secret": "kT3-vQ9_xLm2Rb7w"})
    assert response.status_code == 302
    row = MaintenanceSettings.load()
    assert not row.enabled
    assert row.bypass_secret == ""


@pytest.mark.parametrize(
    "secret", ["aaaaaaaaaaaa", "abababababababab", "abc123abc123abc123", "0000-0000-0000", "short-x9"]
)
def test_weak_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValidationError) as error:
        validators.validate_secret(secret)
    assert error.value.code in ("invalid_secret", "weak_secret")


@pytest.mark.parametrize("secret", ["kT3-vQ9_xLm2Rb7w", "preview-2024-x9", "letmein-7Qx2-preview"])
def test_ordinary_secrets_are_accepted(secret: str) -> None:
    validators.validate_secret(secret)


def test_command_and_admin_refuse_a_repetitive_secret_with_the_same_words(staff_client: Client) -> None:
    with pytest.raises(CommandError) as error:
        command("on", "--secret", "aaaaaaaaaaaa")
    assert "bypass_secret: The secret is too easy to guess" in str(error.value)
    assert MaintenanceSettings.load().bypass_secret == ""
    change = "/admin/maintenance_mode/maintenancesettings/1/change/"
    response = staff_client.post(change, {**ADMIN_FORM, "enabled": "on", "bypass_secret": "aaaaaaaaaaaa"})
    assert response.status_code == 200
    assert b"The secret is too easy to guess" in response.content
    assert MaintenanceSettings.load().bypass_secret == ""


def test_switching_off_with_update_fields_also_forgets_the_secret() -> None:
    row = save_row(enabled=True, bypass_secret="kT3-vQ9_xLm2Rb7w")
    row.enabled = False
    row.save(update_fields=["enabled"])
    assert MaintenanceSettings.load().bypass_secret == ""


def test_a_secret_prepared_while_maintenance_is_off_is_kept_for_the_next_window() -> None:
    save_row(enabled=False, bypass_secret="kT3-vQ9_xLm2Rb7w")
    command("on")
    assert MaintenanceSettings.load().bypass_secret == "kT3-vQ9_xLm2Rb7w"


# Finding 8: view-only staff read the bypass secret on the change page.

SECRET_SHOWN = "kT3-vQ9_xLm2Rb7w"


def staff_allowed_to(*codenames: str) -> Client:
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def test_view_only_staff_see_neither_the_secret_nor_the_bypass_link(db: None) -> None:
    save_row(enabled=True, bypass_secret=SECRET_SHOWN)
    response = staff_allowed_to("view_maintenancesettings").get("/admin/maintenance_mode/maintenancesettings/1/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert SECRET_SHOWN not in content
    assert "Bypass link:" not in content
    assert "A random secret you could use" not in content
    assert "bypass secret" in content.lower()  # the row says a secret is set, without it
    assert "••••••" in content


def test_staff_who_may_change_the_settings_see_the_secret_and_the_link(db: None) -> None:
    save_row(enabled=True, bypass_secret=SECRET_SHOWN)
    client = staff_allowed_to("view_maintenancesettings", "change_maintenancesettings")
    content = client.get("/admin/maintenance_mode/maintenancesettings/1/change/").content.decode()
    assert f'value="{SECRET_SHOWN}"' in content
    assert f"/{SECRET_SHOWN}</code>" in content


# Finding 13: "maintenance on" did not turn maintenance on while a window was scheduled.


def schedule_window(hours_ahead: int = 1, hours_long: int = 1) -> tuple[datetime, datetime]:
    start = timezone.now() + timedelta(hours=hours_ahead)
    end = start + timedelta(hours=hours_long)
    command("on", "--start", start.isoformat(), "--end", end.isoformat())
    assert "SCHEDULED" in command("status")
    return start, end


def test_plain_on_during_a_scheduled_window_starts_now(client: Client) -> None:
    _start, end = schedule_window()
    output = command("on")
    assert "Maintenance mode: ON" in output
    row = MaintenanceSettings.load()
    assert row.starts_at is None  # now
    assert row.ends_at == end  # the planned end is kept, and shown
    assert "ends:" in output
    assert client.get("/").status_code == 503


def test_on_for_during_a_scheduled_window_counts_from_now() -> None:
    schedule_window()
    before = timezone.now()
    output = command("on", "--for", "90m")
    row = MaintenanceSettings.load()
    assert row.starts_at is None
    assert row.ends_at is not None
    assert before + timedelta(minutes=90) <= row.ends_at <= timezone.now() + timedelta(minutes=90)
    assert "Maintenance mode: ON" in output
    assert "(in 1h29m)" in output or "(in 1h30m)" in output


def test_on_for_with_a_start_counts_from_that_start() -> None:
    schedule_window()
    start = timezone.now() + timedelta(hours=3)
    command("on", "--start", start.isoformat(), "--for", "2h")
    row = MaintenanceSettings.load()
    assert row.starts_at == start
    assert row.ends_at == start + timedelta(hours=2)
    assert "SCHEDULED" in command("status")


def test_on_for_with_a_past_start_counts_from_that_start() -> None:
    start = timezone.now() - timedelta(minutes=30)
    command("on", "--start", start.isoformat(), "--for", "1h")
    assert MaintenanceSettings.load().ends_at == start + timedelta(hours=1)


def test_updating_a_running_window_keeps_its_start() -> None:
    start = timezone.now() - timedelta(minutes=5)
    command("on", "--start", start.isoformat(), "--for", "1h")
    command("on", "--message", "Still upgrading")
    row = MaintenanceSettings.load()
    assert row.starts_at == start
    assert row.ends_at == start + timedelta(hours=1)


# Finding 11: with signed-cookie sessions, "deleted server-side" cannot happen.

SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"


def check_ids(**overrides: Any) -> list[str]:
    with override_settings(**overrides):
        messages = run_checks(databases=[])
    return [message.id for message in messages if message.id and message.id.startswith("maintenance_mode")]


def test_signed_cookie_sessions_get_a_warning_that_logout_cannot_revoke_them() -> None:
    assert check_ids(SESSION_ENGINE=SIGNED_COOKIES) == ["maintenance_mode.W005"]
    with override_settings(SESSION_ENGINE=SIGNED_COOKIES):
        (warning,) = [message for message in run_checks(databases=[]) if message.id == "maintenance_mode.W005"]
    assert "signed_cookies" in warning.msg
    assert warning.hint is not None
    assert "LOGOUT_USERS" in warning.hint


def test_signed_cookie_sessions_without_logging_users_out_get_no_warning() -> None:
    assert check_ids(SESSION_ENGINE=SIGNED_COOKIES, MAINTENANCE_MODE_LOGOUT_USERS=False) == []


@pytest.mark.parametrize("engine", ["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cache"])
def test_server_side_sessions_get_no_warning(engine: str) -> None:
    assert check_ids(SESSION_ENGINE=engine) == []


# Finding 9: a request.urlconf set by a middleware placed after this one broke the admin exemption.

URLCONF_CHOSEN_LATER = [*settings.MIDDLEWARE, "tests.middleware.ShopUrlconfMiddleware"]
ASYNC_URLCONF_CHOSEN_LATER = [*settings.MIDDLEWARE, "tests.middleware.AsyncShopUrlconfMiddleware"]


@override_settings(MIDDLEWARE=URLCONF_CHOSEN_LATER)
def test_admin_path_of_the_root_urlconf_is_blocked_when_a_later_middleware_routes_it_elsewhere(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    response = client.get("/admin/orders/")  # the admin in ROOT_URLCONF, the shop in the request's urlconf
    assert response.status_code == 503
    assert b"Shop page" not in response.content


@override_settings(MIDDLEWARE=URLCONF_CHOSEN_LATER)
def test_exempt_view_of_the_root_urlconf_is_blocked_when_a_later_middleware_routes_it_elsewhere(
    customer_client: Client, maintenance: MaintenanceSettings
) -> None:
    response = customer_client.get("/exempt-view/")
    assert response.status_code == 503
    assert "_auth_user_id" not in customer_client.session  # blocked as a customer is: logged out


@override_settings(MIDDLEWARE=URLCONF_CHOSEN_LATER)
def test_path_exemptions_do_not_depend_on_the_urlconf(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/health").status_code == 404  # exempt, then not found in the shop's urlconf


@pytest.mark.django_db(transaction=True)  # async code reaches the database from another thread
@override_settings(MIDDLEWARE=ASYNC_URLCONF_CHOSEN_LATER)
async def test_async_admin_path_is_blocked_when_a_later_middleware_routes_it_elsewhere(
    async_client: AsyncClient, maintenance: MaintenanceSettings
) -> None:
    response = await async_client.get("/admin/orders/")
    assert response.status_code == 503


def test_admin_stays_exempt_when_the_urlconf_is_chosen_before_this_middleware(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    before = list(settings.MIDDLEWARE)
    before.insert(
        before.index("maintenance_mode.middleware.MaintenanceModeMiddleware"), "tests.middleware.ShopUrlconfMiddleware"
    )
    with override_settings(MIDDLEWARE=before):
        assert client.get("/backoffice/login/").status_code == 200
        assert client.get("/admin/orders/").status_code == 503
