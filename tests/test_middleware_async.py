"""The async path (ASGI): every verdict, and which of them are decided in the event
loop without a hop to a thread (issue #13: a flood of anonymous visitors must cost
no thread hop, no query and no cache call)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.models import Session
from django.core.cache import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.db.backends.utils import CursorWrapper
from django.test import AsyncClient, RequestFactory, override_settings
from pytest_django.fixtures import Settings

from maintenance_mode import bypass, page, state
from maintenance_mode.middleware import Verdict, decide, settle
from maintenance_mode.snapshot import READ_ONLY, Snapshot
from tests.headers import cache_directives

pytestmark = pytest.mark.django_db(transaction=True)  # async code reaches the database from another thread

SECRET = "let-me-in-0123456789"


@pytest.fixture(autouse=True)
def _long_ttl(settings: Settings) -> None:
    settings.MAINTENANCE_MODE_STATE_TTL = 600  # the snapshot stays fresh: no refresh in these tests


def publish(**fields: Any) -> Snapshot:
    """Install a snapshot in this process, as a write through the admin would."""
    state.store.reset()
    snapshot = Snapshot(version=1, **fields)
    state.store.publish(snapshot)
    assert state.store.fresh() is snapshot
    return snapshot


class TestDecidedInTheEventLoop:
    async def test_anonymous_visitor_gets_the_page_without_a_hop_once_it_is_rendered(
        self, async_client: AsyncClient, hops: list[str]
    ) -> None:
        publish(enabled=True)
        first = await async_client.get("/async/")
        assert hops == ["settle"]  # the first visitor of this state renders the page, in a thread
        second = await async_client.get("/async/")
        assert hops == ["settle"]
        assert first.status_code == second.status_code == 503
        assert second.content == first.content
        assert b"We are performing scheduled maintenance" in second.content
        assert "no-store" in cache_directives(second)

    async def test_head_gets_the_page_headers_without_a_hop(self, async_client: AsyncClient, hops: list[str]) -> None:
        publish(enabled=True)
        await async_client.get("/async/")
        response = await async_client.head("/async/")
        assert response.status_code == 503
        assert hops == ["settle"]

    async def test_json_client_needs_no_rendering_and_no_hop(self, async_client: AsyncClient, hops: list[str]) -> None:
        publish(enabled=True, message="Back at noon")
        response = await async_client.get("/async/", headers={"Accept": "application/json"})
        assert response.status_code == 503
        assert response.json()["message"] == "Back at noon"
        assert hops == []

    async def test_each_language_renders_its_page_once(self, async_client: AsyncClient, hops: list[str]) -> None:
        publish(enabled=True)
        english = await async_client.get("/async/", headers={"Accept-Language": "en"})
        german = await async_client.get("/async/", headers={"Accept-Language": "de"})
        assert hops == ["settle", "settle"]
        assert (await async_client.get("/async/", headers={"Accept-Language": "de"})).content == german.content
        assert hops == ["settle", "settle"]
        assert english.content != german.content

    async def test_secret_link_grants_the_bypass_without_a_hop(
        self, async_client: AsyncClient, hops: list[str]
    ) -> None:
        publish(enabled=True, secret=SECRET)
        response = await async_client.get(f"/{SECRET}")
        assert response.status_code == 302
        assert response.cookies["maintenance_bypass"].value
        assert hops == []

    async def test_bypass_cookie_holder_sees_the_site_without_a_hop(self, hops: list[str]) -> None:
        publish(enabled=True, secret=SECRET)
        client = AsyncClient()
        client.cookies["maintenance_bypass"] = bypass.make_cookie_value(SECRET)
        response = await client.get("/async/")
        assert response.status_code == 200
        assert b"maintenance-mode-indicator" in response.content
        assert hops == []

    @override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["127.0.0.0/8"])
    async def test_allowed_ip_sees_the_site_without_a_hop(self, async_client: AsyncClient, hops: list[str]) -> None:
        publish(enabled=True)
        assert (await async_client.get("/async/")).status_code == 200
        assert hops == []

    async def test_exempt_path_and_exempt_view_are_served_without_a_hop(
        self, async_client: AsyncClient, hops: list[str]
    ) -> None:
        publish(enabled=True)
        assert (await async_client.get("/health")).status_code == 200
        assert (await async_client.get("/exempt-view/")).status_code == 200
        assert hops == []

    async def test_read_only_visitor_reads_the_site_without_a_hop(
        self, async_client: AsyncClient, hops: list[str]
    ) -> None:
        publish(enabled=True, mode=READ_ONLY)
        response = await async_client.get("/async/")
        assert response.status_code == 200
        assert hops == []

    async def test_read_only_visitor_change_is_refused_without_a_hop_once_rendered(
        self, async_client: AsyncClient, hops: list[str]
    ) -> None:
        publish(enabled=True, mode=READ_ONLY)
        first = await async_client.post("/async/")
        second = await async_client.post("/async/")
        assert first.status_code == second.status_code == 503
        assert second.content == first.content
        assert hops == ["settle"]

    async def test_maintenance_off_needs_no_hop(self, async_client: AsyncClient, hops: list[str]) -> None:
        publish(enabled=False)
        assert (await async_client.get("/async/")).status_code == 200
        assert hops == []


class TestDecidedInAThread:
    async def test_session_cookie_is_read_in_a_thread(self, hops: list[str]) -> None:
        publish(enabled=True)
        client = AsyncClient()
        client.cookies["sessionid"] = "no-such-session"  # anonymous, but only the session store can tell
        response = await client.get("/async/")
        assert response.status_code == 503
        assert hops == ["settle"]

    async def test_staff_user_sees_the_site_after_a_hop(self, staff_user: User, hops: list[str]) -> None:
        publish(enabled=True)
        client = AsyncClient()
        await client.aforce_login(staff_user)
        response = await client.get("/async/")
        assert response.status_code == 200
        assert b"maintenance-mode-indicator" in response.content
        assert hops == ["settle"]

    async def test_customer_is_logged_out_in_a_thread(self, customer: User, hops: list[str]) -> None:
        from django.contrib.sessions.models import Session

        publish(enabled=True)
        client = AsyncClient()
        await client.aforce_login(customer)
        session_key = client.cookies["sessionid"].value
        response = await client.get("/async/")
        assert response.status_code == 503
        assert hops == ["settle"]
        assert not await Session.objects.filter(session_key=session_key).aexists()

    @override_settings(MAINTENANCE_MODE_READ_ONLY_DATABASE=True)
    async def test_read_only_read_with_the_database_guard_installs_it_in_a_thread(
        self, async_client: AsyncClient, hops: list[str]
    ) -> None:
        publish(enabled=True, mode=READ_ONLY)
        assert (await async_client.get("/async/")).status_code == 200
        assert hops == ["settle"]  # the thread that runs the view's queries gets the guard

    @override_settings(DEBUG=True)
    async def test_page_rendered_per_request_under_debug_is_rendered_in_a_thread(
        self, async_client: AsyncClient, hops: list[str]
    ) -> None:
        publish(enabled=True)
        await async_client.get("/async/")
        await async_client.get("/async/")
        assert hops == ["settle", "settle"]


class TestBlockingStepsStayOffTheLoop:
    """What needs the session or the database runs in a worker thread, also once the
    page is rendered and the event loop answers most visitors alone. In the event
    loop, Django refuses database access (SynchronousOnlyOperation): a session read
    or a logout there would fail, and the visitor be taken for anonymous."""

    async def test_staff_user_sees_the_site_once_the_page_is_rendered(self, staff_user: User) -> None:
        publish(enabled=True)
        assert (await AsyncClient().get("/async/")).status_code == 503  # renders the page for visitors
        client = AsyncClient()
        await client.aforce_login(staff_user)
        response = await client.get("/async/")
        assert response.status_code == 200
        assert b"maintenance-mode-indicator" in response.content

    async def test_customer_is_logged_out_once_the_page_is_rendered(self, customer: User) -> None:
        publish(enabled=True)
        assert (await AsyncClient().get("/async/")).status_code == 503
        client = AsyncClient()
        await client.aforce_login(customer)
        session_key = client.cookies["sessionid"].value
        assert (await client.get("/async/")).status_code == 503
        assert not await Session.objects.filter(session_key=session_key).aexists()

    @override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, "tests.middleware.AsyncShopUrlconfMiddleware"])
    async def test_customer_blocked_when_the_view_is_confirmed_is_logged_out(self, customer: User) -> None:
        """Exempt in the root urlconf, a live page in the request's: blocked (and
        logged out) by the confirmation in process_view, which hops to a thread too."""
        publish(enabled=True)
        assert (await AsyncClient().get("/async/")).status_code == 503  # the page is rendered
        client = AsyncClient()
        await client.aforce_login(customer)
        session_key = client.cookies["sessionid"].value
        response = await client.get("/exempt-view/")
        assert response.status_code == 503
        assert not await Session.objects.filter(session_key=session_key).aexists()


# A planned window, and the middleware's clock set inside or around it.
START = datetime(2030, 6, 1, 20, 0, tzinfo=dt_timezone.utc).timestamp()
END = START + 2 * 60 * 60


def at(moment: float) -> mock._patch[mock.MagicMock]:
    return mock.patch("maintenance_mode.middleware.time.time", return_value=moment)


class TestScheduledWindow:
    async def test_site_is_live_just_before_the_start(self, async_client: AsyncClient) -> None:
        publish(enabled=True, starts_at=START, ends_at=END)
        with at(START - 0.001):
            response = await async_client.get("/async/")
        assert response.status_code == 200
        assert b"Async live site" in response.content

    async def test_page_is_shown_during_the_window_in_a_thread_then_in_the_loop(
        self, async_client: AsyncClient, hops: list[str]
    ) -> None:
        publish(enabled=True, starts_at=START, ends_at=END)
        with at(END - 60):
            first = await async_client.get("/async/")  # renders the page, in a thread
            second = await async_client.get("/async/")  # the rendered page, from the event loop
        assert first.status_code == second.status_code == 503
        assert first["Retry-After"] == second["Retry-After"] == "60"
        assert hops == ["settle"]

    async def test_site_is_live_again_exactly_at_the_end(self, async_client: AsyncClient) -> None:
        publish(enabled=True, starts_at=START, ends_at=END)
        with at(END):
            assert (await async_client.get("/async/")).status_code == 200

    async def test_logged_in_customer_reaches_an_exempt_view_during_the_window(
        self, customer: User, hops: list[str]
    ) -> None:
        publish(enabled=True, starts_at=START, ends_at=END)
        client = AsyncClient()
        await client.aforce_login(customer)
        with at(START + 60):
            response = await client.get("/exempt-view/")
        assert response.status_code == 200
        assert response.content == b"exempt view"
        assert hops == ["settle", "settle"]  # decided in a thread, and confirmed in one (process_view)


class TestOneDecision:
    """The event loop's answer is decide()'s, or "ask again in a thread"; never another verdict."""

    def test_sync_decide_never_answers_needs_io(self, customer: User) -> None:
        snapshot = Snapshot(enabled=True)
        request = RequestFactory().get("/", headers={"Cookie": "sessionid=abc"})
        request.user = customer
        assert decide(request, snapshot, 0) is Verdict.LOGOUT_AND_BLOCK

    def test_already_read_anonymous_user_is_decided_in_the_event_loop(self) -> None:
        request = RequestFactory().get("/", headers={"Cookie": "sessionid=abc"})
        request.user = AnonymousUser()  # read by an earlier middleware: no I/O left
        assert decide(request, Snapshot(enabled=True), 0, may_block=False) is Verdict.BLOCK

    def test_already_read_logged_in_user_still_goes_to_a_thread(self, customer: User) -> None:
        request = RequestFactory().get("/")
        request.user = customer  # the administrator check may query, and a logout writes
        assert decide(request, Snapshot(enabled=True), 0, may_block=False) is Verdict.NEEDS_IO

    def test_page_not_rendered_yet_goes_to_a_thread(self) -> None:
        request = RequestFactory().get("/")
        snapshot = Snapshot(enabled=True)
        assert settle(request, snapshot, 0, may_block=False) == (Verdict.NEEDS_IO, None)
        verdict, response = settle(request, snapshot, 0)  # the thread renders it
        assert verdict is Verdict.BLOCK
        assert response is not None
        verdict, again = settle(request, snapshot, 0, may_block=False)
        assert verdict is Verdict.BLOCK
        assert again is not None
        assert again.content == response.content


@pytest.fixture
def io_calls() -> Iterator[dict[str, int]]:
    """SQL statements and Redis cache calls, in any thread (the async path's sync parts
    run in asgiref's worker threads, each with its own database connection)."""
    counts = {"queries": 0, "cache": 0}
    patches = [
        mock.patch.object(CursorWrapper, name, autospec=True, side_effect=_counting(counts, "queries", original))
        for name, original in (("execute", CursorWrapper.execute), ("executemany", CursorWrapper.executemany))
    ]
    for name in ("get", "get_many", "set", "add", "delete", "touch", "has_key", "incr"):
        patches.append(
            mock.patch.object(
                RedisCache, name, autospec=True, side_effect=_counting(counts, "cache", getattr(RedisCache, name))
            )
        )
    for patch in patches:
        patch.start()
    yield counts
    for patch in patches:
        patch.stop()


def _counting(counts: dict[str, int], key: str, original: Any) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[key] += 1
        return original(*args, **kwargs)

    return counted


class TestNoPerRequestIO:
    @pytest.mark.parametrize(("enabled", "status"), [(False, 200), (True, 503)])
    async def test_a_flood_of_anonymous_visitors_costs_no_query_and_no_cache_call(
        self, shared_cache: BaseCache, io_calls: dict[str, int], enabled: bool, status: int
    ) -> None:
        await sync_to_async(_switch)(enabled)
        client = AsyncClient()
        assert (await client.get("/async/")).status_code == status  # reads the state, renders the page
        io_calls.update(queries=0, cache=0)
        for _ in range(5):
            assert (await client.get("/async/")).status_code == status
        assert io_calls == {"queries": 0, "cache": 0}

    async def test_the_counts_see_the_worker_threads(self, shared_cache: BaseCache, io_calls: dict[str, int]) -> None:
        await sync_to_async(_switch)(True)
        state.store.reset()  # as in a new process: the first request reads the shared cache
        io_calls.update(queries=0, cache=0)
        client = AsyncClient()
        client.cookies["sessionid"] = "no-such-session"
        assert (await client.get("/async/")).status_code == 503
        assert io_calls["cache"] >= 1
        assert io_calls["queries"] >= 1  # the session store, read in a thread


def _switch(enabled: bool) -> None:
    """Through the model, as the admin does: the row, then the shared cache."""
    from django.test import TestCase

    from maintenance_mode.models import MaintenanceSettings

    state.store.reset()
    row = MaintenanceSettings.load()
    row.enabled = enabled
    with TestCase.captureOnCommitCallbacks(execute=True):
        row.save()


def test_rendered_pages_stay_bounded() -> None:
    for number in range(page._MAX_PAGES + 1):
        page.page_bytes(Snapshot(enabled=True, message=f"Window {number}"))
    assert 0 < len(page._pages) <= page._MAX_PAGES
    last = Snapshot(enabled=True, message="The last window")
    assert page.cached_page_bytes(last) is None
    body = page.page_bytes(last)
    assert b"The last window" in body
    assert page.cached_page_bytes(last) == body
