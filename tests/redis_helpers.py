"""The real Redis on 127.0.0.1:6379: required under CI, skipped with a reason elsewhere."""

from __future__ import annotations

import pytest

from tests.ci import running_in_ci

REDIS_URL = "redis://127.0.0.1:6379/15"


def require_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError as error:
        if running_in_ci():
            pytest.fail(f"CI needs Redis on 127.0.0.1:6379 ({error})")
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379 ({error})")
