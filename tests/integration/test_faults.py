"""Faults under load: two gunicorn servers on PostgreSQL and a Redis of our own,
with background traffic counting every response. The state store must turn
every failure into "serve the last good state", never into an HTTP 500, and
every worker must still end up on the committed state."""

from __future__ import annotations

import pickle
import time

import pytest

from tests.integration import report, services
from tests.integration.servers import PROPAGATION_BOUND, STATE_TTL, Deployment
from tests.integration.traffic import Tally

pytestmark = pytest.mark.integration

SCENARIO = "two gunicorn servers (2 + 2 workers), PostgreSQL + dedicated Redis"


@pytest.fixture(autouse=True)
def _redis_running(dedicated_redis: services.DedicatedRedis) -> None:
    """Each test starts with its Redis up, whatever the previous test left behind."""
    if not dedicated_redis.is_up():
        dedicated_redis.start()


def test_redis_outage_falls_back_to_the_database_and_recovery_needs_no_restart(
    fault_servers: Deployment, dedicated_redis: services.DedicatedRedis
) -> None:
    deployment = fault_servers
    site = deployment.site
    with deployment.hammer() as hammer:
        deployment.wait_until_every_worker_serves(hammer, site.toggle_with_command(enabled=True))

        dedicated_redis.shutdown()
        # The command's publish fails (it logs that and exits 0); the row is committed.
        row = site.toggle_with_command(enabled=False)
        agreement = deployment.wait_until_every_worker_serves(hammer, row)
        report.propagation(SCENARIO, "maintenance off while Redis is down", agreement)

        # Back empty (no persistence), as after a crash: the servers' pooled
        # connections are dead and the key is gone; no restart of theirs is needed.
        dedicated_redis.start()
        row = site.toggle_with_command(enabled=True)
        agreement = deployment.wait_until_every_worker_serves(hammer, row)
        report.propagation(SCENARIO, "maintenance on after Redis came back", agreement)
    tally = Tally.of(hammer.observations())
    report.faults("Redis stopped (shutdown nosave), toggled, restarted, toggled", tally)
    deployment.assert_no_server_errors(tally)
    # Each worker logs its recovery: every one of them went back to using Redis.
    recoveries = deployment.log_text().count("the cache is back")
    assert recoveries >= deployment.worker_count(), f"{recoveries} workers logged that Redis was back"


def test_killed_database_connections_cause_no_500_and_no_refresher_keeps_one(
    fault_servers: Deployment, dedicated_redis: services.DedicatedRedis
) -> None:
    deployment = fault_servers
    site = deployment.site
    database = site.postgres_db
    assert database is not None
    with deployment.hammer() as hammer:
        # With Redis up the workers read the state from the cache: killing whatever
        # connections they hold must change nothing.
        killed_with_cache = services.terminate_backends(database)
        row = site.toggle_with_command(enabled=True)
        deployment.wait_until_every_worker_serves(hammer, row)

        # Without the cache every worker's refresher reads the row from
        # PostgreSQL once per TTL, and closes its connection after each
        # reading (CONN_MAX_AGE notwithstanding): between readings none is held.
        dedicated_redis.shutdown()
        workers = deployment.worker_count()
        samples = []
        for _sample in range(30):
            samples.append(services.backend_count(database))
            time.sleep(0.1)
        report.note(
            "database connections held by the refreshers",
            f"Redis down, {workers} workers reading PostgreSQL each TTL: {min(samples)}-{max(samples)} "
            f"connections open over 3 s (sampled every 0.1 s)",
        )
        assert min(samples) == 0, f"connections kept between readings: {samples}"
        assert max(samples) <= workers, f"more than one connection per process: {samples}"

        # Kill whatever is open while the workers keep reading: a reading that
        # loses its connection serves the last good state for a TTL, then retries.
        killed = 0
        for _round in range(20):
            killed += services.terminate_backends(database)
            time.sleep(0.05)
        row = site.toggle_with_command(enabled=False)
        agreement = deployment.wait_until_every_worker_serves(hammer, row, bound=PROPAGATION_BOUND + STATE_TTL)
        report.propagation(SCENARIO, "maintenance off after its DB connections were killed", agreement)

        dedicated_redis.start()
        row = site.toggle_with_command(enabled=True)
        deployment.wait_until_every_worker_serves(hammer, row)
    tally = Tally.of(hammer.observations())
    report.faults(
        "PostgreSQL connections killed "
        f"({killed_with_cache} with Redis up, {killed} with Redis down), toggled, recovered",
        tally,
    )
    deployment.assert_no_server_errors(tally)


# What a broken writer, a foreign release or a bit flip could leave under the key.
JUNK = {
    "bytes that do not unpickle": b"\x80\x05\x95not a pickle\xff\x00",
    "a bare integer": b"31337",  # Django's serializer returns integers unpickled
    "a pickled dict of the wrong shape": pickle.dumps({"enabled": "yes", "version": "many"}),
}


def test_garbage_under_the_state_key_causes_no_500_and_workers_keep_the_committed_state(
    fault_servers: Deployment, dedicated_redis: services.DedicatedRedis
) -> None:
    deployment = fault_servers
    site = deployment.site
    key = services.state_cache_key(site.cache_prefix)
    redis = dedicated_redis.client()
    with deployment.hammer() as hammer:
        row = site.toggle_with_command(enabled=True)
        deployment.wait_until_every_worker_serves(hammer, row)
        for label, junk in JUNK.items():
            redis.set(key, junk)
            # Counting only requests sent a TTL after the write: by then every
            # worker's snapshot has lapsed, so each answer was refreshed with the junk in place.
            deployment.wait_until_every_worker_serves(hammer, row, since=time.time() + STATE_TTL)
            left = redis.get(key)
            report.note(
                "garbage in the cache",
                f"{label}: every worker kept serving version {row.version}; the key then held "
                + ("the same garbage" if left == junk else "a valid state" if left is not None else "nothing"),
            )

        # A write while garbage sits under the key replaces it.
        redis.set(key, next(iter(JUNK.values())))
        row = site.toggle_with_command(enabled=False)
        agreement = deployment.wait_until_every_worker_serves(hammer, row)
        report.propagation(SCENARIO, "maintenance off with garbage under the cache key", agreement)
        stored = redis.get(key)
        assert isinstance(stored, bytes)
        assert stored not in JUNK.values(), "the write did not replace the garbage"
        assert pickle.loads(stored)["version"] == row.version, "the cache does not hold the committed version"
    tally = Tally.of(hammer.observations())
    report.faults("garbage written under the state key (3 kinds), then toggled", tally)
    deployment.assert_no_server_errors(tally)
    assert "malformed state in the cache" in deployment.log_text(), "the servers never read the garbage"
