"""``manage.py maintenance on|off|status|render``."""

from __future__ import annotations

import getpass
import json
import time
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.forms import modelform_factory
from django.utils import timezone

from maintenance_mode import bypass, export, schedule
from maintenance_mode.conf import conf
from maintenance_mode.forms import MaintenanceSettingsForm
from maintenance_mode.models import EDITABLE_FIELDS, MaintenanceEvent, MaintenanceSettings
from maintenance_mode.snapshot import Snapshot
from maintenance_mode.state import store


class Command(BaseCommand):
    help = "Switch maintenance mode on or off, or show its status."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{on,off,status,render}")
        on = actions.add_parser("on", help="Switch maintenance on, or update its options while it is on.")
        mode = on.add_mutually_exclusive_group()
        mode.add_argument(
            "--read-only",
            action="store_const",
            dest="mode",
            const=MaintenanceSettings.Mode.READ_ONLY,
            help="Everyone can browse; visitors' changes are refused (administrators keep writing).",
        )
        mode.add_argument(
            "--full",
            action="store_const",
            dest="mode",
            const=MaintenanceSettings.Mode.FULL,
            help="Visitors see the maintenance page. Without --read-only or --full the mode set before is kept.",
        )
        on.add_argument("--message", help="What visitors read (plain text).")
        on.add_argument("--image-url", help="Logo or illustration: https:// URL or /path.")
        on.add_argument("--icon", help='CSS icon classes, e.g. "fas fa-tools".')
        on.add_argument("--button-text", help="The button's label.")
        on.add_argument("--button-url", help="Where the button points (status page, temporary site).")
        secret = on.add_mutually_exclusive_group()
        secret.add_argument("--secret", metavar="TOKEN", help="Opening /TOKEN gives a browser the live site.")
        secret.add_argument(
            "--with-secret",
            action="store_true",
            help="Like --secret, with a freshly generated token (links of earlier windows stop working).",
        )
        secret.add_argument("--no-secret", action="store_true", help="Remove the secret and revoke its links.")
        on.add_argument(
            "--allow",
            action="append",
            metavar="IP_OR_CIDR",
            help="An address or network that sees the live site (repeatable; replaces the list).",
        )
        on.add_argument(
            "--start", metavar="ISO8601", help="When maintenance begins (default: now, even if a start was planned)."
        )
        end = on.add_mutually_exclusive_group()
        end.add_argument("--end", metavar="ISO8601", help="When maintenance turns itself off.")
        end.add_argument(
            "--for",
            dest="duration",
            metavar="DURATION",
            help="Like --end, from --start or else from now: 90m, 2h, 1h30m.",
        )
        actions.add_parser("off", help="Switch maintenance off.")
        status = actions.add_parser("status", help="Show whether maintenance is on, and its options.")
        status.add_argument("--json", action="store_true", help="Machine-readable output.")
        render = actions.add_parser(
            "render",
            help="Write the maintenance page as static files for a proxy to serve while Django is down.",
        )
        render.add_argument("directory", metavar="DIR", help="An existing directory the web server reads.")
        render.add_argument(
            "--language",
            action="append",
            dest="languages",
            metavar="CODE",
            help="Also write maintenance.CODE.html (repeatable; default: LANGUAGE_CODE and each of LANGUAGES).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.act(options)
        except DatabaseError as error:
            # What failed and the way out, not a hundred lines of driver
            # traceback (still there with --traceback, as the cause).
            raise CommandError(
                f"The database is unavailable ({type(error).__name__}: {' '.join(str(error).split())}); nothing was "
                "changed. To switch maintenance on or off without it, set MAINTENANCE_MODE_FORCE = True "
                "(or False) in the settings and restart the app servers."
            ) from error

    def act(self, options: dict[str, Any]) -> None:
        action = options["action"]
        if action == "status":
            if conf.FORCE is not None:
                self.show_forced_status(as_json=options["json"])  # forced: the database is not read
                return
            self.show_status(MaintenanceSettings.load(), as_json=options["json"])
            return
        if action == "render":
            self.render(options["directory"], options["languages"])
            return
        row = MaintenanceSettings.load()
        if action == "on":
            changes = self.changes_for_on(row, options)
        else:  # "off" also ends any schedule, so a later plain "on" starts clean
            changes = {"enabled": False, "starts_at": None, "ends_at": None}
        row = self.apply(row, changes)
        self.show_status(row, as_json=False)
        warning = store.propagation_warning(row.version)
        if warning:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))

    def changes_for_on(self, row: MaintenanceSettings, options: dict[str, Any]) -> dict[str, Any]:
        changes: dict[str, Any] = {"enabled": True}
        for option, field in (
            ("mode", "mode"),
            ("message", "message"),
            ("image_url", "image_url"),
            ("icon", "icon"),
            ("button_text", "button_text"),
            ("button_url", "bypass_url"),
            ("secret", "bypass_secret"),
        ):
            if options[option] is not None:
                changes[field] = options[option]
        if options["with_secret"]:
            changes["bypass_secret"] = bypass.new_secret()  # fresh: links of earlier windows stay dead
        if options["no_secret"]:
            changes["bypass_secret"] = ""
        if options["allow"] is not None:
            changes["allowed_ips"] = "\n".join(options["allow"])
        changes.update(self.schedule_changes(row, options))
        return changes

    def schedule_changes(self, row: MaintenanceSettings, options: dict[str, Any]) -> dict[str, Any]:
        now = timezone.now()
        changes: dict[str, Any] = {}
        if row.ends_at is not None and row.ends_at <= now:
            changes.update(starts_at=None, ends_at=None)  # a finished window must not swallow this "on"
        if row.starts_at is not None and row.starts_at > now:
            # "on" means now (the emergency case); a planned start applies only when given again.
            changes["starts_at"] = None
        try:
            if options["start"] is not None:
                changes["starts_at"] = schedule.parse_instant(options["start"])
            if options["end"] is not None:
                changes["ends_at"] = schedule.parse_instant(options["end"])
            if options["duration"] is not None:  # from the start given with it, else from now
                start = changes["starts_at"] if options["start"] is not None else now
                changes["ends_at"] = schedule.end_after(start, options["duration"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        end = changes.get("ends_at")
        if end is not None and end <= now:
            raise CommandError(f"The end ({end.isoformat()}) is in the past; nothing was changed.")
        return changes

    def apply(self, row: MaintenanceSettings, changes: dict[str, Any]) -> MaintenanceSettings:
        """Validate the changed fields with the admin's form, then save; on any error nothing changes.

        Only the changed fields: a value stored before a validator became stricter
        (a secret the 1.0 release accepted, say) must not make ``maintenance off``
        refuse in an emergency. Every value the command writes is validated.
        """
        fields = [field for field in EDITABLE_FIELDS if field in changes]
        form_class = modelform_factory(MaintenanceSettings, form=MaintenanceSettingsForm, fields=fields)
        form = form_class(data=changes, instance=row)
        if not form.is_valid():
            lines = [
                f"{'' if field == '__all__' else field + ': '}{message}"
                for field, messages in form.errors.items()
                for message in messages
            ]
            raise CommandError("Nothing was changed:\n  " + "\n  ".join(lines))
        updated = form.save(commit=False)
        updated.save(actor=_os_user(), source=MaintenanceEvent.Source.COMMAND)
        return updated

    def render(self, directory: str, languages: list[str] | None) -> None:
        """Even while maintenance is off: the files are prepared before a deploy."""
        try:
            written = export.render(directory, Snapshot.from_instance(MaintenanceSettings.load()), languages)
        except export.ExportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(export.summary(written))
        for warning in export.warnings(written):
            self.stderr.write(self.style.WARNING(warning))

    def show_forced_status(self, *, as_json: bool) -> None:
        forced = bool(conf.FORCE)
        if as_json:
            self.stdout.write(json.dumps({"active": forced, "forced": forced, "database_read": False}, indent=2))
            return
        state = self.style.WARNING("ON") if forced else self.style.SUCCESS("off")
        self.stdout.write(
            f"Maintenance mode: {state}\n"
            f"  forced {'on' if forced else 'off'} by MAINTENANCE_MODE_FORCE: the database is not read "
            "(its settings apply again once MAINTENANCE_MODE_FORCE is unset)"
        )

    def show_status(self, row: MaintenanceSettings, *, as_json: bool) -> None:
        snapshot = Snapshot.from_instance(row)
        now = time.time()
        phase = snapshot.phase(now)
        active = phase == "on"
        link = _bypass_link(row.bypass_secret)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "active": active,
                        "enabled": row.enabled,
                        "mode": row.mode,
                        "forced": conf.FORCE,
                        "message": row.message,
                        "starts_at": _iso(row.starts_at),
                        "ends_at": _iso(row.ends_at),
                        "retry_after": snapshot.retry_after(now) if active else None,
                        "allowed_ips": row.allowed_ips.split(),
                        "bypass_link": link,
                        "version": row.version,
                        "updated_at": _iso(row.updated_at),
                    },
                    indent=2,
                )
            )
            return
        state = {
            "on": self.style.WARNING("ON"),
            "scheduled": self.style.NOTICE("SCHEDULED"),
            "off": self.style.SUCCESS("off"),
        }[phase]
        lines = [f"Maintenance mode: {state}"]
        if conf.FORCE is not None:
            # What visitors get is the switch's, not the row's: say so before the row's options,
            # which are only saved (an operator acting in an emergency reads the first lines).
            applies = "visitors get the full maintenance page" if conf.FORCE else "visitors get the live site"
            lines.append(
                f"  forced {'on' if conf.FORCE else 'off'} by MAINTENANCE_MODE_FORCE (the database is ignored): "
                f"{applies}; the settings below are saved and apply once it is unset"
            )
        lines.append(f"  mode:        {_MODE_LINES.get(row.mode, row.mode)}")
        if row.starts_at:
            lines.append(f"  starts:      {_local(row.starts_at)}")
        if row.ends_at:
            left = row.ends_at - timezone.now()
            lines.append(
                f"  ends:        {_local(row.ends_at)}" + (f" (in {_human(left)})" if left > timedelta(0) else "")
            )
        lines.append(f"  message:     {row.message or '(the default message)'}")
        if row.allowed_ips:
            lines.append(f"  allowed IPs: {', '.join(row.allowed_ips.split())}")
        if link:
            lines.append(f"  bypass link: {link}")
        self.stdout.write("\n".join(lines))


_MODE_LINES: dict[str, str] = {
    MaintenanceSettings.Mode.FULL: "full (visitors see the maintenance page)",
    MaintenanceSettings.Mode.READ_ONLY: "read-only (everyone can browse; visitors' changes are refused)",
}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid, e.g. in some containers
        return "unknown"


def _bypass_link(secret: str) -> str:
    if not secret:
        return ""
    return f"{conf.BASE_URL.rstrip('/')}/{secret}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _local(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
