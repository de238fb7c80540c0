"""The small-VPS setup: SQLite, no shared cache (Django's default LocMem, which the
app refuses to trust across processes), one gunicorn server with 3 workers."""

from __future__ import annotations

import pytest

from tests.integration.scenarios import command_on_then_off
from tests.integration.servers import Deployment

pytestmark = pytest.mark.integration


def test_command_toggle_reaches_every_worker_without_a_shared_cache_within_ttl(sqlite_server: Deployment) -> None:
    command_on_then_off(sqlite_server, "one gunicorn server (3 workers), SQLite, no shared cache")
