from __future__ import annotations

from typing import TypeVar

ViewT = TypeVar("ViewT")


def maintenance_exempt(view: ViewT) -> ViewT:
    """Keep a view (function or class-based) reachable during maintenance."""
    view.maintenance_exempt = True  # type: ignore[attr-defined]
    return view
