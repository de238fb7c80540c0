"""What the live site may tell visitors about maintenance: read from the snapshot only."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime

from maintenance_mode import state
from maintenance_mode.conf import conf


@dataclasses.dataclass(frozen=True)
class Notice:
    active: bool
    upcoming: bool  # scheduled, and within MAINTENANCE_MODE_BANNER_LEAD_TIME of its start
    starts_at: datetime | None
    ends_at: datetime | None
    message: str
    version: int


def current_notice(now: float | None = None) -> Notice:
    now = time.time() if now is None else now
    snapshot = state.current()
    upcoming = snapshot.is_upcoming(now) and snapshot.starts_at is not None
    upcoming = upcoming and snapshot.starts_at - now <= conf.BANNER_LEAD_TIME  # type: ignore[operator]
    return Notice(
        active=snapshot.is_active(now),
        upcoming=upcoming,
        starts_at=snapshot.start,
        ends_at=snapshot.end,
        message=snapshot.message,
        version=snapshot.version,
    )
