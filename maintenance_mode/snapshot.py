"""The immutable snapshot of the settings row, and its plain-data payload.

A :class:`Snapshot` is what every request reads: built from a database row or
from the shared cache's payload, never changed afterwards. This module knows
the shape of the state, not where it comes from (that is ``state.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import datetime, timezone  # not datetime.UTC: Python 3.10 is supported
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from maintenance_mode import validators
from maintenance_mode.conf import conf

if TYPE_CHECKING:
    from django.db.models import Model


# The values of MaintenanceSettings.mode.
FULL = "full"
READ_ONLY = "read-only"
MODES = (FULL, READ_ONLY)


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """One immutable reading of the settings row. Times are UNIX timestamps.

    ``eq=False``: a snapshot is its own identity, cheap to hash as a cache key.
    """

    enabled: bool = False
    mode: str = FULL  # or READ_ONLY
    message: str = ""
    image_url: str = ""
    icon: str = ""
    button_text: str = ""
    bypass_url: str = ""
    allowed_ips: tuple[validators.Network, ...] = ()
    secret: str = ""
    starts_at: float | None = None
    ends_at: float | None = None
    version: int = 0
    # The active state last announced by signals (see MaintenanceSettings.signalled_active).
    signalled_active: bool = False
    # False when the state could not be read at all and this is the fallback.
    known: bool = True

    def is_active(self, now: float) -> bool:
        if not self.enabled:
            return False
        if self.starts_at is not None and now < self.starts_at:
            return False
        return self.ends_at is None or now < self.ends_at

    @property
    def read_only(self) -> bool:
        """Everyone reads the live site; only non-administrators' changes are refused."""
        return self.mode == READ_ONLY

    def is_upcoming(self, now: float) -> bool:
        return self.enabled and self.starts_at is not None and now < self.starts_at and not self.has_ended(now)

    def phase(self, now: float) -> str:
        """``"on"``, ``"scheduled"`` or ``"off"``, honouring ``MAINTENANCE_MODE_FORCE``."""
        if conf.FORCE is not None:
            return "on" if conf.FORCE else "off"
        if self.is_active(now):
            return "on"
        return "scheduled" if self.is_upcoming(now) else "off"

    def has_ended(self, now: float) -> bool:
        return self.ends_at is not None and now >= self.ends_at

    def retry_after(self, now: float) -> int | None:
        """Whole seconds until the announced end, else the configured default."""
        if self.ends_at is not None and self.ends_at > now:
            return math.ceil(self.ends_at - now)
        return conf.RETRY_AFTER

    @property
    def start(self) -> datetime | None:
        return as_datetime(self.starts_at)

    @property
    def end(self) -> datetime | None:
        return as_datetime(self.ends_at)

    @classmethod
    def from_instance(cls, row: Model) -> Snapshot:
        """From a ``MaintenanceSettings`` instance."""
        return cls.from_payload({name: getattr(row, name) for name in ROW_FIELDS})

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Snapshot:
        """Build from a database row or a cache payload; ``ValueError`` on garbage."""
        if not isinstance(payload, Mapping):
            raise ValueError(f"expected a mapping, got {type(payload).__name__}")
        strings = {
            name: payload[name]
            for name in ("message", "image_url", "icon", "button_text", "bypass_url", "allowed_ips", "bypass_secret")
        }
        if not all(isinstance(value, str) for value in strings.values()):
            raise ValueError("text fields must be strings")
        if not isinstance(payload["enabled"], bool) or not isinstance(payload["signalled_active"], bool):
            raise ValueError("enabled and signalled_active must be booleans")
        if not isinstance(payload["mode"], str):
            raise ValueError("mode must be a string")
        version = payload["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ValueError("version must be a non-negative integer")
        try:
            networks = validators.parse_networks(validators.split_ip_lines(strings["allowed_ips"]))
        except ValidationError as error:
            raise ValueError(f"allowed_ips: {error.messages}") from None
        return cls(
            enabled=payload["enabled"],
            # A mode this release does not know (a newer release's row, after a
            # rollback) closes the site rather than leaving it open to writes.
            mode=payload["mode"] if payload["mode"] in MODES else FULL,
            message=strings["message"],
            image_url=strings["image_url"],
            icon=strings["icon"],
            button_text=strings["button_text"],
            bypass_url=strings["bypass_url"],
            allowed_ips=networks,
            secret=strings["bypass_secret"],
            starts_at=timestamp(payload["starts_at"]),
            ends_at=timestamp(payload["ends_at"]),
            version=version,
            signalled_active=payload["signalled_active"],
        )

    def to_payload(self) -> dict[str, Any]:
        """Plain data for the shared cache (no pickled classes between releases)."""
        return {
            "enabled": self.enabled,
            "mode": self.mode,
            "message": self.message,
            "image_url": self.image_url,
            "icon": self.icon,
            "button_text": self.button_text,
            "bypass_url": self.bypass_url,
            "allowed_ips": "\n".join(str(network) for network in self.allowed_ips),
            "bypass_secret": self.secret,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "version": self.version,
            "signalled_active": self.signalled_active,
        }


#: The primary key of the one settings row.
SINGLETON_PK = 1

#: The columns of the settings row a snapshot is made of.
ROW_FIELDS = (
    "enabled",
    "mode",
    "message",
    "image_url",
    "icon",
    "button_text",
    "bypass_url",
    "allowed_ips",
    "bypass_secret",
    "starts_at",
    "ends_at",
    "version",
    "signalled_active",
)


def timestamp(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in the state; is USE_TZ off?")
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            datetime.fromtimestamp(value, tz=timezone.utc)  # in range for display, too
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"timestamp out of range: {value!r}") from None
        return float(value)
    raise ValueError(f"bad timestamp {value!r}")


def as_datetime(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)
