"""Two gunicorn servers (2 + 3 workers) sharing PostgreSQL and Redis: a change made
from a third process, or in the admin on one server, reaches every worker of both."""

from __future__ import annotations

import pytest

from tests.integration import report
from tests.integration.admin_browser import AdminBrowser
from tests.integration.scenarios import command_on_then_off
from tests.integration.servers import Deployment
from tests.integration.traffic import Tally

pytestmark = pytest.mark.integration

SCENARIO = "two gunicorn servers (2 + 3 workers), PostgreSQL + Redis"


def test_command_toggle_reaches_every_worker_of_both_servers_within_ttl(two_wsgi_servers: Deployment) -> None:
    command_on_then_off(two_wsgi_servers, SCENARIO)


def test_admin_save_over_http_reaches_every_worker_of_both_servers_within_ttl(
    two_wsgi_servers: Deployment, admin_credentials: tuple[str, str]
) -> None:
    deployment = two_wsgi_servers
    first = deployment.servers[0]
    browser = AdminBrowser(f"http://127.0.0.1:{first.port}")
    browser.log_in(*admin_credentials)
    with deployment.hammer() as hammer:
        for enabled in (True, False):
            browser.save_maintenance(enabled=enabled)
            row = deployment.site.read_state()
            assert row.enabled is enabled, "the admin's Save did not reach the database"
            agreement = deployment.wait_until_every_worker_serves(hammer, row)
            report.propagation(SCENARIO, f"admin Save on {first.label} (enabled={enabled})", agreement)
    deployment.assert_no_server_errors(Tally.of(hammer.observations()))
