from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from maintenance_mode.notice import current_notice


def maintenance(request: HttpRequest) -> dict[str, object]:
    """``{{ maintenance.upcoming }}``, ``{{ maintenance.starts_at }}``...; evaluated only when used."""
    return {"maintenance": SimpleLazyObject(current_notice)}
