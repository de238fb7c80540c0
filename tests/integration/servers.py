"""The served site, its ``manage.py``, and the gunicorn / uvicorn servers that run it.

Each server starts in its own session (process group), so stopping it reaches
the master and every worker it forked, and nothing else.
"""

from __future__ import annotations

import importlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from tests.integration import services
from tests.integration.traffic import Agreement, Endpoint, Expected, Hammer, Tally, burst

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PROJECT = REPO / "example_project"
MANAGE_PY = EXAMPLE_PROJECT / "manage.py"

# The suite's TTL: short, so a change must reach every worker within about a second.
STATE_TTL = 1.0
# Slack on top of the TTL for one cache round trip, the poll interval and a busy
# 2-core machine. A correctness bound (a worker that never refreshes, or refreshes
# from a stale source, blows far past it: CACHE_TIMEOUT is 60 s), not a performance
# measurement: the times measured are reported (tests/integration/report.py).
# 1.5 s was too tight for a loaded machine: 2.58 s for the Redis-outage fallback
# with a mutation run beside the CI run (typically 0.4-1.1 s).
MARGIN = 2.5
PROPAGATION_BOUND = STATE_TTL + MARGIN

# Inherited variables that would change what the served site does.
_SITE_VARIABLES = ("SHOP_", "MAINTENANCE_MODE_", "DJANGO_", "IT_")


@dataclass(frozen=True)
class Site:
    """One deployment's configuration of the example shop: database and cache."""

    name: str
    postgres_db: str | None = None
    sqlite_path: Path | None = None
    redis_url: str | None = None
    cache_prefix: str = ""
    # Django's advice for ASGI is no persistent connections; WSGI workers keep theirs.
    conn_max_age: int = 60
    postgres_port: int = services.POSTGRES_PORT
    # False: Django's default cache OPTIONS (no short socket timeouts), as a new project has them.
    redis_timeouts: bool = True
    # More settings, e.g. ``(("MAINTENANCE_MODE_FORCE", "on"),)``.
    extra: tuple[tuple[str, str], ...] = ()

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(_SITE_VARIABLES)}
        env.update(
            PYTHONPATH=os.pathsep.join([str(EXAMPLE_PROJECT), str(REPO)]),
            PYTHONUNBUFFERED="1",
            DJANGO_SETTINGS_MODULE="tests.integration.site_settings",
            SHOP_SECRET_KEY=f"integration-{self.name}-not-secret",
            MAINTENANCE_MODE_STATE_TTL=str(STATE_TTL),
            IT_CONN_MAX_AGE=str(self.conn_max_age),
        )
        if self.postgres_db is not None:
            env.update(SHOP_DB="postgres", SHOP_DB_NAME=self.postgres_db, SHOP_DB_PORT=str(self.postgres_port))
        elif self.sqlite_path is not None:
            env.update(SHOP_SQLITE=str(self.sqlite_path))
        if self.redis_url is not None:
            env.update(SHOP_REDIS="1", SHOP_REDIS_URL=self.redis_url, SHOP_CACHE_PREFIX=self.cache_prefix)
            env.update(SHOP_REDIS_TIMEOUTS="1" if self.redis_timeouts else "0")
        env.update(self.extra)
        return env

    def manage(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 90.0) -> str:
        """Run ``manage.py`` as a separate process, as an operator would; its stdout."""
        completed = subprocess.run(
            [sys.executable, str(MANAGE_PY), *args],
            cwd=REPO,
            env={**self.env(), **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} exited with {completed.returncode}\n"
                f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
            )
        return completed.stdout

    def read_state(self) -> services.StateRow:
        if self.postgres_db is not None:
            return services.read_postgres_state(self.postgres_db, self.postgres_port)
        assert self.sqlite_path is not None
        with closing(sqlite3.connect(self.sqlite_path, timeout=5)) as connection:
            return services.state_row_from(connection.execute(services.STATE_QUERY).fetchone())

    def toggle_with_command(self, *, enabled: bool) -> services.StateRow:
        self.manage("maintenance", "on" if enabled else "off")
        row = self.read_state()
        assert row.enabled is enabled, f"manage.py maintenance {'on' if enabled else 'off'} did not commit"
        return row


def _gunicorn_version_flags() -> list[str]:
    """Recent gunicorn releases open a control socket at one fixed path per user,
    which two masters on one machine would fight over; the tests do not use it."""
    known_settings = importlib.import_module("gunicorn.config").KNOWN_SETTINGS  # gunicorn ships no type hints
    return (
        ["--no-control-socket"]
        if any("--no-control-socket" in (setting.cli or ()) for setting in known_settings)
        else []
    )


@dataclass
class Server:
    """A master process and its workers, serving the site on its own loopback port."""

    label: str
    kind: Literal["gunicorn", "uvicorn"]
    workers: int
    log_dir: Path
    port: int = field(default_factory=services.free_port)
    worker_pids: frozenset[int] = frozenset()
    # More command-line options, e.g. ("--worker-class", "gthread", "--threads", "4").
    options: tuple[str, ...] = ()
    _process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.label, self.port)

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.label}.log"

    def command(self) -> list[str]:
        if self.kind == "gunicorn":
            return [
                sys.executable,
                "-m",
                "gunicorn",
                "shop.wsgi:application",
                "--workers",
                str(self.workers),
                "--bind",
                f"{services.HOST}:{self.port}",
                "--graceful-timeout",
                "3",
                *_gunicorn_version_flags(),
                *self.options,
            ]
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "shop.asgi:application",
            "--workers",
            str(self.workers),
            "--host",
            services.HOST,
            "--port",
            str(self.port),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "3",
            *self.options,
        ]

    def start(self, site: Site) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            self.command(),
            cwd=REPO,
            env=site.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches the workers too
        )

    def wait_ready(self, timeout: float = 40.0) -> None:
        """Until every worker process of this master has answered a request.

        The workers are the master's children (read from /proc, minus
        multiprocessing's resource tracker that uvicorn starts); a test can then
        require an answer from each of them, not merely from "some worker".
        """
        process = self._process
        assert process is not None, "start() first"
        deadline = time.monotonic() + timeout
        answered: set[int] = set()
        for _attempt in range(10_000):
            if process.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {process.returncode}\n{self.log_tail()}")
            for observation in burst(self.endpoint, "/health", 2 * self.workers):
                if observation.status == 200 and observation.pid is not None:
                    answered.add(observation.pid)
            children = _worker_children(process.pid)  # after the burst: whoever answered has been forked
            strangers = answered - children if children is not None else set()
            if strangers:
                raise RuntimeError(f"{self.label}: PIDs {sorted(strangers)} answered on port {self.port}, not ours")
            expected = children if children is not None else answered
            if len(expected) == self.workers and expected <= answered:
                self.worker_pids = frozenset(expected)
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.label}: {len(answered)} of {self.workers} workers answered within {timeout} s\n{self.log_tail()}"
        )

    def stop(self) -> None:
        process = self._process
        if process is not None:
            _stop_group(process)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return f"--- last lines of {self.log_path} ---\n" + "\n".join(self.log_text().splitlines()[-lines:])


def _worker_children(pid: int) -> set[int] | None:
    """The master's worker processes, or ``None`` where /proc cannot tell."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return None
    children: set[int] = set()
    for task in tasks.iterdir():
        try:
            children.update(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended while we looked
    workers = set()
    for child in children:
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"resource_tracker" not in cmdline:
            workers.add(child)
    return workers


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    group = process.pid  # start_new_session made the master its group's leader
    if process.poll() is None:
        _signal_group(group, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            process.wait(timeout=10)
    # A master that died before its workers leaves them running in its group.
    _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):  # nobody left in the group
        os.killpg(group, signum)


@dataclass
class Deployment:
    """Servers sharing one site configuration (database + cache)."""

    site: Site
    servers: Sequence[Server]

    @property
    def worker_pids(self) -> dict[str, frozenset[int]]:
        return {server.label: server.worker_pids for server in self.servers}

    def worker_count(self) -> int:
        return sum(len(server.worker_pids) for server in self.servers)

    def hammer(self) -> Hammer:
        return Hammer({server.endpoint: server.workers for server in self.servers})

    def wait_until_every_worker_serves(
        self,
        hammer: Hammer,
        row: services.StateRow,
        *,
        bound: float = PROPAGATION_BOUND,
        since: float | None = None,
        read_only: bool = False,
    ) -> Agreement:
        """Every worker of every server serves the committed ``row``, at most ``bound``
        seconds after it was written (or after ``since``); the measured times.
        ``read_only``: the row is in read-only mode (GETs get the live site)."""
        start = row.updated_at if since is None else since
        # Past the slowest switch, every worker refreshes once more and must keep the state.
        hold = 1.5 * STATE_TTL
        # Wait past the bound, so a failure can say how late (or whether ever) each worker came.
        timeout = bound + hold + 3.0
        expected = Expected(row.enabled, row.version, read_only)
        agreement = hammer.wait_for_agreement(self.worker_pids, expected, start, hold, timeout)
        details = f"{agreement.describe()}\n{Tally.of(hammer.observations())}\n{self.logs()}"
        assert not agreement.flip_backs, f"a worker went back to an older state:\n{details}"
        assert not agreement.strangers, f"unknown workers answered (a worker died and was replaced?):\n{details}"
        assert agreement.complete, f"not every worker agreed and held it within {timeout:.1f} s:\n{details}"
        assert agreement.slowest <= bound, f"slowest worker after {agreement.slowest:.3f} s > {bound} s:\n{details}"
        return agreement

    def assert_no_server_errors(self, tally: Tally) -> None:
        assert tally.responses > 0, "the background traffic got no response at all"
        assert not tally.errors, f"requests without a response: {tally.errors[:5]}\n{self.logs()}"
        assert tally.statuses[500] == 0, f"HTTP 500 during the run: {tally}\n{self.logs()}"
        assert not tally.unexpected, f"statuses other than 200 and 503: {tally}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(server.log_tail() for server in self.servers)

    def log_text(self) -> str:
        return "\n".join(server.log_text() for server in self.servers)


@contextmanager
def running(site: Site, servers: Sequence[Server]) -> Iterator[Deployment]:
    """Start the servers together (they boot in parallel), stop them whatever happens."""
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
            server.start(site)
        for server in servers:
            server.wait_ready()
        yield Deployment(site, servers)
