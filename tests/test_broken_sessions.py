"""A session or user store that fails never turns the page into a 500.

The documented use of ``MAINTENANCE_MODE_FORCE`` is "the database itself is
under maintenance": then the session table is as gone as the rest, and a
visitor with a session cookie must get the page like everyone else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.db import DatabaseError, connection
from django.test import AsyncClient, Client, RequestFactory
from django.utils.functional import SimpleLazyObject
from pytest_django.fixtures import Settings as SettingsWrapper

from maintenance_mode import middleware, state
from maintenance_mode.snapshot import Snapshot
from tests import sessions
from tests.clients import logged_in
from tests.middleware import STATUS_PAGE

# Autocommit: on PostgreSQL a failed query must not abort the test's own transaction.
pytestmark = pytest.mark.django_db(transaction=True)


class Tables:
    """Renames tables away, as if the database had lost them, and back."""

    def __init__(self) -> None:
        self.hidden: list[str] = []

    def __call__(self, table: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_hidden")
        self.hidden.append(table)

    def restore(self) -> None:
        while self.hidden:
            table = self.hidden.pop()
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {table}_hidden RENAME TO {table}")


@pytest.fixture
def hide_table() -> Iterator[Tables]:
    tables = Tables()
    yield tables
    tables.restore()


@pytest.fixture(autouse=True)
def _fresh_failure_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees its own first failure logged."""
    monkeypatch.setattr(middleware, "session_failures", state.FailureLog(time.monotonic))


@pytest.fixture
def session_outage(settings: SettingsWrapper) -> Iterator[set[str]]:
    """The session engine of tests/sessions.py: add "load", "save" or "delete" to make its store fail."""
    settings.SESSION_ENGINE = "tests.sessions"
    yield sessions.SessionStore.failing
    sessions.SessionStore.failing.clear()


def our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings this app logged, on its own logger: what the operator reads in an outage."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "maintenance_mode" and record.levelno == logging.WARNING
    ]


def test_forced_page_with_the_session_table_gone_is_served_to_a_visitor_with_a_session(
    settings: SettingsWrapper, customer: User, hide_table: Tables, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MAINTENANCE_MODE_FORCE = True
    client = logged_in(customer)
    hide_table("django_session")
    with caplog.at_level(logging.WARNING, "maintenance_mode"):
        for _ in range(5):
            response = client.get("/")
            assert response.status_code == 503
            assert b"maintenance" in response.content.lower()
    [logged] = our_warnings(caplog)  # once per interval, not per request
    assert logged.startswith("maintenance_mode: the session store is unavailable (")
    assert "django_session" in logged  # the database's own error: what is missing
    assert logged.endswith("; treating the visitor as anonymous.")


def test_forced_page_with_the_session_table_gone_is_served_without_a_cookie(
    settings: SettingsWrapper, hide_table: Tables
) -> None:
    settings.MAINTENANCE_MODE_FORCE = True
    hide_table("django_session")
    assert Client().get("/").status_code == 503


def test_administrator_whose_session_cannot_be_read_gets_the_page(
    settings: SettingsWrapper, staff_user: User, hide_table: Tables
) -> None:
    settings.MAINTENANCE_MODE_FORCE = True
    client = logged_in(staff_user)
    hide_table("django_session")
    assert client.get("/").status_code == 503  # not recognised, so not let through: never a 500


def test_session_store_back_is_logged_and_users_recognised_again(
    settings: SettingsWrapper, staff_user: User, hide_table: Tables, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MAINTENANCE_MODE_FORCE = True
    client = logged_in(staff_user)
    hide_table("django_session")
    with caplog.at_level(logging.WARNING, "maintenance_mode"):
        assert client.get("/").status_code == 503
        hide_table.restore()
        assert client.get("/").status_code == 200
    assert "the session store is back" in caplog.text


def test_logout_that_cannot_delete_the_session_still_serves_the_page(
    settings: SettingsWrapper, customer: User, hide_table: Tables, caplog: pytest.LogCaptureFixture
) -> None:
    """cached_db sessions: the session is read from the cache, the delete fails in the database."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.MAINTENANCE_MODE_FORCE = True
    client = logged_in(customer)
    hide_table("django_session")
    with caplog.at_level(logging.WARNING, "maintenance_mode"):
        response = client.get("/")
    assert response.status_code == 503
    [logged] = our_warnings(caplog)
    assert logged.startswith("maintenance_mode: the session store is unavailable (")
    assert "django_session" in logged  # the database's own error: what is missing
    assert logged.endswith(
        "; showing the page and telling the browser to drop its session cookie"
        " (the session stays in the store until it expires)."
    )


def test_permission_check_on_a_failing_database_treats_the_user_as_no_administrator(
    settings: SettingsWrapper, customer: User, hide_table: Tables, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MAINTENANCE_MODE_FORCE = True
    settings.MAINTENANCE_MODE_ADMIN_CHECK = "perm:maintenance_mode.change_maintenancesettings"
    client = logged_in(customer)
    hide_table("auth_user_user_permissions")
    with caplog.at_level(logging.WARNING, "maintenance_mode"):
        assert client.get("/").status_code == 503
    [logged] = our_warnings(caplog)
    assert logged.startswith("maintenance_mode: the user store is unavailable (")
    assert "auth_user_user_permissions" in logged  # the database's own error: what is missing
    assert logged.endswith("; treating the user as no administrator.")
    assert not Session.objects.exists()  # then logged out like any non-administrator


def test_badges_permission_check_on_a_failing_database_costs_the_settings_link_not_the_page(
    settings: SettingsWrapper, hide_table: Tables, caplog: pytest.LogCaptureFixture
) -> None:
    """Staff (an administrator under the default check, which costs no query) whose
    link needs their permissions from the database: the page and the badge, no link,
    and the operator is told what was lost."""
    settings.MAINTENANCE_MODE_FORCE = True
    support = User.objects.create_user("support", "support@example.com", "support-pw", is_staff=True)
    client = logged_in(support)
    hide_table("auth_user_user_permissions")
    with caplog.at_level(logging.WARNING, "maintenance_mode"):
        response = client.get("/")
    assert response.status_code == 200
    assert b'id="maintenance-mode-indicator"' in response.content
    assert b"/cms/maintenance/" not in response.content
    [logged] = our_warnings(caplog)
    assert logged.startswith("maintenance_mode: the user store is unavailable (")
    assert "auth_user_user_permissions" in logged  # the database's own error: what is missing
    assert logged.endswith("; showing the badge without its settings link.")


def test_logged_in_user_without_a_session_gets_the_page(settings: SettingsWrapper, customer: User) -> None:
    """A token-auth middleware sets request.user with no session at all: nothing to flush, no 500."""
    from django.test import RequestFactory

    settings.MAINTENANCE_MODE_FORCE = True
    request = RequestFactory().get("/")
    request.user = customer
    verdict, response = middleware.settle(request, state.store.current(), time.time())
    assert verdict is middleware.Verdict.LOGOUT_AND_BLOCK
    assert response is not None
    assert response.status_code == 503


@pytest.mark.parametrize("save_every_request", [False, True])
def test_failed_logout_deletes_the_cookie_instead_of_writing_to_the_store_that_failed(
    settings: SettingsWrapper,
    customer: User,
    session_outage: set[str],
    save_every_request: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the session store down, the visitor's session row cannot be deleted: their
    browser is told to forget the cookie instead, and the store is not written again on
    the way out, even under SESSION_SAVE_EVERY_REQUEST and a middleware that turns the
    page into a redirect (where SessionMiddleware would save: that save would be a 500)."""
    settings.MAINTENANCE_MODE_FORCE = True
    settings.SESSION_SAVE_EVERY_REQUEST = save_every_request
    *others, ours = settings.MIDDLEWARE
    settings.MIDDLEWARE = [*others, "tests.middleware.StatusPageMiddleware", ours]
    client = logged_in(customer)
    session_outage.update({"delete", "save"})
    with caplog.at_level(logging.WARNING, "maintenance_mode"):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == STATUS_PAGE
    deletion = response.cookies[settings.SESSION_COOKIE_NAME]
    assert deletion.value == ""
    assert deletion["max-age"] == 0
    [logged] = our_warnings(caplog)
    assert logged == (
        "maintenance_mode: the session store is unavailable (SessionServerDownError: the session server "
        "refused the delete); showing the page and telling the browser to drop its session cookie"
        " (the session stays in the store until it expires)."
    )


# Every engine whose delete can fail: the 503 page itself tells the browser to drop the cookie.
FAILING_DELETES = {
    "django.contrib.sessions.backends.db": DatabaseError("cannot execute DELETE in a read-only transaction"),
    "django.contrib.sessions.backends.cache": ConnectionError("Error 111 connecting to redis"),
    "django.contrib.sessions.backends.cached_db": DatabaseError("cannot execute DELETE in a read-only transaction"),
    "django.contrib.sessions.backends.file": PermissionError(13, "Permission denied"),
}


@pytest.mark.parametrize("engine", sorted(FAILING_DELETES))
def test_failed_logout_tells_the_browser_to_drop_the_cookie_on_the_page_with_any_engine(
    settings: SettingsWrapper, customer: User, engine: str, tmp_path: Path
) -> None:
    settings.SESSION_ENGINE = engine
    settings.SESSION_FILE_PATH = str(tmp_path)
    settings.MAINTENANCE_MODE_FORCE = True
    client = logged_in(customer)
    store = import_module(engine).SessionStore
    with mock.patch.object(store, "delete", side_effect=FAILING_DELETES[engine]):
        response = client.get("/")
    assert response.status_code == 503
    deletion = response.cookies[settings.SESSION_COOKIE_NAME]
    assert deletion.value == ""
    assert deletion["max-age"] == 0
    assert client.get("/").status_code == 503  # no cookie any more: anonymous, nothing to delete


def test_failed_logout_by_a_logged_out_receiver_drops_a_signed_cookie_session(
    settings: SettingsWrapper, customer: User
) -> None:
    """signed_cookies sessions have no store to fail, but logout() can still raise before
    the flush (a user_logged_out receiver writing to the database under maintenance)."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.MAINTENANCE_MODE_FORCE = True
    client = logged_in(customer)

    def audit(**kwargs: object) -> None:
        raise DatabaseError("cannot execute INSERT in a read-only transaction")

    user_logged_out.connect(audit, dispatch_uid="review2-audit")
    try:
        response = client.get("/")
    finally:
        user_logged_out.disconnect(dispatch_uid="review2-audit")
    assert response.status_code == 503
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == ""


def test_failed_logout_page_does_not_greet_the_customer_it_signed_out(
    settings: SettingsWrapper, customer: User, session_outage: set[str]
) -> None:
    """A theme on the project's base.html greets logged-in users: the customer whose
    session could not be deleted is signed out in their browser, so the page must not
    say they are still signed in."""
    from tests.test_theming_context import project_theme

    settings.MAINTENANCE_MODE_FORCE = True
    client = logged_in(customer)
    session_outage.add("delete")
    with project_theme():
        response = client.get("/")
    assert response.status_code == 503
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == ""
    assert b"greeting" not in response.content


def test_a_session_store_that_fails_then_recovers_leaves_the_visitor_anonymous_for_the_whole_request(
    settings: SettingsWrapper, customer: User, session_outage: set[str]
) -> None:
    """The request is decided for an anonymous visitor: the view must not then find,
    on its own read of a store back already, a logged-in non-administrator, to whom
    the admin is not open (staff under ADMIN_CHECK = "superuser", here)."""
    settings.MAINTENANCE_MODE_FORCE = True
    settings.MAINTENANCE_MODE_ADMIN_CHECK = "superuser"
    customer.is_staff = True
    customer.save()
    customer.user_permissions.add(Permission.objects.get(codename="view_group"))
    client = logged_in(customer)
    real_load = sessions.SessionStore.load
    blips: list[str] = []

    def load_after_a_blip(self: sessions.SessionStore) -> dict[str, object]:
        if len(blips) < 2:  # our middleware's two reads: before the view is resolved, then in process_view
            blips.append("load")
            raise sessions.SessionServerDownError("the session server missed a read")
        return real_load(self)

    with mock.patch.object(sessions.SessionStore, "load", load_after_a_blip):
        response = client.get("/admin/auth/group/")
    assert response.status_code == 302  # the admin's answer to a visitor not logged in: its login
    assert response["Location"].startswith("/admin/login/")


async def test_a_failed_session_read_leaves_the_async_user_anonymous_too(customer: User) -> None:
    """An async view (or an outer async middleware) asks request.auser(), not request.user."""

    def unreadable() -> User:
        raise sessions.SessionServerDownError("the session server refused the load")

    async def from_the_session() -> User:
        return customer  # what AuthenticationMiddleware's auser() would find once the store is back

    request = RequestFactory().get("/")
    request.COOKIES[django_settings.SESSION_COOKIE_NAME] = "a-session-key"
    request.user = SimpleLazyObject(unreadable)  # type: ignore[assignment]
    request.auser = from_the_session
    assert middleware.decide(request, Snapshot(version=1, enabled=True), 0.0) is middleware.Verdict.BLOCK
    assert not request.user.is_authenticated
    assert not (await request.auser()).is_authenticated


async def test_async_failed_logout_tells_the_browser_to_drop_the_cookie_and_greets_no_one(
    settings: SettingsWrapper, customer: User, session_outage: set[str]
) -> None:
    """Under ASGI the logout runs in a worker thread: the same answer as the sync path's."""
    from tests.test_theming_context import project_theme

    settings.MAINTENANCE_MODE_FORCE = True
    client = AsyncClient()
    await client.aforce_login(customer)
    session_outage.add("delete")
    with project_theme():
        response = await client.get("/")
    assert response.status_code == 503
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == ""
    assert b"greeting" not in response.content


def test_a_failing_session_store_is_logged_once_for_visitors_of_the_admin_login(
    settings: SettingsWrapper, customer: User, session_outage: set[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The admin is decided twice per request (before the view is resolved, then in
    process_view): the second look, at the anonymous visitor the first one settled
    on, reads no session, so it is no news that the store is back."""
    settings.MAINTENANCE_MODE_FORCE = True
    client = logged_in(customer)
    session_outage.add("load")
    with caplog.at_level(logging.WARNING, "maintenance_mode"):
        for _ in range(3):
            assert client.get("/admin/login/").status_code == 200
    [logged] = our_warnings(caplog)
    assert logged == (
        "maintenance_mode: the session store is unavailable (SessionServerDownError: the session server "
        "refused the load); treating the visitor as anonymous."
    )
