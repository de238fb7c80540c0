from __future__ import annotations

from typing import Any


def is_named_customer(user: Any) -> bool:
    return bool(user.username == "customer")
