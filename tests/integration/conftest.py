"""Fixtures of the multi-server suite: one fresh PostgreSQL database per session,
Redis key prefixes of its own, and the deployments, each started once per module
and always stopped (their fixtures own the processes)."""

from __future__ import annotations

import secrets
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import report, services
from tests.integration.servers import Deployment, Server, Site, running


@pytest.fixture(scope="session")
def session_token() -> str:
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
def machine_services() -> None:
    services.require_machine_services()


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def postgres_database(machine_services: None, session_token: str) -> Iterator[str]:
    """A database of its own, migrated the way a deployment is, dropped at the end."""
    name = f"maintenance_it_{session_token}"
    services.create_database(name)
    try:
        Site("migrate", postgres_db=name).manage("migrate", "--noinput", "--verbosity", "0")
        yield name
    finally:
        services.drop_database(name)


@pytest.fixture(scope="session")
def admin_credentials(postgres_database: str) -> tuple[str, str]:
    username, password = "it-admin", secrets.token_urlsafe(16)
    Site("admin", postgres_db=postgres_database).manage(
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        "it-admin@example.com",
        extra_env={"DJANGO_SUPERUSER_PASSWORD": password},
    )
    return username, password


@pytest.fixture(scope="session")
def machine_redis_prefix(machine_services: None, session_token: str) -> Iterator[str]:
    """The base of this session's key prefixes on the machine's Redis (one per
    deployment, ``<base>-<name>``); their keys are removed at the end."""
    base = f"maintenance-it-{session_token}"
    yield base
    services.delete_keys(services.MACHINE_REDIS_PORT, f"{base}-*")


MACHINE_REDIS_URL = f"redis://{services.HOST}:{services.MACHINE_REDIS_PORT}/0"


@pytest.fixture(scope="module")
def two_wsgi_servers(postgres_database: str, machine_redis_prefix: str, server_logs: Path) -> Iterator[Deployment]:
    site = Site(
        "two-wsgi",
        postgres_db=postgres_database,
        redis_url=MACHINE_REDIS_URL,
        cache_prefix=f"{machine_redis_prefix}-wsgi",
    )
    servers = [
        Server("gunicorn-a", "gunicorn", 2, server_logs),
        Server("gunicorn-b", "gunicorn", 3, server_logs),
    ]
    with running(site, servers) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def asgi_server(postgres_database: str, machine_redis_prefix: str, server_logs: Path) -> Iterator[Deployment]:
    site = Site(
        "asgi",
        postgres_db=postgres_database,
        redis_url=MACHINE_REDIS_URL,
        cache_prefix=f"{machine_redis_prefix}-asgi",
        conn_max_age=0,  # Django's advice under ASGI: connections do not outlive the request's thread
    )
    with running(site, [Server("uvicorn", "uvicorn", 2, server_logs)]) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory, server_logs: Path) -> Iterator[Deployment]:
    """The small-VPS setup: one SQLite file, no shared cache, so every worker asks the database."""
    site = Site("sqlite", sqlite_path=tmp_path_factory.mktemp("sqlite") / "shop.sqlite3")
    site.manage("migrate", "--noinput", "--verbosity", "0")
    with running(site, [Server("gunicorn-sqlite", "gunicorn", 3, server_logs)]) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def dedicated_redis(
    machine_services: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[services.DedicatedRedis]:
    """A Redis the fault tests may kill; the machine's own on 6379 is never touched."""
    server = services.DedicatedRedis(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fault_servers(
    postgres_database: str, dedicated_redis: services.DedicatedRedis, session_token: str, server_logs: Path
) -> Iterator[Deployment]:
    site = Site(
        "faults",
        postgres_db=postgres_database,
        redis_url=dedicated_redis.url,
        cache_prefix=f"maintenance-it-{session_token}-faults",
    )
    servers = [
        Server("gunicorn-c", "gunicorn", 2, server_logs),
        Server("gunicorn-d", "gunicorn", 2, server_logs),
    ]
    with running(site, servers) as deployment:
        yield deployment


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = report.summary()
    if not lines:
        return
    terminalreporter.write_sep("-", "maintenance mode across servers")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(also written to {report.ARTIFACT})")


def pytest_sessionfinish(session: pytest.Session) -> None:
    report.write_artifact(
        shlex.join([Path(sys.executable).name, "-m", "pytest", *session.config.invocation_params.args])
    )
