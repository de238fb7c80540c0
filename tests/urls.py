from __future__ import annotations

from pathlib import Path

from django.contrib import admin
from django.urls import include, path
from django.views.static import serve
from wagtail.admin import urls as wagtailadmin_urls

from tests import views

FILES = Path(__file__).resolve().parent / "files"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("cms/", include(wagtailadmin_urls)),  # the Wagtail admin, where a Wagtail site has it at admin/
    path("", views.home, name="home"),
    path("health", views.health),
    path("exempt-view/", views.exempt_view),
    path("exempt-class/", views.ExemptClassView.as_view()),
    path("async/", views.async_home),
    path("api/items/", views.api_items),
    path("api/webhooks/stripe", views.webhook),
    path("order/<int:pk>/edit", views.order_edit),
    path("no-body/", views.no_body),
    path("streaming/", views.streaming),
    path("template-source.txt", views.template_source),
    path("editor/", views.page_quoting_a_body_tag),
    path("api/rendered-page/", views.rendered_page_as_json),
    path("maintenance/", include("maintenance_mode.urls")),
    path("account/", views.account),
    path("notes/", views.notes),
    path("hidden-write/", views.hidden_write),
    path("swallowed-write/", views.swallowed_write),
    path("sign-in-link/", views.session_and_sign_in),
    path("async-hidden-write/", views.async_hidden_write),
    path("tagged-hidden-write/", views.tagged_hidden_write),
    path("pool-thread-hidden-write/", views.pool_thread_hidden_write),
    path("streaming-hidden-write/", views.streaming_hidden_write),
    path("cached-fragment/", views.cached_fragment),
    path("swallowed-write-then-read/", views.swallowed_write_then_read),
    path("async-streaming-hidden-write/", views.async_streaming_hidden_write),
    # STATIC_URL and MEDIA_URL served by Django itself, as runserver or a small site does.
    path("static/<path:path>", serve, {"document_root": FILES / "static"}),
    path("media/<path:path>", serve, {"document_root": FILES / "media"}),
]
