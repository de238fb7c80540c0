"""HTTP traffic against the servers, and the question "does every worker agree yet?".

Every request opens a new connection (``Connection: close``): the kernel hands
each connection to whichever worker accepts it, so bursts of concurrent
requests reach every worker of a server, where one keep-alive connection
would stick to one worker.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType

from tests.integration.worker_header import PID_HEADER, VERSION_HEADER

HOST = "127.0.0.1"
NO_RESPONSE = 0  # the status recorded when no HTTP response came back at all

WorkerKey = tuple[str, int]  # (server label, worker pid)


@dataclass(frozen=True, slots=True)
class Endpoint:
    label: str
    port: int


@dataclass(frozen=True, slots=True)
class Observation:
    """One request: when it left, when its answer arrived, and who answered what."""

    server: str
    sent: float  # time.time(), comparable with the row's updated_at
    received: float
    status: int
    pid: int | None = None
    version: int | None = None
    error: str = ""


def _int_header(response: http.client.HTTPResponse, name: str) -> int | None:
    value = response.getheader(name)
    return int(value) if value is not None and value.isdigit() else None


def fetch(endpoint: Endpoint, path: str = "/", timeout: float = 10.0) -> Observation:
    connection = http.client.HTTPConnection(HOST, endpoint.port, timeout=timeout)
    sent = time.time()
    try:
        connection.request("GET", path, headers={"Connection": "close", "Accept": "text/html"})
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as error:
        return Observation(endpoint.label, sent, time.time(), NO_RESPONSE, error=f"{type(error).__name__}: {error}")
    finally:
        connection.close()
    return Observation(
        endpoint.label,
        sent,
        time.time(),
        response.status,
        pid=_int_header(response, PID_HEADER),
        version=_int_header(response, VERSION_HEADER),
    )


def burst(endpoint: Endpoint, path: str, count: int) -> list[Observation]:
    """``count`` concurrent requests, so that busy workers leave some to the others."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: fetch(endpoint, path), range(count)))


@dataclass(frozen=True)
class Expected:
    """The state every worker must end up serving: the committed row's."""

    enabled: bool
    version: int
    read_only: bool = False  # on in read-only mode: the GETs reach the live site

    @property
    def status(self) -> int:
        return 503 if self.enabled and not self.read_only else 200  # the maintenance page, or the live home page

    def matches(self, observation: Observation) -> bool:
        # The version header is absent only if the snapshot lapsed during the
        # request itself; the status still tells which state was served.
        return observation.status == self.status and observation.version in (None, self.version)

    def __str__(self) -> str:
        state = ("read-only" if self.read_only else "on") if self.enabled else "off"
        return f"{state} (HTTP {self.status}, version {self.version})"


class Hammer:
    """Background traffic on every server, one thread per server, until stopped.

    Each round is a burst of twice as many concurrent requests as the server has
    workers; every response is kept, to count 500s and to watch each worker.
    """

    def __init__(
        self,
        endpoints: Mapping[Endpoint, int],
        *,
        path: str = "/",
        pause: float = 0.05,
        lifetime: float = 180.0,
    ) -> None:
        self._endpoints = endpoints  # endpoint -> its number of workers
        self._path = path
        self._pause = pause
        self._lifetime = lifetime  # a hard stop, should a test forget to leave the block
        self._observations: list[Observation] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Hammer:
        for endpoint, workers in self._endpoints.items():
            thread = threading.Thread(
                target=self._run, args=(endpoint, 2 * workers), name=f"hammer-{endpoint.label}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, endpoint: Endpoint, size: int) -> None:
        deadline = time.monotonic() + self._lifetime
        max_rounds = int(self._lifetime / self._pause) + 1
        with ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"hammer-{endpoint.label}") as pool:
            for _round in range(max_rounds):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                results = list(pool.map(lambda _: fetch(endpoint, self._path), range(size)))
                with self._changed:
                    self._observations.extend(results)
                    self._changed.notify_all()
                self._stop.wait(self._pause)  # pacing, so the servers keep some CPU for the writers

    def observations(self) -> list[Observation]:
        with self._changed:
            return list(self._observations)

    def wait_for_agreement(
        self, workers: Mapping[str, frozenset[int]], expected: Expected, since: float, hold: float, timeout: float
    ) -> Agreement:
        """Block until every worker serves ``expected`` and keeps it for ``hold`` seconds
        (or until ``timeout``); the verdict either way."""
        deadline = time.monotonic() + timeout
        with self._changed:
            for _wakeup in range(1_000_000):  # woken once per burst; the deadline ends it first
                agreement = assess(self._observations, workers, expected, since, hold)
                remaining = deadline - time.monotonic()
                if agreement.complete or agreement.flip_backs or agreement.strangers or remaining <= 0:
                    break
                self._changed.wait(remaining)
            return agreement


@dataclass(frozen=True)
class WorkerReport:
    server: str
    pid: int
    first_match: Observation | None  # its first answer in the expected state
    last: Observation | None  # its latest answer, whatever it was
    answers: int

    def propagation(self, since: float) -> float | None:
        return None if self.first_match is None else self.first_match.received - since


@dataclass(frozen=True)
class Agreement:
    expected: Expected
    since: float
    workers: tuple[WorkerReport, ...]
    flip_backs: tuple[Observation, ...]  # an old answer after that worker had served the new state
    strangers: tuple[Observation, ...]  # answers from a PID that is no known worker (a respawn?)
    complete: bool  # every worker switched, and still served it ``hold`` seconds after the last one did

    @property
    def slowest(self) -> float:
        times = [worker.propagation(self.since) for worker in self.workers]
        assert all(time_ is not None for time_ in times), "not every worker has switched"
        return max(time_ for time_ in times if time_ is not None)

    def slowest_by_server(self) -> dict[str, float]:
        result: dict[str, float] = {}
        for worker in self.workers:
            propagation = worker.propagation(self.since)
            if propagation is not None:
                result[worker.server] = max(result.get(worker.server, 0.0), propagation)
        return result

    def describe(self) -> str:
        lines = [f"expected {self.expected}, counting requests sent from t={self.since:.3f}"]
        for worker in self.workers:
            switched = worker.propagation(self.since)
            last = worker.last
            lines.append(
                f"  {worker.server} pid {worker.pid}: {worker.answers} answers, "
                + (f"switched after {switched:.3f} s" if switched is not None else "never served the expected state")
                + (f", last answer HTTP {last.status} version {last.version}" if last is not None else "")
            )
        for observation in self.flip_backs:
            lines.append(f"  FLIP-BACK: {observation}")
        if self.strangers:
            lines.append(f"  answers from unknown workers: {sorted({o.pid for o in self.strangers if o.pid})}")
        return "\n".join(lines)


def assess(
    observations: Iterable[Observation],
    workers: Mapping[str, frozenset[int]],
    expected: Expected,
    since: float,
    hold: float = 0.0,
) -> Agreement:
    """Where every known worker stands, from the requests sent at or after ``since``.

    A worker has switched at its first answer in the expected state. Requests it
    receives after that answer must all get the expected state too (anything
    else is a flip-back: a stale source won). The agreement is complete once
    every worker has switched and each has answered in the expected state again
    ``hold`` seconds after the slowest one switched: a hold longer than the TTL
    means every worker has refreshed its snapshot since, and kept the state.
    """
    relevant: list[tuple[WorkerKey, Observation]] = [
        ((o.server, o.pid), o) for o in observations if o.sent >= since and o.pid is not None
    ]
    strangers = tuple(o for (server, pid), o in relevant if pid not in workers.get(server, frozenset()))
    first: dict[WorkerKey, Observation] = {}
    last: dict[WorkerKey, Observation] = {}
    counts: Counter[WorkerKey] = Counter()
    for key, observation in relevant:
        counts[key] += 1
        last[key] = observation
        if expected.matches(observation) and (key not in first or observation.received < first[key].received):
            first[key] = observation
    flip_backs = tuple(
        o for key, o in relevant if key in first and o.sent > first[key].received and not expected.matches(o)
    )
    keys = [(server, pid) for server, pids in sorted(workers.items()) for pid in sorted(pids)]
    reports = tuple(
        WorkerReport(server, pid, first.get((server, pid)), last.get((server, pid)), counts[(server, pid)])
        for server, pid in keys
    )
    complete = False
    if keys and all(key in first for key in keys):
        everyone_switched = max(first[key].received for key in keys)
        confirmed = {key for key, o in relevant if o.sent > everyone_switched + hold and expected.matches(o)}
        complete = all(key in confirmed for key in keys)
    return Agreement(expected, since, reports, flip_backs, strangers, complete and not strangers)


@dataclass(frozen=True)
class Tally:
    """Every response of a run, by status."""

    statuses: Counter[int]
    errors: tuple[str, ...]

    @classmethod
    def of(cls, observations: Sequence[Observation]) -> Tally:
        return cls(
            Counter(o.status for o in observations), tuple(o.error for o in observations if o.status == NO_RESPONSE)
        )

    @property
    def responses(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != NO_RESPONSE)

    @property
    def unexpected(self) -> dict[int, int]:
        """Anything but the live page (200) and the maintenance page (503)."""
        return {status: count for status, count in self.statuses.items() if status not in (200, 503)}

    def __str__(self) -> str:
        by_status = ", ".join(f"{status or 'no response'}: {count}" for status, count in sorted(self.statuses.items()))
        return f"{self.responses} responses ({by_status}); HTTP 500: {self.statuses[500]}"
