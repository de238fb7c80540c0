"""An ASGI server (uvicorn, 2 workers) on PostgreSQL and Redis: the async path of the
middleware refreshes the snapshot in a thread, and must converge like WSGI does."""

from __future__ import annotations

import pytest

from tests.integration.scenarios import command_on_then_off
from tests.integration.servers import Deployment

pytestmark = pytest.mark.integration


def test_command_toggle_reaches_every_worker_of_the_asgi_server_within_ttl(asgi_server: Deployment) -> None:
    command_on_then_off(asgi_server, "one uvicorn server (2 workers), PostgreSQL + Redis")
