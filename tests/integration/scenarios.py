"""Steps several tests share."""

from __future__ import annotations

from tests.integration import report
from tests.integration.servers import Deployment
from tests.integration.traffic import Tally


def command_on_then_off(deployment: Deployment, scenario: str) -> None:
    """``manage.py maintenance on``, then ``off``, from a process of its own, under
    background traffic: after each, every worker must serve the new state within the bound."""
    with deployment.hammer() as hammer:
        for enabled in (True, False):
            row = deployment.site.toggle_with_command(enabled=enabled)
            agreement = deployment.wait_until_every_worker_serves(hammer, row)
            report.propagation(scenario, f"manage.py maintenance {'on' if enabled else 'off'}", agreement)
    deployment.assert_no_server_errors(Tally.of(hammer.observations()))
