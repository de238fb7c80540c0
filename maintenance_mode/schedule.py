"""Parsing the command's times: ISO 8601 instants and durations like ``1h30m``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.utils import timezone

_DURATION_RE = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``1d``, ``45s``; ``ValueError`` otherwise."""
    match = _DURATION_RE.match(text.strip().lower())
    if not text.strip() or match is None:
        raise ValueError(f"“{text}” is not a duration; use forms like 90m, 2h, 1h30m or 1d.")
    parts = {key: int(value) for key, value in match.groupdict(default="0").items()}
    try:
        duration = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    except OverflowError:
        raise ValueError(f"“{text}” is longer than any calendar can hold.") from None
    if not duration:
        raise ValueError("The duration must be longer than zero.")
    return duration


def end_after(start: datetime, text: str) -> datetime:
    """``start`` plus the duration ``text``; ``ValueError`` when that is past the year 9999."""
    duration = parse_duration(text)
    try:
        return start + duration
    except OverflowError:
        raise ValueError(f"{start.isoformat()} plus {text.strip()} is past the year 9999.") from None


def parse_instant(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is read in the site's ``TIME_ZONE``.

    A local time that a DST change skips or repeats is refused rather than guessed.
    """
    cleaned = text.strip()
    if cleaned[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat does not read "Z"
        cleaned = cleaned[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"“{text}” is not an ISO 8601 time such as 2026-12-01T22:00 or 2026-12-01T22:00+01:00."
        ) from None
    if timezone.is_aware(value):
        return value
    zone = timezone.get_current_timezone()
    first, second = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        raise ValueError(
            f"{text} is ambiguous or does not exist in {zone} (a daylight saving change); "
            "add the UTC offset, e.g. 2026-03-29T02:30+01:00."
        )
    return first
