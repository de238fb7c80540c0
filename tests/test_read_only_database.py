"""MAINTENANCE_MODE_READ_ONLY_DATABASE: writes hidden in a visitor's read are refused."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import connection
from django.http import HttpRequest
from django.test import AsyncClient, Client, RequestFactory, override_settings

from maintenance_mode import guard
from maintenance_mode.middleware import MaintenanceModeMiddleware
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.snapshot import READ_ONLY, Snapshot
from tests.headers import cache_directives

pytestmark = pytest.mark.django_db

NOT_SAVED = b"Your change was not saved"


def switch_read_only() -> None:
    row = MaintenanceSettings.load()
    row.enabled = True
    row.mode = MaintenanceSettings.Mode.READ_ONLY
    row.save()


@pytest.fixture
def read_only(db: None) -> None:
    switch_read_only()


@pytest.fixture
def guarded(settings: object, read_only: None) -> None:
    settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]


def test_without_the_setting_a_read_that_writes_still_writes(client: Client, read_only: None) -> None:
    response = client.get("/hidden-write/")
    assert response.status_code == 200
    assert Group.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # a refusal inside the test's transaction would break it
def test_a_read_that_writes_gets_the_read_only_page_and_writes_nothing(
    client: Client, guarded: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.get("/hidden-write/")
    assert response.status_code == 503
    assert NOT_SAVED in response.content
    assert "no-store" in cache_directives(response)
    assert Group.objects.count() == 0
    assert not [record for record in caplog.records if record.name == "django.request"]  # no 500, no email
    assert any("refused INSERT" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_a_write_behind_a_leading_sql_comment_is_refused_too(client: Client, guarded: None) -> None:
    response = client.get("/tagged-hidden-write/")
    assert response.status_code == 503
    assert NOT_SAVED in response.content
    assert not Group.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_stream_that_writes_while_it_is_sent_is_cut_and_writes_nothing(client: Client, guarded: None) -> None:
    response = client.get("/streaming-hidden-write/")
    assert response.status_code == 200  # sent before the write was tried
    with pytest.raises(guard.WriteRefusedError):
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert not Group.objects.exists()


def test_a_stream_that_writes_nothing_is_sent_whole(client: Client, guarded: None) -> None:
    response = client.get("/streaming/")
    assert b"".join(response.streaming_content) == b"<html><body>stream</body></html>"  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_a_swallowed_refusal_inside_atomic_requests_is_the_read_only_page_not_a_logged_500(
    client: Client, guarded: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/swallowed-write-then-read/")  # its count() meets the broken transaction
    assert response.status_code == 503
    assert NOT_SAVED in response.content
    assert not [record for record in caplog.records if record.name == "django.request"]  # no 500 log, no email
    assert not Group.objects.exists()


@pytest.mark.django_db(transaction=True)  # a refusal inside the test's transaction would break it
def test_the_guards_refusal_is_answered_with_the_read_only_page_where_the_view_raised_it(read_only: None) -> None:
    """process_exception, called as Django calls it when the view lets the refusal through."""
    middleware = MaintenanceModeMiddleware(lambda request: None)  # type: ignore[arg-type]
    guard.install()
    with guard.refusing_writes(Snapshot(enabled=True, mode=READ_ONLY)):
        with pytest.raises(guard.WriteRefusedError) as refused:
            Group.objects.create(name="visit 1")
        response = middleware.process_exception(RequestFactory().get("/"), refused.value)
    assert response is not None
    assert response.status_code == 503
    assert NOT_SAVED in response.content
    assert not Group.objects.exists()


def test_an_exception_without_a_refusal_is_left_to_django() -> None:
    middleware = MaintenanceModeMiddleware(lambda request: None)  # type: ignore[arg-type]
    with guard.refusing_writes(Snapshot()):  # a guarded request, nothing refused
        assert middleware.process_exception(HttpRequest(), ValueError("a bug of the view")) is None


DATABASE_CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "db": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "shop_cache"},
}


@pytest.mark.django_db(transaction=True)
def test_a_read_that_fills_a_database_cache_gets_the_page(client: Client, guarded: None, settings: object) -> None:
    settings.CACHES = DATABASE_CACHES  # type: ignore[attr-defined]
    call_command("createcachetable", verbosity=0)
    try:
        response = client.get("/cached-fragment/")
        assert response.status_code == 200
        assert caches["db"].get("fragment") == "<p>cached</p>"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE shop_cache")


@pytest.mark.django_db(transaction=True)  # a refusal inside the test's transaction would break it
def test_a_view_that_swallows_the_refusal_still_answers_the_read_only_page(client: Client, guarded: None) -> None:
    response = client.get("/swallowed-write/")
    assert response.status_code == 503
    assert NOT_SAVED in response.content
    assert not Group.objects.exists()


@pytest.mark.django_db(transaction=True)  # a refusal inside the test's transaction would break it
def test_json_client_gets_the_read_only_json(client: Client, guarded: None) -> None:
    response = client.get("/hidden-write/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json()["read_only"] is True


def test_sign_in_and_session_writes_pass(client: Client, customer: User, guarded: None) -> None:
    response = client.get("/sign-in-link/")
    assert response.status_code == 200
    assert b"signed in, maintenance True" in response.content  # the app's own state read passes too
    customer.refresh_from_db()
    assert customer.last_login is not None
    assert Session.objects.filter(session_key=client.cookies["sessionid"].value).exists()


def test_a_read_that_writes_nothing_gets_the_notice(client: Client, guarded: None) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b'id="maintenance-mode-read-only"' in response.content


def test_administrators_reads_are_not_guarded(staff_client: Client, guarded: None) -> None:
    assert staff_client.get("/hidden-write/").status_code == 200
    assert Group.objects.count() == 1


def test_nothing_is_guarded_while_maintenance_is_off(client: Client, settings: object) -> None:
    settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]
    assert client.get("/hidden-write/").status_code == 200


@pytest.mark.django_db(transaction=True)  # a refusal inside the test's transaction would break it
def test_writes_after_a_guarded_request_pass(client: Client, guarded: None) -> None:
    assert client.get("/hidden-write/").status_code == 503
    Group.objects.create(name="the test itself, outside any request")  # the wrapper stays, inactive
    assert Group.objects.count() == 1


def test_other_exceptions_are_left_to_django(read_only: None) -> None:
    middleware = MaintenanceModeMiddleware(lambda request: None)  # type: ignore[arg-type]
    assert middleware.process_exception(HttpRequest(), ValueError("a bug")) is None


@pytest.mark.django_db(transaction=True)  # async code reaches the database from another thread
class TestAsyncGuard:
    async def test_async_read_that_writes_gets_the_read_only_page(self, settings: object) -> None:
        settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]
        await sync_to_async(switch_read_only)()
        response = await AsyncClient().get("/async-hidden-write/")
        assert response.status_code == 503
        assert NOT_SAVED in response.content
        assert not await Group.objects.aexists()

    async def test_sync_view_under_asgi_is_guarded_too(self, settings: object) -> None:
        settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]
        await sync_to_async(switch_read_only)()
        response = await AsyncClient().get("/hidden-write/")
        assert response.status_code == 503
        assert not await Group.objects.aexists()

    async def test_async_view_writing_from_a_pool_thread_is_guarded_too(self, settings: object) -> None:
        settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]
        await sync_to_async(switch_read_only)()
        response = await AsyncClient().get("/pool-thread-hidden-write/")
        assert response.status_code == 503
        assert NOT_SAVED in response.content
        assert not await Group.objects.aexists()

    async def test_async_stream_that_writes_while_it_is_sent_is_cut_and_writes_nothing(self, settings: object) -> None:
        settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]
        await sync_to_async(switch_read_only)()
        response = await AsyncClient().get("/async-streaming-hidden-write/")
        assert response.status_code == 200
        chunks: list[bytes] = []

        async def receive() -> None:
            async for chunk in response.streaming_content:  # type: ignore[attr-defined]
                chunks.append(chunk)

        with pytest.raises(guard.WriteRefusedError):
            await receive()
        assert chunks == [b"id,name\n"]
        assert not await Group.objects.aexists()

    async def test_async_read_without_writes_gets_the_notice(self, settings: object) -> None:
        settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]
        await sync_to_async(switch_read_only)()
        response = await AsyncClient().get("/async/")
        assert response.status_code == 200
        assert b'id="maintenance-mode-read-only"' in response.content


async def test_async_stream_is_passed_whole_each_chunk_made_inside_the_guard() -> None:
    refusals = guard.Refusals(Snapshot())
    seen: list[guard.Refusals | None] = []

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"a", b"b"):
            seen.append(guard.active())
            yield chunk

    assert [chunk async for chunk in guard.arefusing_while_streaming(chunks(), refusals)] == [b"a", b"b"]
    assert seen == [refusals, refusals]
    assert guard.active() is None


# Which statements change data


@pytest.mark.parametrize(
    "sql",
    [
        'INSERT INTO "auth_group" ("name") VALUES (%s)',
        "insert into auth_group (name) values (%s)",
        "INSERT OR IGNORE INTO `auth_group` (`name`) VALUES (%s)",
        'UPDATE "auth_group" SET "name" = %s WHERE "auth_group"."id" = %s',
        'UPDATE "auth_user" SET "last_login" = %s, "email" = %s WHERE "auth_user"."id" = %s',
        'UPDATE "auth_user" SET "last_login" = %s',  # every row: not a sign-in
        'DELETE FROM "auth_group" WHERE "auth_group"."id" IN (%s)',
        "TRUNCATE TABLE shop_order",
        "  UPSERT INTO t VALUES (1)",
        'INSERT INTO "public"."auth_group" ("name") VALUES (%s)',
        # A tag comment first, as APMs write them (Datadog's database monitoring), or a hand-written note:
        "/*dddbs='shop',dde='prod',ddps='web'*/ INSERT INTO \"auth_group\" (\"name\") VALUES (%s)",
        "-- count the visit\nUPDATE auth_group SET name = %s WHERE id = %s",
        "  /* a */ /* b */\n-- c\n  DELETE FROM auth_group",
        # A common table expression that writes:
        'WITH moved AS (DELETE FROM "shop_cart" RETURNING *) INSERT INTO "shop_archive" SELECT * FROM moved',
        "with recent as (select id from auth_group) update auth_group set name = %s where id in (select id from t)",
    ],
)
def test_statements_that_change_data_are_refused(sql: str) -> None:
    assert guard._changes_data(sql)


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "auth_group"."id" FROM "auth_group"',
        'UPDATE "auth_user" SET "last_login" = %s WHERE "auth_user"."id" = %s',
        "UPDATE `auth_user` SET `last_login` = %s WHERE `auth_user`.`id` = %s",
        'INSERT INTO "django_session" ("session_key") VALUES (%s)',
        'DELETE FROM "django_session" WHERE "django_session"."session_key" = %s',
        'UPDATE "maintenance_mode_maintenancesettings" SET "signalled_active" = %s WHERE "id" = %s',
        'INSERT INTO "maintenance_mode_maintenanceevent" ("source") VALUES (%s)',
        "SAVEPOINT s1",
        '/*dddbs=\'shop\'*/ SELECT "auth_group"."id" FROM "auth_group"',
        '/*dddbs=\'shop\'*/ UPDATE "django_session" SET "session_data" = %s WHERE "session_key" = %s',
        '-- the last sign-in\nUPDATE "auth_user" SET "last_login" = %s WHERE "auth_user"."id" = %s',
        'WITH recent AS (SELECT "id" FROM "auth_group") SELECT * FROM recent FOR UPDATE',
        "/* unterminated comment SELECT 1",
    ],
)
def test_reads_sessions_sign_ins_and_the_apps_own_state_pass(sql: str) -> None:
    assert not guard._changes_data(sql)


@override_settings(
    CACHES={
        **DATABASE_CACHES,
        "unknown": {"BACKEND": "no.such.Backend"},
        "unnamed": {"BACKEND": "django.core.cache.backends.db.DatabaseCache"},
    }
)
def test_database_cache_tables_pass_and_other_caches_give_no_pass() -> None:
    assert not guard._changes_data('INSERT INTO "shop_cache" (cache_key, value, expires) VALUES (%s, %s, %s)')
    assert not guard._changes_data('DELETE FROM "shop_cache" WHERE cache_key IN (%s)')
    assert guard._changes_data('INSERT INTO "auth_group" ("name") VALUES (%s)')


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
def test_session_table_gets_no_pass_when_sessions_are_not_in_the_database() -> None:
    assert guard._changes_data('DELETE FROM "django_session" WHERE "session_key" = %s')


def test_user_model_without_last_login_gets_no_pass() -> None:
    guard.clear_caches()
    try:
        with mock.patch("django.contrib.auth.get_user_model", return_value=Group):
            assert guard._changes_data('UPDATE "auth_group" SET "name" = %s WHERE "id" = %s')
    finally:
        guard.clear_caches()


def test_refusals_are_logged_once_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    guard.clear_caches()
    with caplog.at_level(logging.WARNING, logger="maintenance_mode"):
        for _ in range(3):
            guard._log_once('INSERT INTO "shop_visit" VALUES (1)')
        guard._log_once("/*dddbs='shop'*/ INSERT INTO \"shop_visit\" VALUES (1)")  # the same kind, tagged
        for number in range(300):  # a bounded memory, whatever the views do
            guard._log_once(f'INSERT INTO "t{number}" VALUES (1)')
    assert sum("shop_visit" in record.getMessage() for record in caplog.records) == 1
    assert not any("/*" in record.getMessage() for record in caplog.records)
    assert len(caplog.records) == 256
    guard.clear_caches()


@override_settings(MAINTENANCE_MODE_READ_ONLY_DATABASE="yes")
def test_the_setting_must_be_a_boolean() -> None:
    errors = [error for error in run_checks() if error.id == "maintenance_mode.E006"]
    assert [error.msg for error in errors] == ["MAINTENANCE_MODE_READ_ONLY_DATABASE is 'yes'."]


def test_new_connections_get_the_guard_only_while_the_setting_is_on(settings: object) -> None:
    from django.db import connections

    default = connections["default"]
    wrapper = type(default)(default.settings_dict, alias="guard-probe")  # a pool thread's, say
    guard.install_on_new_connection(sender=type(wrapper), connection=wrapper)
    assert guard._guard not in wrapper.execute_wrappers
    settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]
    for _ in range(2):
        guard.install_on_new_connection(sender=type(wrapper), connection=wrapper)
    assert wrapper.execute_wrappers.count(guard._guard) == 1


def test_guard_is_installed_once_per_connection(read_only: None, settings: object) -> None:
    from django.db import connection

    settings.MAINTENANCE_MODE_READ_ONLY_DATABASE = True  # type: ignore[attr-defined]
    middleware = MaintenanceModeMiddleware(lambda request: None)  # type: ignore[arg-type]
    for _ in range(3):
        request = RequestFactory().get("/")
        request.user = mock.Mock(is_authenticated=False)
        middleware(request)
    assert connection.execute_wrappers.count(guard._guard) == 1
