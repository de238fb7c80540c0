"""Served-site middleware that tells the tests which worker answered, and what it knew.

Outermost in the served site's ``MIDDLEWARE``, so every response carries the
headers, the maintenance page and any 500 included.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from maintenance_mode import state

PID_HEADER = "X-Worker-Pid"
VERSION_HEADER = "X-State-Version"

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def _label(response: HttpResponseBase) -> HttpResponseBase:
    response[PID_HEADER] = str(os.getpid())
    # The snapshot the maintenance middleware just used (fresh() reads memory
    # only, so this adds no I/O): lets a test check the exact version agreed on.
    snapshot = state.store.fresh()
    if snapshot is not None:
        response[VERSION_HEADER] = str(snapshot.version)
    return response


@sync_and_async_middleware
def worker_header_middleware(get_response: GetResponse | AsyncGetResponse) -> GetResponse | AsyncGetResponse:
    if iscoroutinefunction(get_response):
        get_response_async: AsyncGetResponse = get_response

        async def label_async(request: HttpRequest) -> HttpResponseBase:
            return _label(await get_response_async(request))

        return label_async

    get_response_sync: GetResponse = get_response  # type: ignore[assignment]

    def label(request: HttpRequest) -> HttpResponseBase:
        return _label(get_response_sync(request))

    return label
