"""The singleton settings row, and the history of its changes."""

from __future__ import annotations

import time
from datetime import datetime
from datetime import timezone as dt_timezone  # not datetime.UTC: Python 3.10 is supported
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from maintenance_mode import signals, state, validators
from maintenance_mode.conf import conf
from maintenance_mode.snapshot import SINGLETON_PK as _ROW_PK
from maintenance_mode.snapshot import Snapshot

# A scheduled start or end is announced once it has been past this long, so
# that servers whose clocks differ by less never announce it both ways.
ANNOUNCE_AFTER = 2.0

# The fields an administrator edits (admin form, command), in display order;
# their changes are recorded in the history.
EDITABLE_FIELDS = (
    "enabled",
    "mode",
    "starts_at",
    "ends_at",
    "message",
    "image_url",
    "icon",
    "button_text",
    "bypass_url",
    "allowed_ips",
    "bypass_secret",
)


class MaintenanceSettings(models.Model):
    SINGLETON_PK: ClassVar[int] = _ROW_PK

    class Mode(models.TextChoices):
        FULL = "full", _("Full: visitors see the maintenance page")
        READ_ONLY = "read-only", _("Read-only: everyone can browse; visitors’ changes are refused")

    enabled = models.BooleanField(
        _("enable maintenance"),
        default=False,
        help_text=_("Visitors see the maintenance page; administrators keep using the site."),
    )
    mode = models.CharField(
        _("mode"),
        max_length=10,
        choices=Mode.choices,
        default=Mode.FULL,
        help_text=_(
            "Read-only keeps the site readable for everyone and refuses only visitors’ changes "
            "(forms, orders, API writes); administrators keep working."
        ),
    )
    starts_at = models.DateTimeField(
        _("starts at"),
        null=True,
        blank=True,
        help_text=_("Optional. While enabled, maintenance begins at this time (site time zone)."),
    )
    ends_at = models.DateTimeField(
        _("ends at"),
        null=True,
        blank=True,
        help_text=_("Optional. Maintenance turns itself off at this time; visitors see it as the expected end."),
    )
    message = models.TextField(
        _("message"),
        blank=True,
        help_text=_("Plain text; line breaks are kept. Empty: a standard message in the visitor’s language."),
    )
    image_url = models.CharField(
        _("image URL"),
        max_length=500,
        blank=True,
        validators=[validators.validate_safe_url],
        help_text=_("Logo or illustration: an https:// URL or a path on this site, e.g. /static/logo.svg."),
    )
    icon = models.CharField(
        _("icon"),
        max_length=100,
        blank=True,
        validators=[validators.validate_icon],
        help_text=_("CSS icon classes, e.g. “fas fa-tools”. Empty: a built-in icon."),
    )
    button_text = models.CharField(
        _("button text"),
        max_length=100,
        blank=True,
        help_text=_("Empty: “More information” in the visitor’s language."),
    )
    bypass_url = models.CharField(
        _("button URL"),
        max_length=500,
        blank=True,
        validators=[validators.validate_safe_url],
        help_text=_("Where the button points: a status page or a temporary site. Empty: no button."),
    )
    allowed_ips = models.TextField(
        _("allowed IP addresses"),
        blank=True,
        validators=[validators.validate_ip_list],
        help_text=_("One address or CIDR network per line (IPv4 or IPv6); these visitors see the live site."),
    )
    bypass_secret = models.CharField(
        _("bypass secret"),
        max_length=128,
        blank=True,
        validators=[validators.validate_secret],
        help_text=_(
            "A browser that opens the site’s address followed by “/” and this secret sees the live "
            "site for a while. Changing or clearing it revokes every link handed out."
        ),
    )
    # Whether maintenance_enabled (True) or maintenance_disabled (False) was
    # sent last: a scheduled start or end is announced once, by the first
    # process that notices it, by claiming the change of this flag.
    signalled_active = models.BooleanField(default=False, editable=False)
    version = models.PositiveBigIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("maintenance settings")
        verbose_name_plural = _("maintenance settings")

    def __str__(self) -> str:
        return str(_("Maintenance settings"))

    def save(self, *args: Any, actor: str = "", source: str = "api", **kwargs: Any) -> None:
        """Save the one row, record what changed, then publish the new state.

        ``actor`` and ``source`` say who changed it for the history.
        """
        self.pk = self.SINGLETON_PK
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "version", "updated_at", "signalled_active"}
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        kwargs["using"] = using
        with transaction.atomic(using=using):
            previous = type(self).objects.using(using).select_for_update().filter(pk=self.pk).first()
            self.version = (previous.version if previous else 0) + 1
            was_signalled = previous.signalled_active if previous else False
            was_mode = previous.mode if previous else self.Mode.FULL
            if previous is not None and _closes_the_secrets_window(previous, self):
                self.bypass_secret = ""  # its links were handed out for a window that is over
                if kwargs.get("update_fields") is not None:
                    kwargs["update_fields"].add("bypass_secret")
            self.signalled_active = Snapshot.from_instance(self).is_active(time.time())
            super().save(*args, **kwargs)
            changes = diff(previous, self)
            if changes:
                MaintenanceEvent.objects.using(using).create(actor=actor[:150], source=source, changes=changes)
            after = Snapshot.from_instance(self)
            transaction.on_commit(lambda: _committed(was_signalled, was_mode, after), using=using)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError(_("The maintenance settings cannot be deleted; switch maintenance off instead."))

    def clean(self) -> None:
        super().clean()
        out_of_range = {
            name: ValidationError(_("Pick a time between the years 1 and 9999 in UTC."), code="out_of_range")
            for name in ("starts_at", "ends_at")
            if getattr(self, name) is not None and not _storable(getattr(self, name))
        }
        if out_of_range:  # before comparing them: that converts to UTC too
            raise ValidationError(out_of_range)
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValidationError({"ends_at": _("The end must come after the start.")}, code="end_before_start")

    @classmethod
    def load(cls) -> MaintenanceSettings:
        """The row, created with its defaults the first time."""
        row, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return row

    @classmethod
    def claim_announcement(cls, seen: Snapshot, active: bool) -> Snapshot | None:
        """Claim the announcement of a scheduled start (``active``) or end.

        Of all the processes that notice the boundary, only the one whose
        guarded UPDATE changes the row gets the new snapshot (and records the
        change); the others get ``None``. Call it outside any transaction.
        """
        using = router.db_for_write(cls)
        with transaction.atomic(using=using):
            claimed = (
                cls.objects.using(using)
                .filter(pk=cls.SINGLETON_PK, version=seen.version, signalled_active=not active)
                .update(signalled_active=active, version=models.F("version") + 1)
            )
            if not claimed:
                return None
            MaintenanceEvent.objects.using(using).create(
                source=MaintenanceEvent.Source.SCHEDULE, changes={"active": [not active, active]}
            )
            row = cls.objects.using(using).get(pk=cls.SINGLETON_PK)
        return Snapshot.from_instance(row)


def _storable(value: datetime) -> bool:
    """Whether the database (which stores UTC) and the snapshot (a UNIX time) can hold ``value``:
    9999-12-31T23:59-05:00 is a valid datetime whose UTC is in the year 10000."""
    try:
        utc = value.astimezone(dt_timezone.utc)
        datetime.fromtimestamp(utc.timestamp(), tz=dt_timezone.utc)
    except (OverflowError, OSError, ValueError):
        return False
    return True


def _closes_the_secrets_window(previous: MaintenanceSettings, current: MaintenanceSettings) -> bool:
    """Whether this change ends the window the bypass secret belongs to (switching
    off), or opens a new one after it ended by its end time, keeping the secret.

    A bypass link is valid for one window: a later window needs a new secret
    (or the same one given again on purpose). A secret typed while maintenance
    is off is kept: it is meant for the next window.
    """
    if not current.bypass_secret or current.bypass_secret != previous.bypass_secret:
        return False  # no secret, or one given with this change
    if not previous.enabled:
        return False
    if not current.enabled:
        return True
    now = timezone.now()
    ended = previous.ends_at is not None and previous.ends_at <= now
    return ended and (current.ends_at is None or current.ends_at > now)


def _committed(was_signalled: bool, was_mode: str, after: Snapshot) -> None:
    state.store.publish(after)
    signals.send_changed(after, source="save")
    if after.signalled_active != was_signalled:
        signals.send(after.signalled_active, after, source="save")
    elif after.signalled_active and after.mode != was_mode:
        # Full <-> read-only while on: receivers that act per mode (pause the
        # queues only when the site is closed) hear of the new one.
        signals.send(True, after, source="save")


def announce_if_due(store: state.Store, snapshot: Snapshot) -> None:
    """After a refresh: send the signal for a scheduled start or end that nobody announced yet.

    Registered with :func:`maintenance_mode.state.on_refresh` in ``apps.py``.
    """
    now = time.time()
    active = snapshot.is_active(now)
    if active == snapshot.signalled_active or conf.FORCE is not None:
        return
    if snapshot.is_active(now - ANNOUNCE_AFTER) != active:
        return  # the boundary passed moments ago by this clock: let the other servers' clocks agree first
    if not active and snapshot.enabled and not snapshot.has_ended(now):
        return  # "not started yet" by this clock is never an end
    if connections[router.db_for_write(MaintenanceSettings)].in_atomic_block:
        return  # a rollback would undo the claim, not the signal: a later refresh announces it
    try:
        announced = MaintenanceSettings.claim_announcement(snapshot, active)
    except Exception as error:  # noqa: BLE001 - the next refresh tries again
        store.failed("database", error)
        return
    if announced is None:
        return  # another process won; its version reaches us like any write
    store.publish(announced)
    signals.send_changed(announced, source="schedule")
    signals.send(active, announced, source="schedule")


def _mask(value: str) -> str:
    return "••••••" if value else ""


def _display(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


def diff(previous: MaintenanceSettings | None, current: MaintenanceSettings) -> dict[str, list[object]]:
    """``{field: [old, new]}`` for every tracked field that changed; secrets are masked."""
    changes: dict[str, list[object]] = {}
    previous = previous or MaintenanceSettings()  # the first save is compared with the defaults
    for name in EDITABLE_FIELDS:
        old = getattr(previous, name)
        new = getattr(current, name)
        if old == new:
            continue
        if name == "bypass_secret":  # the history must not leak a working secret
            old, new = _mask(old), _mask(new)
        changes[name] = [_display(old), _display(new)]
    return changes


class MaintenanceEvent(models.Model):
    class Source(models.TextChoices):
        ADMIN = "admin", _("admin")
        COMMAND = "command", _("command")
        API = "api", _("Python API")
        SCHEDULE = "schedule", _("schedule")

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.CharField(_("who"), max_length=150, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.API)
    changes = models.JSONField(_("changes"), default=dict)

    class Meta:
        verbose_name = _("maintenance history entry")
        verbose_name_plural = _("maintenance history")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.get_source_display()} {self.actor}".strip()

    def summary(self) -> str:
        """The changes in one line for the history lists, e.g. "message: — → Back at noon."."""
        labels = {
            **{field.name: field.verbose_name for field in MaintenanceSettings._meta.fields},
            "active": _("maintenance active (schedule)"),
        }
        return "; ".join(
            f"{labels.get(field, field)}: {_short(old)} → {_short(new)}" for field, (old, new) in self.changes.items()
        )


def _short(value: object) -> str:
    if value in ("", None):
        return "—"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"
