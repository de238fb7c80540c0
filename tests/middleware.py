from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect


class ContentLengthMiddleware:
    """Sets Content-Length like some servers' middleware does, before ours edits the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.streaming:
            response["Content-Length"] = str(len(response.content))  # type: ignore[attr-defined]
        return response


class ShopUrlconfMiddleware:
    """Chooses the request's urlconf, as django-hosts or django-tenants do; placed after ours."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.urlconf = "tests.urls_shop_under_admin"
        return self.get_response(request)


class AsyncShopUrlconfMiddleware:
    """The same in an async chain."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.urlconf = "tests.urls_shop_under_admin"
        return await self.get_response(request)


STATUS_PAGE = "https://status.example.com/"


class StatusPageMiddleware:
    """Sends the visitors a 503 turns away to the project's status page instead, as some sites do."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code == 503:
            return HttpResponseRedirect(STATUS_PAGE)
        return response
