"""``maintenance_enabled`` and ``maintenance_disabled``: sent once when
maintenance becomes active or stops being active, whatever changed it: a save
(admin, command, Python API) in the saving process after commit, or a
scheduled start or end in the first process that reads the state after it.
``maintenance_enabled`` is sent again when a save switches the mode (full,
read-only) while maintenance is on.

``maintenance_changed``: sent after every committed change, whether or not it
switched maintenance on or off (a new message, a new end time)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from maintenance_mode.snapshot import Snapshot

#: Sent with ``snapshot`` (the new state), ``source`` ("save" or "schedule")
#: and ``mode`` ("full" or "read-only").
maintenance_enabled = Signal()
#: Sent with ``snapshot`` (the new state), ``source`` ("save" or "schedule")
#: and ``mode`` ("full" or "read-only").
maintenance_disabled = Signal()
#: Sent with ``snapshot`` (the new state) and ``source`` ("save" or "schedule").
maintenance_changed = Signal()


logger = logging.getLogger("maintenance_mode")


def send(active: bool, snapshot: Snapshot, *, source: str) -> None:
    """Announce that maintenance became active (``True``) or stopped being active.

    A failing receiver is logged, never raised: the change it reacts to is
    already committed and must not turn into an error page or a retry.
    """
    signal = maintenance_enabled if active else maintenance_disabled
    for receiver, result in signal.send_robust(
        sender=type(snapshot), snapshot=snapshot, source=source, mode=snapshot.mode
    ):
        if isinstance(result, Exception):
            logger.error(
                "maintenance_mode: the receiver %r of maintenance_%s failed.",
                receiver,
                "enabled" if active else "disabled",
                exc_info=result,
            )


def send_changed(snapshot: Snapshot, *, source: str) -> None:
    """Announce a committed change of the settings (before ``send``, when both are due).

    Like ``send``, a failing receiver is logged, never raised.
    """
    for receiver, result in maintenance_changed.send_robust(sender=type(snapshot), snapshot=snapshot, source=source):
        if isinstance(result, Exception):
            logger.error("maintenance_mode: the receiver %r of maintenance_changed failed.", receiver, exc_info=result)
