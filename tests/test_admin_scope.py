"""Whom the admin stays open to while maintenance is on, and whom the badge's
"settings" link is shown to.

The admin is exempt so that administrators can sign in: it stays open to
visitors who are not logged in (its login, its password reset, the files its
login page loads) and to administrators. A logged-in non-administrator (staff
under ``ADMIN_CHECK = "superuser"``, say) is on the admin as on any other page:
logged out and shown the page in full mode, reading but not writing in
read-only mode; but where nobody logs them out (read-only mode,
``LOGOUT_USERS = False``) they reach the admin's login and logout, so that
their browser can sign in as an administrator. The Django admin and the Wagtail
admin (mounted at ``/cms/`` by tests.urls) alike, through the sync and the async path.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.urls import set_script_prefix
from pytest_django.fixtures import Settings as SettingsWrapper

from maintenance_mode import bypass, middleware, state
from maintenance_mode.middleware import Verdict, decide
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.snapshot import READ_ONLY, Snapshot
from tests.clients import alogged_in, logged_in

pytestmark = pytest.mark.django_db(transaction=True)  # async code reaches the database from another thread

NOT_SAVED = b"Your change was not saved"
NOTICE = b'id="maintenance-mode-read-only"'
BADGE = b'id="maintenance-mode-indicator"'
ADD_GROUP = "/admin/auth/group/add/"  # a write through the admin, open to whoever may add groups

# Checks under which the staff member below is no administrator (and a superuser,
# for the first two, is one).
NARROW_ADMIN_CHECKS = [
    "superuser",
    "perm:maintenance_mode.change_maintenancesettings",
    "tests.predicates.is_named_customer",
]
WITHOUT_WAGTAIL = [app for app in settings.INSTALLED_APPS if not app.startswith(("wagtail", "maintenance_mode.c"))]
DJANGO_ADMIN_ONLY = override_settings(INSTALLED_APPS=WITHOUT_WAGTAIL, ROOT_URLCONF="tests.urls_without_wagtail")
DJANGO_SETTINGS_URL = "/admin/maintenance_mode/maintenancesettings/"
WAGTAIL_SETTINGS_URL = "/cms/maintenance/"


def grant(user: User, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


@pytest.fixture
def support_staff(db: None) -> User:
    """Staff who may add groups in the Django admin, but are no superuser."""
    user = User.objects.create_user("support", "support@example.com", "support-pw", is_staff=True)
    grant(user, "add_group", "view_group")
    return user


@pytest.fixture
def superuser_check(settings: SettingsWrapper) -> None:
    settings.MAINTENANCE_MODE_ADMIN_CHECK = "superuser"


@pytest.fixture
def editor(db: None) -> User:
    """A Wagtail editor (may use the Wagtail admin, is not staff)."""
    user = User.objects.create_user("editor", "editor@example.com", "editor-pass")
    editors = Group.objects.create(name="Editors")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    user.groups.add(editors)
    return user


def switch_on(mode: str = MaintenanceSettings.Mode.FULL) -> None:
    row = MaintenanceSettings.load()
    row.enabled = True
    row.mode = mode
    row.save()


@pytest.fixture
def full(db: None) -> None:
    switch_on()


@pytest.fixture
def read_only(db: None) -> None:
    switch_on(MaintenanceSettings.Mode.READ_ONLY)


def session_exists(client: Client | AsyncClient) -> bool:
    return Session.objects.filter(session_key=client.cookies["sessionid"].value).exists()


# Full maintenance: a logged-in non-administrator in the Django admin


@pytest.mark.parametrize("admin_check", NARROW_ADMIN_CHECKS)
def test_staff_who_are_not_administrators_get_the_page_in_the_admin_during_maintenance(
    support_staff: User, full: None, settings: SettingsWrapper, admin_check: str
) -> None:
    settings.MAINTENANCE_MODE_ADMIN_CHECK = admin_check
    client = logged_in(support_staff)
    response = client.get("/admin/")
    assert response.status_code == 503
    assert b"We are performing scheduled maintenance" in response.content
    assert not session_exists(client)  # logged out, as anywhere else on the site


def test_staff_who_are_not_administrators_cannot_write_in_the_admin_during_maintenance(
    support_staff: User, full: None, superuser_check: None
) -> None:
    assert logged_in(support_staff).post(ADD_GROUP, {"name": "Night shift"}).status_code == 503
    assert not Group.objects.filter(name="Night shift").exists()


@override_settings(MAINTENANCE_MODE_LOGOUT_USERS=False)
def test_staff_who_are_not_administrators_keep_their_session_but_get_the_page_without_logout_users(
    support_staff: User, full: None, superuser_check: None
) -> None:
    client = logged_in(support_staff)
    assert client.get("/admin/").status_code == 503
    assert session_exists(client)


def test_staff_who_are_not_administrators_signing_in_during_maintenance_are_logged_out_at_once(
    support_staff: User, full: None, superuser_check: None
) -> None:
    client = Client()
    response = client.post("/admin/login/", {"username": "support", "password": "support-pw", "next": "/admin/"})
    assert response.status_code == 302  # the login page is open: it cannot tell who signs in
    assert client.get("/admin/").status_code == 503
    assert not session_exists(client)


def test_administrators_keep_using_and_writing_in_the_admin_during_maintenance(
    staff_user: User, full: None, superuser_check: None
) -> None:
    client = logged_in(staff_user)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert BADGE in response.content
    assert client.post(ADD_GROUP, {"name": "Night shift"}).status_code == 302
    assert Group.objects.filter(name="Night shift").exists()


@pytest.mark.parametrize("mode", ["full", "read_only"])
def test_admin_login_page_stays_open_to_anonymous_visitors(
    client: Client, request: pytest.FixtureRequest, mode: str
) -> None:
    request.getfixturevalue(mode)
    assert client.get("/admin/login/").status_code == 200
    assert client.get("/admin/jsi18n/").status_code == 302  # the admin's own answer: its login
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("mode", ["full", "read_only"])
def test_administrators_sign_in_through_the_admin_login_during_maintenance(
    staff_user: User, superuser_check: None, request: pytest.FixtureRequest, mode: str
) -> None:
    request.getfixturevalue(mode)
    client = Client()
    response = client.post("/admin/login/", {"username": "admin", "password": "pw", "next": "/admin/"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_exempt_views_stay_open_to_logged_in_non_administrators(customer_client: Client, full: None) -> None:
    """Only the admin's exemption depends on who is logged in."""
    assert customer_client.get("/exempt-view/").content == b"exempt view"
    assert session_exists(customer_client)


# Read-only maintenance: a logged-in non-administrator in the Django admin


def test_non_administrator_staff_read_the_admin_in_read_only_mode(
    support_staff: User, read_only: None, superuser_check: None
) -> None:
    client = logged_in(support_staff)
    response = client.get("/admin/auth/group/")
    assert response.status_code == 200
    assert NOTICE in response.content  # the notice every visitor gets, not the administrators' badge
    assert BADGE not in response.content
    assert session_exists(client)  # nobody is logged out in read-only mode


@pytest.mark.parametrize("admin_check", NARROW_ADMIN_CHECKS)
def test_non_administrator_staff_cannot_write_in_the_admin_in_read_only_mode(
    support_staff: User, read_only: None, settings: SettingsWrapper, admin_check: str
) -> None:
    settings.MAINTENANCE_MODE_ADMIN_CHECK = admin_check
    client = logged_in(support_staff)
    response = client.post(ADD_GROUP, {"name": "Night shift"})
    assert response.status_code == 503
    assert NOT_SAVED in response.content
    assert not Group.objects.filter(name="Night shift").exists()
    assert session_exists(client)


def test_administrators_keep_writing_in_the_admin_in_read_only_mode(
    staff_user: User, read_only: None, superuser_check: None
) -> None:
    response = logged_in(staff_user).post(ADD_GROUP, {"name": "Night shift"})
    assert response.status_code == 302
    assert Group.objects.filter(name="Night shift").exists()


# The decision itself: the same for both paths, and I/O-free in the event loop


@pytest.mark.parametrize(("mode", "verdict"), [("full", Verdict.LOGOUT_AND_BLOCK), ("read-only", Verdict.REFUSE_WRITE)])
def test_the_event_loop_asks_a_thread_about_a_logged_in_user_on_the_admin(
    support_staff: User, superuser_check: None, mode: str, verdict: Verdict
) -> None:
    """A logged-in user may be an administrator: only a thread may ask (a custom check
    may query); that thread's answer is the sync path's."""
    snapshot = Snapshot(version=1, enabled=True, mode=mode)
    request = RequestFactory().post(ADD_GROUP)
    request.user = support_staff
    assert decide(request, snapshot, 0.0, may_block=False) is Verdict.NEEDS_IO
    assert decide(request, snapshot, 0.0) is verdict


@pytest.mark.parametrize("mode", ["full", "read-only"])
def test_the_event_loop_opens_the_admin_to_an_anonymous_visitor_without_io(mode: str) -> None:
    snapshot = Snapshot(version=1, enabled=True, mode=mode)
    request = RequestFactory().post("/admin/login/")  # no session cookie: known to be anonymous
    assert decide(request, snapshot, 0.0, may_block=False) is Verdict.SERVE_EXEMPT_VIEW
    assert decide(request, snapshot, 0.0) is Verdict.SERVE_EXEMPT_VIEW


# The async path (ASGI)


class TestAsync:
    async def test_async_staff_who_are_not_administrators_get_the_page_in_the_admin_during_maintenance(
        self, support_staff: User, superuser_check: None
    ) -> None:
        await sync_to_async(switch_on)()
        writer = await alogged_in(support_staff)
        assert (await writer.post(ADD_GROUP, {"name": "Night shift"})).status_code == 503
        assert not await Group.objects.filter(name="Night shift").aexists()
        reader = await alogged_in(support_staff)
        assert (await reader.get("/admin/")).status_code == 503
        assert not await sync_to_async(session_exists)(reader)

    async def test_async_non_administrator_staff_cannot_write_in_the_admin_in_read_only_mode(
        self, support_staff: User, superuser_check: None
    ) -> None:
        await sync_to_async(switch_on)(READ_ONLY)
        client = await alogged_in(support_staff)
        assert (await client.get("/admin/auth/group/")).status_code == 200
        response = await client.post(ADD_GROUP, {"name": "Night shift"})
        assert response.status_code == 503
        assert NOT_SAVED in response.content
        assert not await Group.objects.filter(name="Night shift").aexists()
        assert await sync_to_async(session_exists)(client)

    @pytest.mark.parametrize("mode", ["full", READ_ONLY])
    async def test_async_admin_login_page_stays_open_to_anonymous_visitors(
        self, staff_user: User, superuser_check: None, mode: str
    ) -> None:
        await sync_to_async(switch_on)(mode)
        client = AsyncClient()
        assert (await client.get("/admin/login/")).status_code == 200
        response = await client.post("/admin/login/", {"username": "admin", "password": "pw", "next": "/admin/"})
        assert response.status_code == 302

    @pytest.mark.parametrize("mode", ["full", READ_ONLY])
    async def test_async_administrators_keep_writing_in_the_admin(
        self, staff_user: User, superuser_check: None, mode: str
    ) -> None:
        await sync_to_async(switch_on)(mode)
        client = await alogged_in(staff_user)
        assert BADGE in (await client.get("/admin/")).content
        assert (await client.post(ADD_GROUP, {"name": "Night shift"})).status_code == 302
        assert await Group.objects.filter(name="Night shift").aexists()


# The Wagtail admin: its login views are open to visitors, not to logged-in non-administrators


def test_wagtail_editors_who_are_not_administrators_get_the_page_in_the_wagtail_login_views(
    editor: User, full: None, superuser_check: None
) -> None:
    client = logged_in(editor)
    assert client.post("/cms/password_reset/", {"email": "editor@example.com"}).status_code == 503
    assert not mail.outbox
    assert not session_exists(client)


def test_wagtail_editors_who_are_not_administrators_cannot_post_to_the_wagtail_login_views_in_read_only_mode(
    editor: User, read_only: None, superuser_check: None
) -> None:
    client = logged_in(editor)
    assert client.get("/cms/jsi18n/").status_code == 200  # reads go through
    response = client.post("/cms/password_reset/", {"email": "editor@example.com"})
    assert response.status_code == 503
    assert NOT_SAVED in response.content
    assert not mail.outbox
    assert session_exists(client)


@pytest.mark.parametrize("mode", ["full", "read_only"])
def test_wagtail_login_stays_open_to_anonymous_visitors(
    editor: User, request: pytest.FixtureRequest, mode: str
) -> None:
    request.getfixturevalue(mode)
    client = Client()
    assert client.post("/cms/password_reset/", {"email": "editor@example.com"}).status_code == 302
    assert len(mail.outbox) == 1
    response = client.post("/cms/login/", {"username": "editor", "password": "editor-pass"})
    assert response.status_code == 302
    assert client.get("/cms/").status_code == 200  # an editor is an administrator under the default check


class TestWagtailAsync:
    async def test_async_wagtail_editors_who_are_not_administrators_get_the_page_in_the_wagtail_login_views(
        self, editor: User, superuser_check: None
    ) -> None:
        await sync_to_async(switch_on)()
        client = await alogged_in(editor)
        assert (await client.get("/cms/jsi18n/")).status_code == 503
        assert not await sync_to_async(session_exists)(client)

    async def test_async_wagtail_login_stays_open_to_anonymous_visitors_in_read_only_mode(self, editor: User) -> None:
        await sync_to_async(switch_on)(READ_ONLY)
        client = AsyncClient()
        response = await client.post("/cms/login/", {"username": "editor", "password": "editor-pass"})
        assert response.status_code == 302
        assert (await client.get("/cms/")).status_code == 200

    async def test_async_wagtail_editor_keeps_using_the_wagtail_admin(self, editor: User) -> None:
        await sync_to_async(switch_on)()
        response = await (await alogged_in(editor)).get("/cms/")
        assert response.status_code == 200
        assert BADGE in response.content


# The badge's "settings" link: only for those who may change the settings


@DJANGO_ADMIN_ONLY
def test_badge_shows_no_settings_link_to_staff_who_may_not_change_the_settings(support_staff: User, full: None) -> None:
    content = logged_in(support_staff).get("/").content
    assert BADGE in content  # an administrator under the default check
    assert DJANGO_SETTINGS_URL.encode() not in content


@DJANGO_ADMIN_ONLY
def test_badge_links_to_the_django_admin_for_staff_who_may_change_the_settings(support_staff: User, full: None) -> None:
    grant(support_staff, "change_maintenancesettings")
    assert f'href="{DJANGO_SETTINGS_URL}"'.encode() in logged_in(support_staff).get("/").content


@DJANGO_ADMIN_ONLY
def test_badge_shows_no_django_admin_link_to_a_superuser_who_is_not_staff(
    staff_user: User, full: None, superuser_check: None
) -> None:
    staff_user.is_staff = False
    staff_user.save()
    content = logged_in(staff_user).get("/").content
    assert BADGE in content
    assert DJANGO_SETTINGS_URL.encode() not in content  # the Django admin lets only staff in


def test_badge_shows_no_settings_link_when_the_permission_check_fails(
    staff_user: User, full: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(middleware, "session_failures", state.FailureLog(time.monotonic))  # logs its first failure
    client = logged_in(staff_user)
    with (
        mock.patch.object(User, "has_perm", side_effect=DatabaseError("permission tables gone")),
        caplog.at_level(logging.WARNING, "maintenance_mode"),
    ):
        content = client.get("/").content
    assert BADGE in content
    assert WAGTAIL_SETTINGS_URL.encode() not in content
    assert "showing the badge without its settings link" in caplog.text


@pytest.fixture
def long_ttl(settings: SettingsWrapper) -> None:
    """A snapshot that stays fresh: reading the state costs no query in the test."""
    settings.MAINTENANCE_MODE_STATE_TTL = 600


def publish(**fields: Any) -> None:
    state.store.reset()
    state.store.publish(Snapshot(version=1, **fields))


def test_badge_loads_no_session_to_decide_on_the_link(
    staff_user: User, long_ttl: None, django_assert_num_queries: Any
) -> None:
    """A bypass holder's page whose view reads no user: the badge does not load the
    session cookie's user for the link (it costs no query at all)."""
    client = logged_in(staff_user)
    client.cookies["maintenance_bypass"] = bypass.make_cookie_value("preview-token-123")
    publish(enabled=True, secret="preview-token-123")
    with django_assert_num_queries(0):
        content = client.get("/").content
    assert BADGE in content
    assert WAGTAIL_SETTINGS_URL.encode() not in content


class RoleUser:
    """A custom user model's user without PermissionsMixin (no is_superuser): staff,
    with permissions its own has_perm reads from its role (a group) in the database."""

    is_active = True
    is_staff = True
    is_authenticated = True
    is_anonymous = False

    def __init__(self, role: str) -> None:
        self.role = role

    def has_perm(self, perm: str, obj: object = None) -> bool:
        app_label, codename = perm.split(".", 1)
        return Group.objects.filter(
            name=self.role, permissions__content_type__app_label=app_label, permissions__codename=codename
        ).exists()


async def async_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<html><body><h1>Live site</h1></body></html>")


class TestBadgeAsync:
    async def test_async_badge_checks_a_staff_members_permissions_in_a_thread(
        self, support_staff: User, long_ttl: None, hops: list[str]
    ) -> None:
        """Their permissions are loaded from the database: never in the event loop."""
        await sync_to_async(grant)(support_staff, "access_admin", "change_maintenancesettings")
        publish(enabled=True)
        client = await alogged_in(support_staff)
        response = await client.get("/async/")
        assert response.status_code == 200
        assert f'href="{WAGTAIL_SETTINGS_URL}"'.encode() in response.content
        assert hops == ["settle", "add_indicator"]

    async def test_async_superuser_gets_the_badges_settings_link(
        self, staff_user: User, long_ttl: None, hops: list[str]
    ) -> None:
        """An active superuser's link costs no query: decided in the event loop, still shown."""
        publish(enabled=True)
        response = await (await alogged_in(staff_user)).get("/async/")
        assert f'href="{WAGTAIL_SETTINGS_URL}"'.encode() in response.content
        assert hops == ["settle"]

    async def test_async_custom_user_without_a_superuser_flag_gets_the_link_its_roles_grant(
        self, long_ttl: None
    ) -> None:
        """A custom user model without PermissionsMixin has no is_superuser, and its own
        has_perm may query: its link is decided in a thread, never a 500."""
        maintainers = await Group.objects.acreate(name="Maintainers")
        await sync_to_async(maintainers.permissions.add)(
            *[p async for p in Permission.objects.filter(codename__in=["access_admin", "change_maintenancesettings"])]
        )
        publish(enabled=True)
        request = RequestFactory().get("/")
        request.user = RoleUser("Maintainers")  # type: ignore[assignment]  # not AUTH_USER_MODEL: a custom one
        response = await middleware.MaintenanceModeMiddleware(async_page)(request)
        assert response.status_code == 200
        assert f'href="{WAGTAIL_SETTINGS_URL}"'.encode() in response.content

    async def test_async_bypass_holders_page_that_read_no_logged_in_user_gets_the_badge_without_a_second_hop(
        self, long_ttl: None, hops: list[str]
    ) -> None:
        """The view read request.user (an anonymous visitor): no link to decide, no thread for the badge."""
        publish(enabled=True, secret="preview-token-123")
        client = AsyncClient()
        client.cookies["maintenance_bypass"] = bypass.make_cookie_value("preview-token-123")
        response = await client.get("/account/")
        assert b"Not signed in" in response.content
        assert BADGE in response.content
        assert hops == []

    async def test_async_wagtail_editor_gets_the_badge_without_the_link(
        self, editor: User, long_ttl: None, hops: list[str]
    ) -> None:
        publish(enabled=True)
        response = await (await alogged_in(editor)).get("/async/")
        assert BADGE in response.content
        assert WAGTAIL_SETTINGS_URL.encode() not in response.content

    async def test_async_administrators_json_needs_no_badge_and_no_second_hop(
        self, support_staff: User, long_ttl: None, hops: list[str]
    ) -> None:
        publish(enabled=True)
        response = await (await alogged_in(support_staff)).get("/api/items/")
        assert response.json() == {"items": []}
        assert hops == ["settle"]

    @override_settings(MAINTENANCE_MODE_SHOW_INDICATOR=False)
    async def test_async_page_without_the_badge_needs_no_second_hop(
        self, support_staff: User, long_ttl: None, hops: list[str]
    ) -> None:
        publish(enabled=True)
        response = await (await alogged_in(support_staff)).get("/async/")
        assert response.status_code == 200
        assert BADGE not in response.content
        assert hops == ["settle"]


# Who counts as logged in: a user authenticated other than by the session cookie,
# a garbage or expired session cookie, and the admin wherever it is mounted


REMOTE_USER = "django.contrib.auth.middleware.RemoteUserMiddleware"


@pytest.mark.parametrize("before_ours", [True, False])
def test_staff_signed_in_by_remote_user_who_are_not_administrators_get_the_page_in_the_admin(
    support_staff: User, full: None, superuser_check: None, settings: SettingsWrapper, before_ours: bool
) -> None:
    """REMOTE_USER (a single sign-on proxy) signs the user in on every request, before
    our middleware or, wrongly ordered, after it: the admin's exemption is confirmed in
    process_view, once the view is known, with the user that middleware set."""
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.RemoteUserBackend"]
    *others, ours = settings.MIDDLEWARE
    settings.MIDDLEWARE = [*others, REMOTE_USER, ours] if before_ours else [*others, ours, REMOTE_USER]
    client = Client(REMOTE_USER="support")
    assert client.get("/admin/").status_code == 503
    assert client.post(ADD_GROUP, {"name": "Night shift"}).status_code == 503
    assert not Group.objects.filter(name="Night shift").exists()


@pytest.mark.parametrize("mode", ["full", "read_only"])
def test_a_garbage_or_expired_session_cookie_is_an_anonymous_visitor_at_the_admin_login(
    staff_user: User, superuser_check: None, request: pytest.FixtureRequest, mode: str
) -> None:
    request.getfixturevalue(mode)
    expired = logged_in(staff_user)
    Session.objects.update(expire_date="2000-01-01T00:00:00Z")
    garbage = Client()
    garbage.cookies["sessionid"] = "not-a-session-key"
    for client in (garbage, expired):
        assert client.get("/admin/login/").status_code == 200
        response = client.post("/admin/login/", {"username": "admin", "password": "pw", "next": "/admin/"})
        assert response.status_code == 302
        assert client.get("/admin/").status_code == 200


def test_the_event_loop_asks_a_thread_about_a_garbage_session_cookie_at_the_admin() -> None:
    """Whether a cookie names a session takes the session store: not in the event loop.
    The thread finds nobody logged in, and the admin is open."""
    snapshot = Snapshot(version=1, enabled=True)
    request = RequestFactory().get("/admin/login/", HTTP_COOKIE="sessionid=not-a-session-key")
    AuthenticationMiddleware(lambda request: HttpResponse()).process_request(
        _with_session(request)  # as SessionMiddleware and AuthenticationMiddleware leave it
    )
    assert decide(request, snapshot, 0.0, may_block=False) is Verdict.NEEDS_IO
    assert decide(request, snapshot, 0.0) is Verdict.SERVE_EXEMPT_VIEW


def _with_session(request: HttpRequest) -> HttpRequest:
    SessionMiddleware(lambda request: HttpResponse()).process_request(request)
    return request


@pytest.mark.parametrize("method", ["head", "options"])
def test_staff_who_are_not_administrators_get_the_page_for_head_and_options_in_the_admin(
    support_staff: User, full: None, superuser_check: None, method: str
) -> None:
    client = logged_in(support_staff)
    assert getattr(client, method)("/admin/auth/group/").status_code == 503
    assert not session_exists(client)


@override_settings(ROOT_URLCONF="tests.urls_i18n_admin")
def test_staff_who_are_not_administrators_get_the_page_in_the_admin_under_a_language_prefix(
    support_staff: User, full: None, superuser_check: None
) -> None:
    assert Client().get("/fr/admin/login/").status_code == 200
    client = logged_in(support_staff)
    assert client.post("/fr" + ADD_GROUP, {"name": "Night shift"}).status_code == 503
    assert not Group.objects.filter(name="Night shift").exists()


def test_staff_who_are_not_administrators_get_the_page_in_the_admin_under_a_script_prefix(
    support_staff: User, full: None, superuser_check: None
) -> None:
    from tests.test_theming_context import wsgi_get

    client = logged_in(support_staff)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    assert wsgi_get("/admin/login/", "/shop")[0] == 200
    assert wsgi_get("/admin/", "/shop", HTTP_COOKIE=cookie)[0] == 503
    set_script_prefix("/")


@override_settings(MAINTENANCE_MODE_EXEMPT_ADMIN=False)
def test_without_the_admin_exemption_only_administrators_reach_the_admin(
    staff_user: User, support_staff: User, full: None, superuser_check: None
) -> None:
    assert Client().get("/admin/login/").status_code == 503
    assert logged_in(support_staff).get("/admin/").status_code == 503
    assert logged_in(staff_user).get("/admin/").status_code == 200


@pytest.mark.parametrize("mode", ["full", "read_only"])
def test_bypass_holders_logged_in_as_staff_keep_the_admin_whoever_they_are(
    support_staff: User, superuser_check: None, long_ttl: None, settings: SettingsWrapper, mode: str
) -> None:
    """The secret link and the allowed IPs let their holder see the live site as
    before maintenance, the admin included: the admin's own permissions decide there."""
    publish(enabled=True, mode="read-only" if mode == "read_only" else "full", secret="preview-token-123")
    holder = logged_in(support_staff)
    holder.cookies["maintenance_bypass"] = bypass.make_cookie_value("preview-token-123")
    assert holder.post(ADD_GROUP, {"name": "Night shift"}).status_code == 302
    settings.MAINTENANCE_MODE_ALLOWED_IPS = ["127.0.0.1"]
    assert logged_in(support_staff).post(ADD_GROUP, {"name": "Day shift"}).status_code == 302
    assert Group.objects.filter(name__in=["Night shift", "Day shift"]).count() == 2


class TestAsyncWhoIsLoggedIn:
    @pytest.mark.parametrize("mode", ["full", READ_ONLY])
    async def test_async_garbage_session_cookie_is_an_anonymous_visitor_at_the_admin_login(
        self, staff_user: User, superuser_check: None, mode: str
    ) -> None:
        await sync_to_async(switch_on)(mode)
        client = AsyncClient()
        client.cookies["sessionid"] = "not-a-session-key"
        assert (await client.get("/admin/login/")).status_code == 200
        response = await client.post("/admin/login/", {"username": "admin", "password": "pw", "next": "/admin/"})
        assert response.status_code == 302
        assert (await client.get("/admin/")).status_code == 200

    async def test_async_badge_shows_no_settings_link_when_the_permission_check_fails(
        self, staff_user: User, long_ttl: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An active superuser's link is decided in the event loop (has_perm costs nothing
        for them): a check that raises anyway costs the link, never the page."""
        monkeypatch.setattr(middleware, "session_failures", state.FailureLog(time.monotonic))
        publish(enabled=True)
        client = await alogged_in(staff_user)
        with (
            mock.patch.object(User, "has_perm", side_effect=DatabaseError("permission tables gone")),
            caplog.at_level(logging.WARNING, "maintenance_mode"),
        ):
            response = await client.get("/async/")
        assert response.status_code == 200
        assert BADGE in response.content
        assert WAGTAIL_SETTINGS_URL.encode() not in response.content
        assert "showing the badge without its settings link" in caplog.text


def test_administrator_whose_browser_holds_a_customer_session_signs_in_after_one_page(
    customer: User, staff_user: User, full: None
) -> None:
    """Full mode: the customer is logged out at the admin's login (the page, once),
    and the browser, no longer logged in, then signs in as an administrator."""
    client = logged_in(customer)
    assert client.get("/admin/login/").status_code == 503
    assert client.get("/admin/login/").status_code == 200
    response = client.post("/admin/login/", {"username": "admin", "password": "pw", "next": "/admin/"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


# The admin's login and logout for a logged-in non-administrator nobody logs out (read-only
# mode, LOGOUT_USERS=False): an administrator whose browser holds a customer session signs
# in there (the login replaces the session), staff log out to reach the login form; the
# rest of the admin stays closed.

ADMIN_LOGIN = {"username": "admin", "password": "pw", "next": "/admin/"}
WITHOUT_LOGOUT = [("full", False), ("read_only", True)]  # (mode fixture, LOGOUT_USERS) where nobody logs out


@pytest.fixture(params=WITHOUT_LOGOUT, ids=["full-without-logout-users", "read-only"])
def nobody_logged_out(request: pytest.FixtureRequest, settings: SettingsWrapper) -> None:
    mode, logout_users = request.param
    settings.MAINTENANCE_MODE_LOGOUT_USERS = logout_users
    request.getfixturevalue(mode)


@override_settings(MAINTENANCE_MODE_LOGOUT_USERS=False)
def test_administrator_whose_browser_holds_a_customer_session_signs_in_at_the_admin_without_logout_users(
    customer: User, staff_user: User, full: None
) -> None:
    client = logged_in(customer)
    customer_session = client.cookies["sessionid"].value
    assert client.get("/admin/login/").status_code == 200
    response = client.post("/admin/login/", ADMIN_LOGIN)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert not Session.objects.filter(session_key=customer_session).exists()  # replaced, not shared


def test_administrator_whose_browser_holds_a_customer_session_signs_in_at_the_admin_in_read_only_mode(
    customer: User, staff_user: User, read_only: None, superuser_check: None
) -> None:
    client = logged_in(customer)
    assert client.get("/admin/login/").status_code == 200
    response = client.post("/admin/login/", ADMIN_LOGIN)
    assert response.status_code == 302
    assert client.post(ADD_GROUP, {"name": "Night shift"}).status_code == 302  # an administrator's write
    assert Group.objects.filter(name="Night shift").exists()


def test_administrator_whose_browser_holds_a_customer_session_signs_in_at_the_wagtail_admin(
    customer: User, editor: User, nobody_logged_out: None
) -> None:
    client = logged_in(customer)
    assert client.get("/cms/login/").status_code == 200
    assert client.post("/cms/login/", {"username": "editor", "password": "editor-pass"}).status_code == 302
    response = client.get("/cms/")
    assert response.status_code == 200
    assert BADGE in response.content


def test_staff_who_are_not_administrators_log_out_of_the_admin_to_sign_in_as_an_administrator_in_read_only_mode(
    support_staff: User, staff_user: User, read_only: None, superuser_check: None
) -> None:
    """The admin's login page sends staff on to its index: its logout (a button on the pages
    they read) is their way to the login form."""
    client = logged_in(support_staff)
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.post("/admin/logout/").status_code == 200
    assert not session_exists(client)
    assert client.get("/admin/login/").status_code == 200
    assert client.post("/admin/login/", ADMIN_LOGIN).status_code == 302
    assert client.post(ADD_GROUP, {"name": "Night shift"}).status_code == 302


def test_wagtail_editors_who_are_not_administrators_log_out_of_the_wagtail_admin(
    editor: User, superuser_check: None, nobody_logged_out: None
) -> None:
    client = logged_in(editor)
    response = client.post("/cms/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/cms/login/"
    assert not Session.objects.exists()


def test_the_rest_of_the_admin_stays_closed_to_a_logged_in_non_administrator_nobody_logs_out(
    support_staff: User, superuser_check: None, nobody_logged_out: None
) -> None:
    client = logged_in(support_staff)
    assert client.post(ADD_GROUP, {"name": "Night shift"}).status_code == 503
    assert client.post("/cms/password_reset/", {"email": "support@example.com"}).status_code == 503
    assert not Group.objects.filter(name="Night shift").exists()
    assert not mail.outbox
    assert session_exists(client)


@override_settings(MAINTENANCE_MODE_LOGOUT_USERS=False)
def test_the_rest_of_the_admin_shows_the_page_to_a_logged_in_non_administrator_without_logout_users(
    support_staff: User, full: None, superuser_check: None
) -> None:
    client = logged_in(support_staff)
    for path in ("/admin/", "/admin/auth/group/", "/admin/jsi18n/", "/cms/", "/cms/password_reset/", "/cms/jsi18n/"):
        assert client.get(path).status_code == 503, path
    assert session_exists(client)


@override_settings(ROOT_URLCONF="tests.urls_wagtail_impostor", MAINTENANCE_MODE_LOGOUT_USERS=False)
def test_project_views_named_like_the_admins_login_stay_closed_to_a_logged_in_non_administrator(
    customer_client: Client, full: None
) -> None:
    assert customer_client.get("/impostor/login/").status_code == 503
    assert customer_client.get("/accounts/login/").status_code == 503  # a "login" outside any admin site


@override_settings(ROOT_URLCONF="tests.urls_second_admin", MAINTENANCE_MODE_LOGOUT_USERS=False)
def test_every_admin_sites_login_is_open_to_a_logged_in_non_administrator_nobody_logs_out(
    customer_client: Client, full: None
) -> None:
    assert customer_client.get("/staff-tools/login/").status_code == 200
    assert customer_client.get("/staff-tools/").status_code == 503


@override_settings(MAINTENANCE_MODE_EXEMPT_ADMIN=False, MAINTENANCE_MODE_LOGOUT_USERS=False)
def test_without_the_admin_exemption_the_login_stays_closed_to_a_logged_in_non_administrator(
    customer_client: Client, full: None
) -> None:
    assert customer_client.get("/admin/login/").status_code == 503
    assert customer_client.get("/cms/login/").status_code == 503


def test_a_non_administrator_who_signs_in_again_as_themselves_gets_the_page_on_the_next_admin_request(
    support_staff: User, superuser_check: None, nobody_logged_out: None
) -> None:
    client = logged_in(support_staff)
    response = client.post("/admin/login/", {"username": "support", "password": "support-pw", "next": "/admin/"})
    assert response.status_code == 302  # the admin's login lets staff in: it cannot know our check
    assert client.post(ADD_GROUP, {"name": "Night shift"}).status_code == 503
    assert not Group.objects.filter(name="Night shift").exists()
    read_only = MaintenanceSettings.load().mode == READ_ONLY
    assert client.get("/admin/").status_code == (200 if read_only else 503)  # read-only: reads go through
    assert session_exists(client)


@pytest.mark.parametrize(("mode", "logout_users"), [("full", False), ("read-only", True), ("read-only", False)])
@pytest.mark.parametrize("method", ["get", "post"])
def test_the_event_loop_asks_a_thread_about_a_logged_in_user_at_the_admin_login_and_logout(
    support_staff: User, superuser_check: None, settings: SettingsWrapper, mode: str, logout_users: bool, method: str
) -> None:
    settings.MAINTENANCE_MODE_LOGOUT_USERS = logout_users
    snapshot = Snapshot(version=1, enabled=True, mode=mode)
    for path in ("/admin/login/", "/admin/logout/", "/cms/login/", "/cms/logout/"):
        request = getattr(RequestFactory(), method)(path)
        request.user = support_staff
        assert decide(request, snapshot, 0.0, may_block=False) is Verdict.NEEDS_IO, path
        assert decide(request, snapshot, 0.0) is Verdict.SERVE_EXEMPT_VIEW, path


def test_full_mode_logs_a_non_administrator_out_at_the_admin_login_as_anywhere(
    support_staff: User, superuser_check: None
) -> None:
    """LOGOUT_USERS=True: logged out with the page there; the next request is a visitor's."""
    request = RequestFactory().post("/admin/login/")
    request.user = support_staff
    assert decide(request, Snapshot(version=1, enabled=True), 0.0) is Verdict.LOGOUT_AND_BLOCK


class TestAsyncLogin:
    @pytest.mark.parametrize(("mode", "logout_users"), [("full", False), (READ_ONLY, True)])
    async def test_async_administrator_whose_browser_holds_a_customer_session_signs_in_at_the_admin(
        self, customer: User, staff_user: User, superuser_check: None, mode: str, logout_users: bool
    ) -> None:
        await sync_to_async(switch_on)(mode)
        with override_settings(MAINTENANCE_MODE_LOGOUT_USERS=logout_users):
            client = await alogged_in(customer)
            assert (await client.get("/admin/login/")).status_code == 200
            assert (await client.post("/admin/login/", ADMIN_LOGIN)).status_code == 302
            assert (await client.post(ADD_GROUP, {"name": "Night shift"})).status_code == 302
        assert await Group.objects.filter(name="Night shift").aexists()

    @pytest.mark.parametrize(("mode", "logout_users"), [("full", False), (READ_ONLY, True)])
    async def test_async_the_rest_of_the_admin_stays_closed_to_a_logged_in_non_administrator_but_its_logout(
        self, support_staff: User, superuser_check: None, mode: str, logout_users: bool
    ) -> None:
        await sync_to_async(switch_on)(mode)
        with override_settings(MAINTENANCE_MODE_LOGOUT_USERS=logout_users):
            client = await alogged_in(support_staff)
            assert (await client.post(ADD_GROUP, {"name": "Night shift"})).status_code == 503
            assert await sync_to_async(session_exists)(client)
            assert (await client.post("/admin/logout/")).status_code == 200
        assert not await Group.objects.filter(name="Night shift").aexists()
        assert not await sync_to_async(session_exists)(client)
