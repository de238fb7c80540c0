from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

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


# Not HTML, yet with "</body>" inside: a template's source as text, a page's HTML as JSON.
TEMPLATE_SOURCE = "<html><body>{{ content }}</body></html>"


def page_quoting_a_body_tag(request: HttpRequest) -> HttpResponse:
    """A live page whose script writes "</body>" as text before the real end of the body."""
    return HttpResponse('<html><body><script>const end = "</body>";</script><h1>Editor</h1></body></html>')


def template_source(request: HttpRequest) -> HttpResponse:
    return HttpResponse(TEMPLATE_SOURCE, content_type="text/plain; charset=utf-8")


def rendered_page_as_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"html": TEMPLATE_SOURCE})


def streaming(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"<html><body>", b"stream", b"</body></html>"]))


def account(request: HttpRequest) -> HttpResponse:
    """A page of the live site that shows who is logged in (for the browser tests)."""
    if not request.user.is_authenticated:
        return HttpResponse("<html><body><h1>Not signed in</h1></body></html>")
    name = escape(request.user.get_username())
    return HttpResponse(f"<html><body><h1>Signed in as {name}</h1></body></html>")


def hidden_write(request: HttpRequest) -> HttpResponse:
    """A read that writes (a visit counter): what MAINTENANCE_MODE_READ_ONLY_DATABASE catches."""
    from django.contrib.auth.models import Group

    Group.objects.create(name=f"visit {Group.objects.count()}")
    return HttpResponse("<html><body>counted</body></html>")


def swallowed_write(request: HttpRequest) -> HttpResponse:
    """A view that hides its failing write from the visitor."""
    from django.contrib.auth.models import Group

    with contextlib.suppress(Exception):  # the point of the view
        Group.objects.create(name="swallowed")
    return HttpResponse("<html><body>saved, it says</body></html>")


def session_and_sign_in(request: HttpRequest) -> HttpResponse:
    """Writes a read-only site must let through: the session, and ``last_login``."""
    from django.contrib.auth import login
    from django.contrib.auth.models import User

    from maintenance_mode import is_active

    login(request, User.objects.get(username="customer"))  # cycles the session, updates last_login
    request.session["seen"] = True
    request.session.save()
    return HttpResponse(f"<html><body>signed in, maintenance {is_active()}</body></html>")


async def async_hidden_write(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth.models import Group

    await Group.objects.acreate(name="async visit")
    return HttpResponse("<html><body>counted</body></html>")


def shop_page(request: HttpRequest, rest: str) -> HttpResponse:
    """A live page of the shop in tests.urls_shop_under_admin."""
    return HttpResponse("<html><body><h1>Shop page</h1></body></html>")


NOTES_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Notes</title></head>
<body><main><h1>Notes</h1><ul>{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ul>
<form method="post">{% csrf_token %}<label for="note">Note</label> <input id="note" name="note" required>
<button type="submit">Add the note</button></form></main></body></html>"""


def notes(request: HttpRequest) -> HttpResponse:
    """A page with a form that writes (for the browser tests of read-only maintenance)."""
    from django.contrib.auth.models import Group
    from django.shortcuts import redirect
    from django.template import engines

    if request.method == "POST":
        Group.objects.create(name=request.POST["note"])
        return redirect(request.path)
    template = engines["django"].from_string(NOTES_PAGE)
    names = Group.objects.order_by("id").values_list("name", flat=True)
    return HttpResponse(template.render({"notes": list(names)}, request))


def tagged_hidden_write(request: HttpRequest) -> HttpResponse:
    """A read that writes through a cursor whose statements carry a leading tag
    comment, as an APM writes them (Datadog's database monitoring)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("/*dddbs='shop',dde='prod'*/ INSERT INTO auth_group (name) VALUES (%s)", ["tagged visit"])
    return HttpResponse("<html><body>counted</body></html>")


async def pool_thread_hidden_write(request: HttpRequest) -> HttpResponse:
    """A read that writes from a pool thread, which has database connections of its own."""
    from asgiref.sync import sync_to_async
    from django.contrib.auth.models import Group
    from django.db import connections

    def count_the_visit() -> None:
        try:
            Group.objects.create(name="pool visit")
        finally:
            connections.close_all()  # a pool thread's connection must not outlive the test database

    await sync_to_async(count_the_visit, thread_sensitive=False)()
    return HttpResponse("<html><body>counted</body></html>")


def streaming_hidden_write(request: HttpRequest) -> StreamingHttpResponse:
    """A download that records itself while it is sent (after the view returned)."""
    from django.contrib.auth.models import Group

    def rows() -> Iterator[bytes]:
        yield b"id,name\n"
        Group.objects.create(name="download recorded")
        yield b"1,done\n"

    return StreamingHttpResponse(rows(), content_type="text/csv")


def async_streaming_hidden_write(request: HttpRequest) -> StreamingHttpResponse:
    from django.contrib.auth.models import Group

    async def rows() -> AsyncIterator[bytes]:
        yield b"id,name\n"
        await Group.objects.acreate(name="download recorded")
        yield b"1,done\n"

    return StreamingHttpResponse(rows(), content_type="text/csv")


def cached_fragment(request: HttpRequest) -> HttpResponse:
    """A read that fills a database cache (what ``cache_page`` or ``{% cache %}`` do)."""
    from django.core.cache import caches

    caches["db"].set("fragment", "<p>cached</p>")
    return HttpResponse("<html><body>cached</body></html>")


def swallowed_write_then_read(request: HttpRequest) -> HttpResponse:
    """Swallows the refusal, then queries: inside ATOMIC_REQUESTS that query fails."""
    from django.contrib.auth.models import Group

    with contextlib.suppress(Exception):
        Group.objects.create(name="swallowed")
    return HttpResponse(f"<html><body>{Group.objects.count()} groups</body></html>")
