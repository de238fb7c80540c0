"""Validation shared by the model, the admin form, the command and the system checks."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_ICON_RE = re.compile(r"^[A-Za-z0-9_ -]*$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{12,128}$")
SECRET_MIN_DISTINCT = 8


def parse_network(value: str) -> Network:
    """``10.0.0.1`` is the single host ``10.0.0.1/32``, never a prefix of ``10.0.0.12``."""
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValidationError(
            _("“%(value)s” is not an IP address or CIDR network (e.g. 203.0.113.7, 10.0.0.0/8, 2001:db8::/32)."),
            code="invalid_ip",
            params={"value": value},
        ) from None


def split_ip_lines(text: str) -> list[str]:
    """One entry per line or comma; blank entries and ``#`` comments are ignored."""
    entries: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        entries.extend(part.strip() for part in line.split(",") if part.strip())
    return entries


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(parse_network(value) for value in values)


def validate_ip_list(text: str) -> None:
    errors = []
    for entry in split_ip_lines(text):
        try:
            parse_network(entry)
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)


def validate_safe_url(value: str) -> None:
    """Only ``http(s)://`` or site-relative (``/status``) URLs: no ``javascript:``."""
    if not value:
        return
    if any(ord(char) < 0x21 for char in value):
        raise ValidationError(_("The URL must not contain spaces or control characters."), code="invalid_url")
    if "\\" in value:
        # Browsers read "\" as "/" in http(s) URLs: "/\evil.example" is "//evil.example", another
        # host, and "https://a.example\@b.example" is a.example, where urlsplit reads b.example.
        raise ValidationError(_("The URL must not contain a backslash (“\\”)."), code="invalid_url")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number, or out of range, raises here
    except ValueError:  # e.g. "http://[::1" (an unclosed bracket): Invalid IPv6 URL
        raise _malformed_url() from None
    if parts.scheme in ("http", "https") and parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        if "[" in host or "]" in host:
            _check_bracketed_host(host)  # Python 3.10's urlsplit lets "[x]" through
        elif not parts.hostname:
            raise _malformed_url()
        return
    if not parts.scheme and not parts.netloc and value.startswith("/") and not value.startswith("//"):
        return
    raise ValidationError(
        _("Enter an http:// or https:// URL, or a path on this site starting with “/”."),
        code="invalid_url",
    )


_BRACKETED_HOST_RE = re.compile(r"^\[(?P<address>[^\[\]]*)\](?::[0-9]*)?$")


def _check_bracketed_host(host: str) -> None:
    match = _BRACKETED_HOST_RE.match(host)
    try:
        ipaddress.IPv6Address(match["address"] if match else "")
    except ValueError:
        raise _malformed_url() from None


def _malformed_url() -> ValidationError:
    return ValidationError(
        _("This URL is malformed: check the brackets around an IPv6 address and the port number."),
        code="invalid_url",
    )


def validate_icon(value: str) -> None:
    if not _ICON_RE.match(value):
        raise ValidationError(
            _("Icon classes may only contain letters, digits, spaces, “-” and “_” (e.g. “fas fa-tools”)."),
            code="invalid_icon",
        )


def validate_secret(value: str) -> None:
    """The bypass secret is the whole credential (and ends up in access logs):
    long enough, and not a guessable pattern."""
    if not value:
        return
    if not _SECRET_RE.match(value):
        raise ValidationError(
            _("The secret must be 12 to 128 characters long, made of letters, digits, “-” and “_”."),
            code="invalid_secret",
        )
    if len(set(value)) < SECRET_MIN_DISTINCT or value in (value + value)[1:-1]:  # the latter: a piece repeated
        raise ValidationError(
            _(
                "The secret is too easy to guess: use at least %(count)s different characters, "
                "not a short piece repeated (or let the app generate one)."
            ),
            code="weak_secret",
            params={"count": SECRET_MIN_DISTINCT},
        )


def glob_error(pattern: object) -> str | None:
    """Why ``pattern`` is not a usable path glob, or ``None`` when it is."""
    if not isinstance(pattern, str) or not pattern.strip():
        return "it must be a non-empty string"
    if any(char.isspace() or ord(char) < 0x20 for char in pattern):
        return "it must not contain spaces or control characters"
    if pattern.count("[") != pattern.count("]"):
        return "its [ and ] brackets are unbalanced"
    return None
