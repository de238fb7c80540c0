from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase


class ContentLengthMiddleware:
    """Sets Content-Length like some servers' middleware does, before ours edits the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.streaming:
            response["Content-Length"] = str(len(response.content))  # type: ignore[attr-defined]
        return response
