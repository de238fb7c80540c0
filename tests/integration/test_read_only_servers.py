"""Read-only maintenance on two gunicorn servers (2 + 3 workers) sharing PostgreSQL
and Redis: full → read-only → off, every worker of both agreeing within the bound."""

from __future__ import annotations

import http.client

import pytest

from tests.integration import report
from tests.integration.servers import Deployment
from tests.integration.traffic import HOST, Tally

pytestmark = pytest.mark.integration

SCENARIO = "two gunicorn servers (2 + 3 workers), PostgreSQL + Redis"


def request(port: int, method: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, "/", headers={"Connection": "close", "Accept": "text/html"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_full_then_read_only_then_off_reaches_every_worker_of_both_servers(two_wsgi_servers: Deployment) -> None:
    deployment = two_wsgi_servers
    steps = [(("on", "--full"), False), (("on", "--read-only"), True), (("off",), False)]
    try:
        run_steps(deployment, steps)
    finally:
        # The database is shared by the whole session, and a plain "on" keeps the
        # mode: leave it as the others expect it, full and off.
        deployment.site.manage("maintenance", "on", "--full")
        deployment.site.manage("maintenance", "off")


def run_steps(deployment: Deployment, steps: list[tuple[tuple[str, ...], bool]]) -> None:
    with deployment.hammer() as hammer:
        for arguments, read_only in steps:
            deployment.site.manage("maintenance", *arguments)
            row = deployment.site.read_state()
            assert row.enabled is (arguments[0] == "on"), f"manage.py maintenance {' '.join(arguments)} did not commit"
            agreement = deployment.wait_until_every_worker_serves(hammer, row, read_only=read_only)
            report.propagation(SCENARIO, f"manage.py maintenance {' '.join(arguments)}", agreement)
            if not read_only:
                continue
            # Every worker serves the same snapshot now: reads carry the notice, writes get the 503.
            for server in deployment.servers:
                for _ in range(2 * server.workers):
                    status, body = request(server.port, "GET")
                    assert status == 200
                    assert b'id="maintenance-mode-read-only"' in body
                    status, body = request(server.port, "POST")
                    assert status == 503
                    assert b"Your change was not saved" in body
    deployment.assert_no_server_errors(Tally.of(hammer.observations()))
