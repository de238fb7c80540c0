"""Read-only maintenance: everyone reads the live site, visitors' changes get the 503."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.models import Session
from django.template import Context, Template
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.utils import timezone

from maintenance_mode import bypass
from maintenance_mode.context_processors import maintenance as maintenance_context
from maintenance_mode.middleware import Verdict, decide
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.snapshot import Snapshot
from tests.headers import cache_directives

UTC = dt_timezone.utc  # datetime.UTC is Python 3.11+

pytestmark = pytest.mark.django_db

NOT_SAVED = b"Your change was not saved"
NOTICE = b'id="maintenance-mode-read-only"'


def switch_read_only(**fields: object) -> MaintenanceSettings:
    row = MaintenanceSettings.load()
    row.enabled = True
    row.mode = MaintenanceSettings.Mode.READ_ONLY
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


@pytest.fixture
def read_only(db: None) -> MaintenanceSettings:
    return switch_read_only()


# Reads


def test_anonymous_visitor_reads_the_live_site_with_the_notice(client: Client, read_only: MaintenanceSettings) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"Live site" in response.content
    assert NOTICE in response.content
    assert b"you can browse as usual, but changes cannot be saved for now." in response.content
    # At the top of the page, in its flow: a fixed bar would cover the page's own buttons.
    assert response.content.index(NOTICE) < response.content.index(b"Live site")
    assert "private" not in cache_directives(response)  # the same page for everyone


@pytest.mark.parametrize("method", ["head", "options"])
def test_head_and_options_reach_the_live_site(client: Client, read_only: MaintenanceSettings, method: str) -> None:
    assert getattr(client, method)("/").status_code == 200


def test_notice_gives_the_end_in_the_site_time_zone(client: Client) -> None:
    end = timezone.now() + timedelta(hours=2)
    switch_read_only(ends_at=end)
    local = timezone.localtime(end)
    content = client.get("/").content.decode()
    assert "changes cannot be saved until" in content
    assert f" {local.tzname()}." in content  # CET or CEST: the tests run in Europe/Paris


def test_notice_names_the_date_when_the_end_is_another_day(client: Client) -> None:
    switch_read_only(ends_at=datetime(2100, 1, 2, 17, 30, tzinfo=UTC))
    with mock.patch("maintenance_mode.page.timezone.localdate", return_value=datetime(2100, 1, 1).date()):
        content = client.get("/").content.decode()
    assert "until Jan. 2, 2100, 6:30 p.m. CET." in content


def test_notice_on_the_day_of_the_end_gives_only_the_time(client: Client) -> None:
    switch_read_only(ends_at=datetime(2100, 1, 2, 17, 30, tzinfo=UTC))
    with mock.patch("maintenance_mode.page.timezone.localdate", return_value=datetime(2100, 1, 2).date()):
        content = client.get("/").content.decode()
    assert "until 6:30 p.m. CET." in content


@override_settings(DEBUG=True)
def test_notice_is_rendered_every_time_while_debugging(client: Client, read_only: MaintenanceSettings) -> None:
    assert NOTICE in client.get("/").content


@override_settings(MAINTENANCE_MODE_SHOW_READ_ONLY_NOTICE=False)
def test_notice_can_be_switched_off(client: Client, read_only: MaintenanceSettings) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert NOTICE not in response.content


@pytest.mark.parametrize("path", ["/no-body/", "/api/items/", "/streaming/"])
def test_notice_leaves_fragments_json_and_streams_alone(
    client: Client, read_only: MaintenanceSettings, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    assert NOTICE not in body


def test_notice_keeps_content_length_right(read_only: MaintenanceSettings) -> None:
    from django.http import HttpResponse

    from maintenance_mode.middleware import MaintenanceModeMiddleware

    def view(request: object) -> HttpResponse:
        response = HttpResponse("<html><body class='shop'><p>x</p></body></html>")
        response["Content-Length"] = str(len(response.content))
        return response

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    response = MaintenanceModeMiddleware(view)(request)
    assert b"<body class='shop'><aside" in response.content
    assert response["Content-Length"] == str(len(response.content))


def test_page_without_an_opening_body_tag_is_left_alone(read_only: MaintenanceSettings) -> None:
    from django.http import HttpResponse

    from maintenance_mode.middleware import MaintenanceModeMiddleware

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    response = MaintenanceModeMiddleware(lambda request: HttpResponse("<p>x</p></body>"))(request)
    assert response.content == b"<p>x</p></body>"


def test_logged_in_customer_keeps_the_session_and_reads(
    customer_client: Client, read_only: MaintenanceSettings
) -> None:
    session_key = customer_client.cookies["sessionid"].value
    response = customer_client.get("/account/")
    assert response.status_code == 200
    assert b"Signed in as customer" in response.content
    assert NOTICE in response.content
    assert Session.objects.filter(session_key=session_key).exists()


# Writes


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "trace"])
def test_visitors_changes_get_the_read_only_page(client: Client, read_only: MaintenanceSettings, method: str) -> None:
    response = getattr(client, method)("/")
    assert response.status_code == 503
    assert "no-store" in cache_directives(response)
    if method != "trace":  # the test client drops TRACE bodies, as servers do
        assert NOT_SAVED in response.content
        assert b"Please try again later." in response.content


def test_read_only_page_says_when_to_try_again(client: Client) -> None:
    end = timezone.now() + timedelta(minutes=30)
    switch_read_only(ends_at=end)
    response = client.post("/", {"comment": "hello"})
    assert response.status_code == 503
    assert 1790 <= int(response["Retry-After"]) <= 1800
    content = response.content.decode()
    assert "Your change was not saved" in content
    assert "Please try again after" in content
    assert "Change not saved: read-only maintenance" in content  # the title
    assert "location.reload" not in content  # reloading would send the form again
    assert "The site is read-only while we perform maintenance" in content


def test_read_only_page_shows_the_administrators_message(client: Client) -> None:
    switch_read_only(message="Moving to a new database.")
    content = client.post("/").content.decode()
    assert "Moving to a new database." in content
    assert "Your change was not saved" in content


def test_full_maintenance_page_still_reloads_at_the_end(client: Client, maintenance: MaintenanceSettings) -> None:
    maintenance.ends_at = timezone.now() + timedelta(minutes=30)
    maintenance.save()
    assert b"location.reload" in client.get("/").content


def test_json_client_gets_the_read_only_json(client: Client) -> None:
    end = timezone.now() + timedelta(minutes=10)
    switch_read_only(ends_at=end, message="DB move")
    response = client.post("/", data="{}", content_type="application/json", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["maintenance"] is True
    assert body["read_only"] is True
    assert body["message"] == "DB move"
    assert 590 <= body["retry_after"] <= 600
    assert body["ends_at"] == end.isoformat()


def test_json_path_write_gets_json_with_the_default_message(client: Client, read_only: MaintenanceSettings) -> None:
    response = client.post("/api/items/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["read_only"] is True
    assert body["message"].startswith("The site is read-only while we perform maintenance")


def test_json_path_read_reaches_the_api(client: Client, read_only: MaintenanceSettings) -> None:
    response = client.get("/api/items/")
    assert response.status_code == 200
    assert json.loads(response.content) == {"items": []}


def test_logged_in_customer_change_is_refused_without_logging_out(
    customer_client: Client, read_only: MaintenanceSettings
) -> None:
    session_key = customer_client.cookies["sessionid"].value
    assert customer_client.post("/").status_code == 503
    assert Session.objects.filter(session_key=session_key).exists()
    assert b"Signed in as customer" in customer_client.get("/account/").content


def test_administrator_keeps_writing_and_sees_the_read_only_indicator(
    staff_client: Client, read_only: MaintenanceSettings
) -> None:
    response = staff_client.post("/")
    assert response.status_code == 200
    assert b"Read-only maintenance is on" in response.content
    assert NOTICE not in response.content  # administrators get their own indicator
    assert "private" in cache_directives(response)


def test_bypass_cookie_holder_keeps_writing(client: Client) -> None:
    switch_read_only(bypass_secret="preview-token-123")
    client.cookies["maintenance_bypass"] = bypass.make_cookie_value("preview-token-123")
    response = client.post("/")
    assert response.status_code == 200
    assert b"Read-only maintenance is on" in response.content


def test_allowed_ip_keeps_writing(client: Client) -> None:
    switch_read_only(allowed_ips="203.0.113.0/24")
    assert client.post("/", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.post("/", REMOTE_ADDR="203.0.114.9").status_code == 503


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/api/webhooks/stripe", b"webhook"),
        ("/order/7/edit", b"order 7"),
        ("/exempt-view/", b"exempt view"),
        ("/health", b"ok"),
    ],
)
def test_exempt_paths_and_views_keep_writing(
    client: Client, read_only: MaintenanceSettings, path: str, content: bytes
) -> None:
    response = client.post(path)
    assert response.status_code == 200
    assert response.content == content  # the view's own answer, not a notice or another page


def test_administrators_can_sign_in_through_the_admin(staff_user: User, read_only: MaintenanceSettings) -> None:
    client = Client()
    response = client.post("/admin/login/", {"username": "admin", "password": "pw", "next": "/admin/"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_upcoming_read_only_window_changes_nothing_yet(client: Client) -> None:
    switch_read_only(starts_at=timezone.now() + timedelta(hours=1))
    response = client.post("/")
    assert response.status_code == 200
    assert NOTICE not in client.get("/").content


@override_settings(MAINTENANCE_MODE_FORCE=True)
def test_the_emergency_switch_closes_a_read_only_site(client: Client, read_only: MaintenanceSettings) -> None:
    assert client.get("/").status_code == 503
    assert NOT_SAVED not in client.get("/").content


def test_switching_to_full_closes_the_site_and_off_opens_it(client: Client, read_only: MaintenanceSettings) -> None:
    assert client.get("/").status_code == 200
    read_only.mode = MaintenanceSettings.Mode.FULL
    read_only.save()
    assert client.get("/").status_code == 503
    read_only.enabled = False
    read_only.save()
    response = client.post("/")
    assert response.status_code == 200
    assert NOTICE not in client.get("/").content


# The decision itself


@pytest.mark.parametrize(
    ("method", "verdict"),
    [
        ("GET", Verdict.SERVE_READ_ONLY),
        ("HEAD", Verdict.SERVE_READ_ONLY),
        ("OPTIONS", Verdict.SERVE_READ_ONLY),
        ("POST", Verdict.REFUSE_WRITE),
        ("PUT", Verdict.REFUSE_WRITE),
        ("PATCH", Verdict.REFUSE_WRITE),
        ("DELETE", Verdict.REFUSE_WRITE),
        ("PROPFIND", Verdict.REFUSE_WRITE),
    ],
)
def test_decide_lets_reads_through_and_refuses_changes(method: str, verdict: Verdict) -> None:
    request = RequestFactory().generic(method, "/")
    request.user = AnonymousUser()
    snapshot = Snapshot(enabled=True, mode="read-only")
    assert decide(request, snapshot, 0.0) is verdict


def test_decide_never_logs_out_in_read_only_mode(customer: User) -> None:
    request = RequestFactory().post("/")
    request.user = customer
    assert decide(request, Snapshot(enabled=True, mode="read-only"), 0.0) is Verdict.REFUSE_WRITE
    assert decide(request, Snapshot(enabled=True), 0.0) is Verdict.LOGOUT_AND_BLOCK


# The status endpoint, the banner and the context processor


def test_status_endpoint_says_read_only(client: Client, read_only: MaintenanceSettings) -> None:
    body = json.loads(client.get("/maintenance/status/").content)
    assert body["maintenance"] is True
    assert body["read_only"] is True


def test_status_endpoint_is_not_read_only_when_off(client: Client) -> None:
    switch_read_only(enabled=False)
    assert json.loads(client.get("/maintenance/status/").content)["read_only"] is False


def banner() -> str:
    return Template("{% load maintenance_mode %}{% maintenance_banner %}").render(Context())


def test_banner_tag_stays_empty_while_the_middleware_shows_the_notice(read_only: MaintenanceSettings) -> None:
    assert banner() == ""


@override_settings(MAINTENANCE_MODE_SHOW_READ_ONLY_NOTICE=False)
def test_banner_tag_places_the_notice_when_the_middleware_does_not(read_only: MaintenanceSettings) -> None:
    assert 'id="maintenance-mode-read-only"' in banner()


def test_banner_for_an_upcoming_read_only_window_says_the_site_stays_readable() -> None:
    start = timezone.now() + timedelta(hours=3)
    switch_read_only(starts_at=start, ends_at=start + timedelta(hours=1))
    html = banner()
    assert "You can browse the site during that time, but changes cannot be saved." in html
    assert "unavailable" not in html


def test_context_processor_knows_the_mode(read_only: MaintenanceSettings) -> None:
    notice = maintenance_context(RequestFactory().get("/"))["maintenance"]
    assert notice.read_only  # type: ignore[attr-defined]
    assert notice.mode == "read-only"  # type: ignore[attr-defined]


def test_context_processor_in_full_mode_is_not_read_only(maintenance: MaintenanceSettings) -> None:
    notice = maintenance_context(RequestFactory().get("/"))["maintenance"]
    assert notice.active  # type: ignore[attr-defined]
    assert not notice.read_only  # type: ignore[attr-defined]
    assert notice.mode == "full"  # type: ignore[attr-defined]


# The async path (ASGI): the same verdicts


@pytest.mark.django_db(transaction=True)  # async code reaches the database from another thread
class TestAsyncReadOnly:
    async def test_anonymous_async_read_gets_the_live_site_with_the_notice(self, async_client: AsyncClient) -> None:
        await sync_to_async(switch_read_only)()
        response = await async_client.get("/async/")
        assert response.status_code == 200
        assert b"Async live site" in response.content
        assert NOTICE in response.content

    async def test_anonymous_async_change_gets_the_read_only_page(self, async_client: AsyncClient) -> None:
        await sync_to_async(switch_read_only)()
        response = await async_client.post("/async/")
        assert response.status_code == 503
        assert NOT_SAVED in response.content

    async def test_async_json_change_gets_the_read_only_json(self, async_client: AsyncClient) -> None:
        await sync_to_async(switch_read_only)()
        response = await async_client.post("/api/items/")
        assert response.status_code == 503
        assert json.loads(response.content)["read_only"] is True

    async def test_async_customer_is_not_logged_out(self, customer: User) -> None:
        await sync_to_async(switch_read_only)()
        client = AsyncClient()
        await client.aforce_login(customer)
        session_key = client.cookies["sessionid"].value
        assert (await client.post("/async/")).status_code == 503
        assert (await client.get("/async/")).status_code == 200
        assert await Session.objects.filter(session_key=session_key).aexists()

    async def test_async_administrator_keeps_writing(self, staff_user: User) -> None:
        await sync_to_async(switch_read_only)()
        client = AsyncClient()
        await client.aforce_login(staff_user)
        response = await client.post("/async/")
        assert response.status_code == 200
        assert b"Read-only maintenance is on" in response.content

    async def test_async_exempt_path_keeps_writing(self, async_client: AsyncClient) -> None:
        await sync_to_async(switch_read_only)()
        response = await async_client.post("/api/webhooks/stripe")
        assert response.status_code == 200
        assert response.content == b"webhook"

    @pytest.mark.parametrize("method", ["head", "options"])
    async def test_async_head_and_options_reach_the_site(self, async_client: AsyncClient, method: str) -> None:
        await sync_to_async(switch_read_only)()
        assert (await getattr(async_client, method)("/async/")).status_code == 200

    async def test_async_bypass_cookie_holder_keeps_writing(self) -> None:
        await sync_to_async(switch_read_only)(bypass_secret="preview-token-123")
        client = AsyncClient()
        client.cookies["maintenance_bypass"] = bypass.make_cookie_value("preview-token-123")
        response = await client.post("/async/")
        assert response.status_code == 200
        assert b"Read-only maintenance is on" in response.content

    async def test_async_administrator_signs_in_through_the_admin(self, staff_user: User) -> None:
        await sync_to_async(switch_read_only)()
        client = AsyncClient()
        response = await client.post("/admin/login/", {"username": "admin", "password": "pw", "next": "/admin/"})
        assert response.status_code == 302
        assert (await client.get("/admin/")).status_code == 200


# Signals


def test_signals_carry_the_mode(db: None) -> None:
    from django.test import TestCase

    from maintenance_mode import signals

    modes: list[tuple[str, str]] = []

    def on_enabled(mode: str, **kwargs: object) -> None:
        modes.append(("enabled", mode))

    def on_disabled(mode: str, **kwargs: object) -> None:
        modes.append(("disabled", mode))

    signals.maintenance_enabled.connect(on_enabled)
    signals.maintenance_disabled.connect(on_disabled)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            row = switch_read_only()
        with TestCase.captureOnCommitCallbacks(execute=True):
            row.enabled = False
            row.save()
    finally:
        signals.maintenance_enabled.disconnect(on_enabled)
        signals.maintenance_disabled.disconnect(on_disabled)
    assert modes == [("enabled", "read-only"), ("disabled", "read-only")]


def test_switching_the_mode_while_on_announces_the_new_mode(db: None) -> None:
    from django.test import TestCase

    from maintenance_mode import signals

    modes: list[str] = []

    def on_enabled(mode: str, **kwargs: object) -> None:
        modes.append(mode)

    signals.maintenance_enabled.connect(on_enabled)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            row = switch_read_only()
        with TestCase.captureOnCommitCallbacks(execute=True):
            row.mode = MaintenanceSettings.Mode.FULL
            row.save()
        with TestCase.captureOnCommitCallbacks(execute=True):
            row.message = "same mode, nothing to announce"
            row.save()
    finally:
        signals.maintenance_enabled.disconnect(on_enabled)
    assert modes == ["read-only", "full"]


@pytest.mark.parametrize(("charset", "kept"), [("us-ascii", True), ("x-nope", False)])
def test_notice_never_breaks_a_page_in_another_charset(
    read_only: MaintenanceSettings, charset: str, kept: bool
) -> None:
    from django.http import HttpResponse

    from maintenance_mode.middleware import MaintenanceModeMiddleware

    page = b"<html><body><p>x</p></body></html>"
    from django.utils import translation

    with translation.override("fr"):  # "d’habitude": a character us-ascii lacks
        request = RequestFactory().get("/")
        request.user = AnonymousUser()
        middleware = MaintenanceModeMiddleware(
            lambda request: HttpResponse(page, content_type=f"text/html; charset={charset}")
        )
        response = middleware(request)
    assert response.status_code == 200
    assert (NOTICE in response.content) is kept
    if kept:
        assert b"d&#8217;habitude" in response.content  # a character reference, not raw bytes


def served_in_french(view_response: object) -> bytes:
    """The body a French visitor gets of ``view_response`` while the site is read-only."""
    from django.http import HttpResponse
    from django.utils import translation

    from maintenance_mode.middleware import MaintenanceModeMiddleware

    assert isinstance(view_response, HttpResponse)
    with translation.override("fr"):
        request = RequestFactory().get("/")
        request.user = AnonymousUser()
        response = MaintenanceModeMiddleware(lambda request: view_response)(request)
    assert response.status_code == 200
    return bytes(response.content)


FRENCH_NOTICE = "mais les modifications ne peuvent pas être enregistrées pour le moment."


def test_notice_on_a_latin_1_page_is_written_in_latin_1(read_only: MaintenanceSettings) -> None:
    from django.http import HttpResponse

    page = "<html><body><p>Café</p></body></html>".encode("iso-8859-1")
    body = served_in_french(HttpResponse(page, content_type="text/html; charset=iso-8859-1"))
    text = body.decode("iso-8859-1")
    assert FRENCH_NOTICE in text  # "ê" and "é" as latin-1 bytes, like the page's own "é"
    assert "d&#8217;habitude" in text  # "’", which latin-1 lacks, as a character reference
    assert "<p>Café</p>" in text


def test_notice_on_a_page_that_names_no_charset_is_written_in_the_default_charset(
    read_only: MaintenanceSettings, settings: object
) -> None:
    """``content_type="text/html"``: Django reads such a page in DEFAULT_CHARSET, and so must the notice."""
    from django.http import HttpResponse

    settings.DEFAULT_CHARSET = "iso-8859-1"  # type: ignore[attr-defined]
    page = "<html><body><p>Café</p></body></html>".encode("iso-8859-1")
    view_response = HttpResponse(page, content_type="text/html")
    assert view_response["Content-Type"] == "text/html"
    body = served_in_french(view_response)
    assert FRENCH_NOTICE in body.decode("iso-8859-1")
