from __future__ import annotations

import time

from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from maintenance_mode import notice, page, state
from maintenance_mode.decorators import maintenance_exempt


@maintenance_exempt
@require_safe
def status(request: HttpRequest) -> JsonResponse:
    """Read-only state for status pages, SPAs and monitors; reachable during maintenance.

    Public (any origin may read it), so the message and times are published
    only once visitors are told anyway: while maintenance is on, or inside
    ``BANNER_LEAD_TIME`` of a scheduled start. A draft, or the last message
    after maintenance ended, stays private.
    """
    snapshot = state.current()
    now = time.time()
    announced = snapshot.is_active(now) or notice.is_upcoming_soon(snapshot, now)
    body = page.json_body(snapshot, now)
    if not announced:  # the same keys (a stable shape for clients), with nothing in them
        body = {key: False if isinstance(value, bool) else None for key, value in body.items()}
    response = JsonResponse(body)
    response["Access-Control-Allow-Origin"] = "*"  # public information, read by status pages elsewhere
    add_never_cache_headers(response)
    return response
