"""Hung services under real servers: no visitor waits on the state.

Our own Redis and our own PostgreSQL (never the machine's), three servers at
once on them (gunicorn with 3 sync workers, gunicorn gthread, uvicorn with 2
workers) and Django's default Redis OPTIONS (no short socket timeouts), as a
new project has them. Each fault lasts 20 s while clients hammer every server;
what counts is the longest stretch in which a server completed no response.
The bounds are generous (a worker waiting on the frozen service would stall for
the whole 20 s); the measured numbers go to the report.
"""

from __future__ import annotations

import http.client
import itertools
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration import report, services
from tests.integration.servers import MANAGE_PY, REPO, Deployment, Server, Site, running
from tests.integration.traffic import NO_RESPONSE, Endpoint, Observation, Tally, fetch

pytestmark = pytest.mark.integration

FREEZE = 20.0  # seconds each fault lasts
# Generous (measured: at most 0.21 s on a busy 2-core machine), yet below the
# 4.8 s stalls of sync workers that refresh in the request and wait out
# redis-py's default 5 s socket timeout (measured with BACKGROUND_REFRESH off),
# let alone the whole FREEZE they wait on a frozen PostgreSQL.
GAP_BOUND = 3.0
GUNICORN_TIMEOUT = 10  # a gunicorn worker stuck longer than this is killed ("WORKER TIMEOUT")
CLIENTS_PER_SERVER = 4
COMMAND_BOUND = 30.0  # manage.py with a frozen cache: its PUBLISH_TIMEOUT is 2 s, plus Django's start
DATABASE = "shop"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[services.DedicatedPostgres]:
    server = services.DedicatedPostgres()
    try:
        server.init()
        server.start()
        server.create_database(DATABASE)
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def site(own_postgres: services.DedicatedPostgres, dedicated_redis: services.DedicatedRedis) -> Site:
    served = Site(
        "hangs",
        postgres_db=DATABASE,
        postgres_port=own_postgres.port,
        redis_url=dedicated_redis.url,
        cache_prefix="maintenance-it-hangs",
        redis_timeouts=False,  # Django's default OPTIONS: the app must not depend on timeouts
    )
    served.manage("migrate", "--noinput", "--verbosity", "0")
    served.manage("maintenance", "off")
    return served


@pytest.fixture(scope="module")
def three_servers(site: Site, server_logs: Path) -> Iterator[Deployment]:
    timeout = ("--timeout", str(GUNICORN_TIMEOUT))
    servers = [
        Server("gunicorn-sync", "gunicorn", 3, server_logs, options=timeout),
        Server(
            "gunicorn-gthread",
            "gunicorn",
            2,
            server_logs,
            options=(*timeout, "--worker-class", "gthread", "--threads", "4"),
        ),
        Server("uvicorn", "uvicorn", 2, server_logs),
    ]
    with running(site, servers) as deployment:
        yield deployment


@pytest.fixture(autouse=True)
def _services_running(own_postgres: services.DedicatedPostgres, dedicated_redis: services.DedicatedRedis) -> None:
    """Whatever an earlier test left frozen is thawed (a failed test must not hang the next)."""
    own_postgres.thaw()
    dedicated_redis.thaw()


class Clients:
    """Clients looping ``GET /`` on every server, each waiting for its answer (no client timeout that matters)."""

    def __init__(self, deployment: Deployment) -> None:
        self._endpoints = [server.endpoint for server in deployment.servers]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.observations: list[Observation] = []

    def __enter__(self) -> Clients:
        for endpoint in self._endpoints:
            for number in range(CLIENTS_PER_SERVER):
                thread = threading.Thread(target=self._run, args=(endpoint,), name=f"client-{endpoint.label}-{number}")
                thread.start()
                self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, endpoint: Endpoint) -> None:
        while not self._stop.is_set():
            observation = fetch(endpoint, "/", timeout=60)
            with self._lock:
                self.observations.append(observation)
            self._stop.wait(0.02)  # some CPU left for the servers on a 2-core machine


@dataclass(frozen=True)
class Window:
    """What one server did while the fault lasted."""

    server: str
    longest_gap: float
    tally: Tally
    strangers: frozenset[int]  # answering PIDs that are no worker we started: replacements


def window(observations: list[Observation], server: Server, start: float, end: float) -> Window:
    mine = [o for o in observations if o.server == server.label and start <= o.received <= end + GAP_BOUND]
    completed = sorted(o.received for o in mine if o.status != NO_RESPONSE and o.received <= end)
    points = [start, *completed, end]
    longest = max(later - earlier for earlier, later in itertools.pairwise(points))
    strangers = frozenset(o.pid for o in mine if o.pid is not None and o.pid not in server.worker_pids)
    return Window(server.label, longest, Tally.of(mine), strangers)


def worker_timeouts(server: Server) -> int:
    return server.log_text().count("WORKER TIMEOUT")


def hold_fault(deployment: Deployment, fault: str, begin: Callable[[], None], end: Callable[[], None]) -> None:
    """Hammer every server, apply the fault for FREEZE seconds, record and check each server."""
    kills_before = {server.label: worker_timeouts(server) for server in deployment.servers}
    with Clients(deployment) as clients:
        time.sleep(1.0)  # traffic flowing before the fault
        started = time.time()
        begin()
        try:
            time.sleep(FREEZE)
        finally:
            ended = time.time()
            end()
        time.sleep(2.0)  # and after it
    failures = []
    for server in deployment.servers:
        seen = window(clients.observations, server, started, ended)
        kills = worker_timeouts(server) - kills_before[server.label] + len(seen.strangers)
        report.hang(fault, server.label, seen.longest_gap, seen.tally, kills)
        if seen.longest_gap >= GAP_BOUND:
            failures.append(f"{server.label}: no response for {seen.longest_gap:.2f} s")
        if seen.tally.statuses[500] or seen.tally.errors or seen.tally.unexpected:
            failures.append(f"{server.label}: {seen.tally} {seen.tally.errors[:3]}")
        if kills:
            failures.append(f"{server.label}: {kills} workers killed or replaced")
    assert not failures, "\n".join(failures) + "\n" + deployment.logs()


def forget_cached_state(site: Site, redis: services.DedicatedRedis) -> None:
    """The cache key expired: every worker's next refresh goes to the database."""
    redis.client().delete(services.state_cache_key(site.cache_prefix))


def test_frozen_redis_holds_no_request(three_servers: Deployment, dedicated_redis: services.DedicatedRedis) -> None:
    hold_fault(three_servers, "Redis frozen (SIGSTOP)", dedicated_redis.freeze, dedicated_redis.thaw)


def test_locked_settings_table_holds_no_request(
    three_servers: Deployment, own_postgres: services.DedicatedPostgres, dedicated_redis: services.DedicatedRedis
) -> None:
    """What a migration of the settings table does, once the cache key has expired."""
    locker = own_postgres.connection(DATABASE)

    def lock() -> None:
        forget_cached_state(three_servers.site, dedicated_redis)
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE maintenance_mode_maintenancesettings IN ACCESS EXCLUSIVE MODE")

    def unlock() -> None:
        locker.execute("ROLLBACK")

    try:
        hold_fault(three_servers, "settings table locked (ACCESS EXCLUSIVE), cache key deleted", lock, unlock)
    finally:
        locker.close()


def test_frozen_postgres_holds_no_request(
    three_servers: Deployment, own_postgres: services.DedicatedPostgres, dedicated_redis: services.DedicatedRedis
) -> None:
    def freeze() -> None:
        forget_cached_state(three_servers.site, dedicated_redis)
        own_postgres.freeze()

    hold_fault(three_servers, "PostgreSQL frozen (SIGSTOP), cache key deleted", freeze, own_postgres.thaw)


def run_manage(
    site: Site, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, str(MANAGE_PY), *args],
        cwd=REPO,
        env=site.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return completed, time.monotonic() - started


def test_command_with_redis_frozen_returns_within_a_bound(
    three_servers: Deployment, dedicated_redis: services.DedicatedRedis
) -> None:
    site = three_servers.site
    dedicated_redis.freeze()
    try:
        completed, seconds = run_manage(site, "maintenance", "on", "--message", "written while Redis hung")
    finally:
        dedicated_redis.thaw()
    report.note(
        "manage.py maintenance on, Redis frozen", f"returned after {seconds:.2f} s (exit {completed.returncode})"
    )
    assert completed.returncode == 0, completed.stderr
    assert seconds < COMMAND_BOUND
    assert "Traceback" not in completed.stderr
    assert "other servers may keep the previous state for up to" in completed.stderr
    assert site.read_state().enabled  # committed all the same
    forget_cached_state(site, dedicated_redis)  # let the servers read the committed row
    site.manage("maintenance", "off")


def session_cookie(site: Site, username: str, *, staff: bool) -> str:
    """A logged-in session made the way a login makes it; its key."""
    code = (
        "from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY;"
        "from django.contrib.sessions.backends.db import SessionStore;"
        f"user = get_user_model().objects.create_user({username!r}, password='pw', is_staff={staff});"
        "session = SessionStore();"
        "session[SESSION_KEY] = str(user.pk);"
        "session[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend';"
        "session[HASH_SESSION_KEY] = user.get_session_auth_hash();"
        "session.save();"
        "print(session.session_key)"
    )
    return site.manage("shell", "-c", code).split()[-1]  # (Django 5.2's shell first says what it imported)


def get_page(server: Server, cookie: str | None) -> tuple[int, str]:
    connection = http.client.HTTPConnection(services.HOST, server.port, timeout=30)
    headers = {"Connection": "close", "Accept": "text/html"}
    if cookie is not None:
        headers["Cookie"] = f"sessionid={cookie}"
    try:
        connection.request("GET", "/", headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def test_with_the_database_stopped_force_serves_the_page_and_the_command_fails_clearly(
    three_servers: Deployment, own_postgres: services.DedicatedPostgres, server_logs: Path
) -> None:
    site = three_servers.site
    customer = session_cookie(site, "customer", staff=False)
    staff = session_cookie(site, "staff", staff=True)
    forced = Site(
        "hangs-forced",
        postgres_db=site.postgres_db,
        postgres_port=site.postgres_port,
        redis_url=site.redis_url,
        cache_prefix=site.cache_prefix,
        redis_timeouts=False,
        extra=(("MAINTENANCE_MODE_FORCE", "on"),),
    )
    own_postgres.stop()  # the database itself is under maintenance
    try:
        completed, seconds = run_manage(site, "maintenance", "on")
        report.note(
            "manage.py maintenance on, PostgreSQL stopped",
            f"exit {completed.returncode} after {seconds:.2f} s: {completed.stderr.strip()[:160]}",
        )
        assert completed.returncode == 1
        assert "Traceback" not in completed.stderr
        assert "The database is unavailable" in completed.stderr
        assert "MAINTENANCE_MODE_FORCE" in completed.stderr
        assert len(completed.stderr.strip().splitlines()) == 1

        status, seconds = run_manage(forced, "maintenance", "status")
        assert status.returncode == 0, status.stderr
        assert re.search(r"forced on by MAINTENANCE_MODE_FORCE", status.stdout)

        with running(forced, [Server("gunicorn-forced", "gunicorn", 2, server_logs)]) as deployment:
            server = deployment.servers[0]
            answers = {
                label: get_page(server, cookie)
                for label, cookie in (("no cookie", None), ("customer session", customer), ("staff session", staff))
            }
        report.note(
            "FORCE on, PostgreSQL stopped",
            ", ".join(f"{label}: HTTP {status}" for label, (status, _body) in answers.items()),
        )
        for label, (status_code, body) in answers.items():
            assert status_code == 503, f"{label}: HTTP {status_code}\n{deployment.logs()}"
            assert "maintenance" in body.lower(), label
    finally:
        own_postgres.start()
