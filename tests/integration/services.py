"""The real services the servers share: PostgreSQL, the machine's Redis, and a
dedicated ``redis-server`` that a test may stop and start again.

Everything listens on 127.0.0.1. Under CI the services are required: a missing
one fails the run instead of skipping it, so a broken CI box cannot pass green.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, NoReturn

import psycopg
import pytest
import redis
from django.core.cache.backends.base import default_key_func
from psycopg import sql

from maintenance_mode.state import CACHE_KEY
from tests.ci import running_in_ci
from tests.redis_helpers import require_redis

HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
MACHINE_REDIS_PORT = 6379


def unavailable(reason: str) -> NoReturn:
    """Fail under CI (the suite must run there), skip elsewhere; always say why."""
    if running_in_ci():
        pytest.fail(f"CI is set, so the integration tests must run, but {reason}", pytrace=False)
    pytest.skip(f"integration tests need real services: {reason}")


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def require_machine_services() -> None:
    try:
        with postgres_connection("postgres"):
            pass
    except psycopg.Error as error:
        unavailable(f"PostgreSQL is unreachable on {HOST}:{POSTGRES_PORT} as {POSTGRES_USER} ({error})")
    require_redis()  # the machine's Redis on 6379, checked as the unit tests check it


# --- PostgreSQL --------------------------------------------------------------


def postgres_connection(dbname: str, port: int = POSTGRES_PORT) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(host=HOST, port=port, user=POSTGRES_USER, dbname=dbname, connect_timeout=3, autocommit=True)


def create_database(name: str) -> None:
    with postgres_connection("postgres") as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    terminate_backends(name)
    with postgres_connection("postgres") as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def terminate_backends(name: str) -> int:
    """Kill every server-side connection to the database; how many there were."""
    with postgres_connection("postgres") as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return sum(1 for (terminated,) in rows if terminated)


def backend_count(name: str) -> int:
    with postgres_connection("postgres") as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchone()
    assert row is not None
    count = row[0]
    assert isinstance(count, int)
    return count


@dataclass(frozen=True)
class StateRow:
    """The settings row as committed: the truth every worker must converge on."""

    enabled: bool
    version: int
    updated_at: float  # set inside the saving transaction, so never after its commit


STATE_QUERY = "SELECT enabled, version, updated_at FROM maintenance_mode_maintenancesettings WHERE id = 1"


def state_row_from(values: tuple[object, ...] | None) -> StateRow:
    assert values is not None, "the maintenance settings row does not exist"
    enabled, version, updated_at = values
    if isinstance(updated_at, str):  # SQLite keeps UTC as naive ISO text
        updated_at = datetime.fromisoformat(updated_at).replace(tzinfo=timezone.utc)
    assert isinstance(updated_at, datetime)
    assert isinstance(version, int)
    return StateRow(enabled=bool(enabled), version=version, updated_at=updated_at.timestamp())


def read_postgres_state(dbname: str, port: int = POSTGRES_PORT) -> StateRow:
    with postgres_connection(dbname, port) as connection:
        return state_row_from(connection.execute(STATE_QUERY).fetchone())


# --- Redis -------------------------------------------------------------------


def state_cache_key(key_prefix: str) -> str:
    """The full Redis key of the shared state, built the way Django's cache builds it."""
    return default_key_func(CACHE_KEY, key_prefix, 1)


def delete_keys(port: int, pattern: str) -> None:
    client = redis.Redis(host=HOST, port=port, socket_connect_timeout=1, socket_timeout=2)
    keys = list(client.scan_iter(match=pattern, count=500))
    if keys:
        client.delete(*keys)


class DedicatedRedis:
    """A ``redis-server`` of our own on a free port, which tests may shut down."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None or shutil.which("redis-cli") is None:
            unavailable("the redis-server and redis-cli binaries are not on PATH")
        self._binary = binary
        self._workdir = workdir
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, socket_connect_timeout=0.5, socket_timeout=1)

    def is_up(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 10.0) -> None:
        self._workdir.mkdir(parents=True, exist_ok=True)
        if self._log is None:
            self._log = (self._workdir / "redis.log").open("ab")
        self._process = subprocess.Popen(
            # No persistence: a restart comes back empty, as after a crash or a failover.
            [self._binary, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"],
            cwd=self._workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        for _attempt in range(10_000):
            if self.is_up():
                return
            if self._process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not come up on port {self.port}; see {self._workdir}/redis.log")

    def freeze(self) -> None:
        """``SIGSTOP``: connections stay open and nothing answers, as with a hung server."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGCONT)

    def shutdown(self, timeout: float = 10.0) -> None:
        """The way an operator stops it: ``redis-cli shutdown nosave``."""
        subprocess.run(
            ["redis-cli", "-h", HOST, "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            timeout=timeout,
            check=False,  # redis-cli may report the connection it just lost
        )
        if self._process is not None:
            self._process.wait(timeout=timeout)
        assert not self.is_up(), f"redis-server on port {self.port} is still answering after shutdown"

    def stop(self) -> None:
        """Finalizer: whatever state it is in, make sure our server is gone."""
        process = self._process
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None


# --- A PostgreSQL of our own ---------------------------------------------------


def _postgres_binary(name: str) -> str | None:
    """PATH first, then where Debian's packages put the server's binaries."""
    found = shutil.which(name) or shutil.which(name, path="/usr/local/bin")
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class DedicatedPostgres:
    """A PostgreSQL server of our own, on a free port, which tests may lock, freeze and stop.

    ``initdb`` into a temporary directory owned by the ``postgres`` user (the
    server refuses to run as root), started with ``runuser`` when we are root;
    everything is removed by :meth:`cleanup`. The machine's PostgreSQL on 5432
    is never touched.
    """

    def __init__(self) -> None:
        binaries = {name: _postgres_binary(name) for name in ("initdb", "postgres")}
        missing = [name for name, path in binaries.items() if path is None]
        if missing:
            unavailable(f"the PostgreSQL server binaries {missing} are not installed")
        self._initdb, self._postgres = str(binaries["initdb"]), str(binaries["postgres"])
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                unavailable("runuser is needed to start PostgreSQL as the postgres user")
            try:
                import pwd

                owner = pwd.getpwnam(POSTGRES_USER)
            except KeyError:
                unavailable("there is no postgres user to run a PostgreSQL server as")
            self._as_postgres = [runuser, "-u", POSTGRES_USER, "--"]
            self._uid, self._gid = owner.pw_uid, owner.pw_gid
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="mm-postgres-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.sockets.mkdir()
        if self._as_postgres:
            for path in (self.root, self.sockets):
                os.chown(path, self._uid, self._gid)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._frozen: list[int] = []

    def init(self) -> None:
        subprocess.run(
            [*self._as_postgres, self._initdb, "-D", str(self.data), "-U", POSTGRES_USER, "--auth=trust", "-E", "UTF8"],
            capture_output=True,
            check=True,
            timeout=120,
        )

    def start(self, timeout: float = 30.0) -> None:
        if self._log is None:
            self._log = (self.root / "postgres.log").open("ab")
        self._process = subprocess.Popen(
            [
                *self._as_postgres,
                self._postgres,
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.sockets),
                "-c",
                f"listen_addresses={HOST}",
                "-c",
                "fsync=off",  # a throwaway server: speed over durability
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        for _attempt in range(10_000):
            try:
                with self.connection("postgres"):
                    return
            except psycopg.Error:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not come up on port {self.port}; see {self.root}/postgres.log")

    def connection(self, dbname: str) -> psycopg.Connection[tuple[object, ...]]:
        return postgres_connection(dbname, self.port)

    def create_database(self, name: str) -> None:
        with self.connection("postgres") as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def freeze(self) -> None:
        """``SIGSTOP`` the postmaster, then every backend: nothing answers, nothing fails."""
        postmaster = self.postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)  # first: it forks no new backend meanwhile
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        self._frozen = [postmaster, *(int(child) for child in children)]
        for pid in self._frozen[1:]:
            with suppress(ProcessLookupError, FileNotFoundError):  # it ended meanwhile
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self._frozen):
            with suppress(ProcessLookupError, FileNotFoundError):  # it ended meanwhile
                os.kill(pid, signal.SIGCONT)
        self._frozen = []

    def stop(self, timeout: float = 30.0) -> None:
        """A fast shutdown (``SIGINT``), as an operator's ``pg_ctl stop`` does."""
        self.thaw()
        process = self._process
        if process is None or process.poll() is not None:
            return
        with suppress(ProcessLookupError, FileNotFoundError):  # it ended meanwhile
            os.kill(self.postmaster_pid(), signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        self._process = None

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            shutil.rmtree(self.root, ignore_errors=True)
