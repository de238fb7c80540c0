"""The minimal page every benchmark compares against."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

BODY = b"<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Hello</h1></body></html>"


def index(request: HttpRequest) -> HttpResponse:
    """A small HTML page: no template, no database."""
    return HttpResponse(BODY)


async def async_index(request: HttpRequest) -> HttpResponse:
    """The same page from an async view: under ASGI, Django calls it in the event loop."""
    return HttpResponse(BODY)


async def async_unavailable(request: HttpRequest) -> HttpResponse:
    """bench_asgi.py's reference: a 503 that costs what any 503 costs under ASGI (marked
    as logged, like the maintenance page: logging is not what is compared)."""
    response = HttpResponse(BODY, status=503)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
