"""What the live site may tell visitors about maintenance: read from the snapshot only."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime

from django.utils import timezone

from maintenance_mode import state
from maintenance_mode.conf import conf
from maintenance_mode.snapshot import Snapshot


@dataclasses.dataclass(frozen=True)
class Notice:
    active: bool
    upcoming: bool  # scheduled, and within MAINTENANCE_MODE_BANNER_LEAD_TIME of its start
    starts_at: datetime | None
    ends_at: datetime | None
    message: str
    version: int
    mode: str = "full"  # or "read-only": of the window that is on, or coming
    read_only: bool = False  # on right now, in read-only mode: the site is readable, changes wait

    @property
    def zones(self) -> str:
        """The zone the times are given in: "CET", or "CET → CEST" across a DST change."""
        names = [timezone.localtime(moment).tzname() for moment in (self.starts_at, self.ends_at) if moment]
        return " → ".join(dict.fromkeys(name for name in names if name))

    @property
    def same_day(self) -> bool:
        """Start and end fall on the same date in the current time zone."""
        if self.starts_at is None or self.ends_at is None:
            return False
        return timezone.localtime(self.starts_at).date() == timezone.localtime(self.ends_at).date()


def is_upcoming_soon(snapshot: Snapshot, now: float) -> bool:
    """Scheduled, and within ``MAINTENANCE_MODE_BANNER_LEAD_TIME`` of its start: announced."""
    if not snapshot.is_upcoming(now) or snapshot.starts_at is None:
        return False
    return snapshot.starts_at - now <= conf.BANNER_LEAD_TIME


def current_notice(now: float | None = None) -> Notice:
    now = time.time() if now is None else now
    snapshot = state.current()
    active = snapshot.is_active(now)
    return Notice(
        active=active,
        upcoming=is_upcoming_soon(snapshot, now),
        mode=snapshot.mode,
        read_only=active and snapshot.read_only,
        starts_at=snapshot.start,
        ends_at=snapshot.end,
        message=snapshot.message,
        version=snapshot.version,
    )
