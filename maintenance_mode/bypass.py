"""The secret bypass link's cookie: signed, expiring, bound to the secret."""

from __future__ import annotations

import hashlib
import secrets

from django.core import signing
from django.utils.crypto import constant_time_compare

from maintenance_mode.conf import conf


def _signer(secret: str) -> signing.TimestampSigner:
    # The salt carries a digest of the secret: changing the secret revokes every cookie.
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return signing.TimestampSigner(salt=f"maintenance_mode.bypass.{digest}")


def new_secret() -> str:
    """A fresh random secret, 32 URL-safe characters (``--with-secret``, the admin's suggestion)."""
    return secrets.token_urlsafe(24)


def make_cookie_value(secret: str) -> str:
    return _signer(secret).sign("1")


def cookie_is_valid(value: str | None, secret: str) -> bool:
    if not value or not secret:
        return False
    try:
        _signer(secret).unsign(value, max_age=conf.BYPASS_COOKIE_AGE)
    except signing.BadSignature:  # tampered, expired (SignatureExpired), or another secret
        return False
    return True


def is_secret_path(path: str, secret: str) -> bool:
    """``path`` is ``/<secret>`` (or ``/<secret>/``), compared in constant time."""
    if not secret:
        return False
    return constant_time_compare(path.strip("/"), secret)
