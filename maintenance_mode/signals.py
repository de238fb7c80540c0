"""``maintenance_enabled`` and ``maintenance_disabled``: sent when maintenance
becomes active or stops being active, whatever changed it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from maintenance_mode.state import Snapshot

#: Sent with ``snapshot`` (the new state) and ``source`` ("save" or "schedule").
maintenance_enabled = Signal()
#: Sent with ``snapshot`` (the new state) and ``source`` ("save" or "schedule").
maintenance_disabled = Signal()


def send_transition(before: Snapshot, after: Snapshot, *, source: str, now: float | None = None) -> None:
    """Send the signal matching a change of the active state, if there is one."""
    now = time.time() if now is None else now
    was, is_ = before.is_active(now), after.is_active(now)
    if was == is_:
        return
    signal = maintenance_enabled if is_ else maintenance_disabled
    signal.send(sender=after.__class__, snapshot=after, source=source)
