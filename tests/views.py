from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.html import escape
from django.views import View

from maintenance_mode.decorators import maintenance_exempt


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<html><body><h1>Live site</h1></body></html>")


async def async_home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<html><body><h1>Async live site</h1></body></html>")


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@maintenance_exempt
def exempt_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("exempt view")


@maintenance_exempt
class ExemptClassView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("exempt class view")


def api_items(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"items": []})


def webhook(request: HttpRequest) -> HttpResponse:
    return HttpResponse("webhook")


def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f"order {pk}")


def no_body(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>fragment without a body tag</p>")


def streaming(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"<html><body>", b"stream", b"</body></html>"]))


def account(request: HttpRequest) -> HttpResponse:
    """A page of the live site that shows who is logged in (for the browser tests)."""
    if not request.user.is_authenticated:
        return HttpResponse("<html><body><h1>Not signed in</h1></body></html>")
    name = escape(request.user.get_username())
    return HttpResponse(f"<html><body><h1>Signed in as {name}</h1></body></html>")
