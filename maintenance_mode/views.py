from __future__ import annotations

import time

from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_safe

from maintenance_mode import page, state
from maintenance_mode.decorators import maintenance_exempt


@maintenance_exempt
@require_safe
def status(request: HttpRequest) -> JsonResponse:
    """Read-only state for status pages, SPAs and monitors; reachable during maintenance."""
    snapshot = state.current()
    response = JsonResponse(page.json_body(snapshot, time.time()))
    response["Access-Control-Allow-Origin"] = "*"  # public information, read by status pages elsewhere
    add_never_cache_headers(response)
    return response
