"""The middleware through the test client: who sees what during maintenance."""

from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.contrib.sessions.models import Session
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django.utils.cache import has_vary_header
from django.utils.http import parse_http_date

from maintenance_mode import middleware, state
from maintenance_mode.middleware import MaintenanceModeMiddleware, Verdict, decide
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.rules import rules
from maintenance_mode.snapshot import Snapshot
from tests import views
from tests.headers import cache_directives, vary_fields

pytestmark = pytest.mark.django_db


def test_site_is_served_when_maintenance_is_off(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"Live site" in response.content


def test_anonymous_visitor_gets_503_page_with_no_store(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.get("/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "no-store" in cache_directives(response)
    assert has_vary_header(response, "Accept")  # the same URL also answers JSON
    expires = parse_http_date(response["Expires"])
    assert time.time() - 2 <= expires <= time.time()  # already expired
    assert "Retry-After" not in response  # the end is not known
    assert b"We are performing scheduled maintenance" in response.content


def test_page_shows_configured_message_image_and_button(client: Client, maintenance: MaintenanceSettings) -> None:
    maintenance.message = "Back at <b>noon</b>\nThanks!"
    maintenance.image_url = "https://cdn.example.com/logo.png"
    maintenance.bypass_url = "https://status.example.com"
    maintenance.button_text = "Status page"
    maintenance.save()
    content = client.get("/").content.decode()
    assert "Back at &lt;b&gt;noon&lt;/b&gt;<br>Thanks!" in content  # escaped, line breaks kept
    assert 'src="https://cdn.example.com/logo.png"' in content
    assert 'href="https://status.example.com"' in content
    assert "Status page" in content


def test_page_without_button_url_has_no_button(client: Client, maintenance: MaintenanceSettings) -> None:
    assert b"mm-button" not in client.get("/").content.split(b"</style>")[1]


def test_page_shows_icon_classes_when_no_image(client: Client, maintenance: MaintenanceSettings) -> None:
    maintenance.icon = "fas fa-tools"
    maintenance.save()
    content = client.get("/").content.decode()
    assert '<i class="fas fa-tools" aria-hidden="true"></i>' in content


@override_settings(MAINTENANCE_MODE_ICON_STYLESHEET="/static/fa.css")
def test_icon_stylesheet_is_loaded_only_with_an_icon(client: Client, maintenance: MaintenanceSettings) -> None:
    assert b'href="/static/fa.css"' not in client.get("/").content
    maintenance.icon = "fas fa-tools"
    maintenance.save()
    assert b'href="/static/fa.css"' in client.get("/").content


def test_head_request_gets_status_and_headers_without_body(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.head("/")
    assert response.status_code == 503
    assert "no-store" in cache_directives(response)
    assert response.content == b""  # dropped by the server (here the test client), as for any view
    assert response["Content-Length"] == client.get("/")["Content-Length"]


@override_settings(MAINTENANCE_MODE_RETRY_AFTER=600)
def test_retry_after_setting_is_sent_when_no_end_is_known(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/")["Retry-After"] == "600"


def test_json_client_gets_json_body(client: Client, maintenance: MaintenanceSettings) -> None:
    maintenance.message = "Database upgrade"
    maintenance.save()
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body == {
        "maintenance": True,
        "read_only": False,
        "message": "Database upgrade",
        "starts_at": None,
        "ends_at": None,
        "retry_after": None,
    }


def test_axios_style_accept_header_prefers_json(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.get("/", HTTP_ACCEPT="application/json, text/plain, */*")
    assert response["Content-Type"] == "application/json"


def test_browser_accept_header_gets_html(client: Client, maintenance: MaintenanceSettings) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/", HTTP_ACCEPT=accept)["Content-Type"].startswith("text/html")


def test_curl_default_accept_gets_html(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/", HTTP_ACCEPT="*/*")["Content-Type"].startswith("text/html")


def test_api_path_gets_json_whatever_the_accept_header(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.get("/api/items/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"


# Where a long Accept header is cut: only the media ranges that end within the first
# ACCEPT_PARSED_CHARS characters, and at most ACCEPT_PARSED_RANGES of them, are negotiated.
CHARS = middleware.ACCEPT_PARSED_CHARS
RANGES = middleware.ACCEPT_PARSED_RANGES
HTML_FIRST = "text/html;q=0.1"  # then application/json (q=1) wins, if it is still there


def answer_to(client: Client, accept: str) -> str:
    """What a client sending this Accept header gets during maintenance: "json" or "html"."""
    response = client.get("/", HTTP_ACCEPT=accept)
    assert response.status_code == 503
    return "json" if response["Content-Type"] == "application/json" else "html"


def html_range_of(length: int) -> str:
    """``HTML_FIRST``, padded with a parameter to ``length`` characters."""
    padded = HTML_FIRST + ";pad="
    return padded + "x" * (length - len(padded))


def test_accept_header_of_exactly_the_length_limit_is_negotiated_whole(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    accept = html_range_of(CHARS - len(",application/json")) + ",application/json"
    assert len(accept) == CHARS
    assert answer_to(client, accept) == "json"


def test_a_range_that_ends_at_the_length_limit_is_kept_from_a_longer_header(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    accept = html_range_of(CHARS - len(",application/json")) + ",application/json,image/png"
    assert accept.index("application/json") + len("application/json") == CHARS
    assert answer_to(client, accept) == "json"


def test_a_range_that_ends_one_character_past_the_length_limit_is_dropped(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    accept = html_range_of(CHARS + 1 - len(",application/json")) + ",application/json,image/png"
    assert accept.index("application/json") + len("application/json") == CHARS + 1
    assert answer_to(client, accept) == "html"


def test_accept_header_of_exactly_the_range_limit_is_negotiated_whole(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    ranges = [HTML_FIRST, *["image/png"] * (RANGES - 2), "application/json"]
    assert len(ranges) == RANGES
    assert answer_to(client, ",".join(ranges)) == "json"


def test_a_range_past_the_range_limit_is_dropped_from_a_short_header(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    ranges = [HTML_FIRST, *["image/png"] * (RANGES - 1), "application/json"]
    assert answer_to(client, ",".join(ranges)) == "html"  # the 17th range, though the header is short


def test_a_range_past_the_range_limit_is_dropped_wherever_it_stands_before_the_end(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    ranges = [HTML_FIRST, *["image/png"] * (RANGES - 1), "application/json", "image/gif", "image/webp"]
    assert answer_to(client, ",".join(ranges)) == "html"


def test_json_first_in_a_header_past_the_range_limit_still_gets_json(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    ranges = ["application/json", HTML_FIRST, *[f"image/x-{n}" for n in range(40)]]
    assert answer_to(client, ",".join(ranges)) == "json"


def test_spaces_of_a_cut_header_are_removed_without_changing_its_ranges(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    """Browsers and HTTP libraries write "type; q=0.5, type": the spaces go, the parameters stay."""
    ranges = [HTML_FIRST, "application/json; q=0.9", *[f"image/x-{n}; q=0.2" for n in range(40)]]
    assert answer_to(client, ", ".join(ranges)) == "json"


def test_a_cut_accept_header_is_its_first_whole_ranges_joined_by_commas() -> None:
    ranges = [f"application/x-{n}; q=0.{n % 10}" for n in range(40)]
    expected = ",".join(media_range.replace(" ", "") for media_range in ranges[:RANGES])
    assert middleware._bounded_accept(", ".join(ranges)) == expected


@override_settings(
    INSTALLED_APPS=[app for app in settings.INSTALLED_APPS if not app.startswith(("wagtail", "maintenance_mode.c"))],
    ROOT_URLCONF="tests.urls_without_wagtail",
)
def test_staff_user_sees_live_site_with_indicator(staff_client: Client, maintenance: MaintenanceSettings) -> None:
    response = staff_client.get("/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Live site" in content
    assert 'id="maintenance-mode-indicator"' in content
    assert content.index("maintenance-mode-indicator") < content.index("</body>")
    assert "/admin/maintenance_mode/maintenancesettings/" in content
    assert "private" in cache_directives(response)


def test_staff_user_sees_no_indicator_when_maintenance_is_off(staff_client: Client) -> None:
    assert b"maintenance-mode-indicator" not in staff_client.get("/").content


@override_settings(MAINTENANCE_MODE_SHOW_INDICATOR=False)
def test_indicator_can_be_switched_off(staff_client: Client, maintenance: MaintenanceSettings) -> None:
    response = staff_client.get("/")
    assert response.status_code == 200
    assert b"maintenance-mode-indicator" not in response.content


@pytest.mark.parametrize("path", ["/no-body/", "/api/items/", "/streaming/"])
def test_indicator_leaves_fragments_json_and_streams_alone(
    staff_client: Client, maintenance: MaintenanceSettings, path: str
) -> None:
    response = staff_client.get(path)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    assert b"maintenance-mode-indicator" not in body


def test_indicator_goes_before_the_last_body_end_tag(staff_client: Client, maintenance: MaintenanceSettings) -> None:
    content = staff_client.get("/editor/").content.decode()
    assert '<script>const end = "</body>";</script>' in content  # the script is untouched
    assert content.index("maintenance-mode-indicator") > content.index("<h1>Editor</h1>")


def test_indicator_leaves_text_and_json_that_contain_a_body_tag_alone(
    staff_client: Client, maintenance: MaintenanceSettings
) -> None:
    text = staff_client.get("/template-source.txt")
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert text.content == views.TEMPLATE_SOURCE.encode()
    page_as_json = staff_client.get("/api/rendered-page/")
    assert page_as_json["Content-Type"] == "application/json"
    assert json.loads(page_as_json.content) == {"html": views.TEMPLATE_SOURCE}


def test_indicator_keeps_content_length_right(staff_user: User, maintenance: MaintenanceSettings) -> None:
    client = Client()
    client.force_login(staff_user)
    with override_settings(
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "maintenance_mode.middleware.MaintenanceModeMiddleware",
            "tests.middleware.ContentLengthMiddleware",  # inner: sets the length before ours edits the body
        ]
    ):
        response = client.get("/")
    assert int(response["Content-Length"]) == len(response.content)


def test_logged_in_customer_is_logged_out_and_session_deleted(
    customer_client: Client, maintenance: MaintenanceSettings
) -> None:
    session_key = customer_client.session.session_key
    assert Session.objects.filter(session_key=session_key).exists()
    response = customer_client.get("/")
    assert response.status_code == 503
    assert not Session.objects.filter(session_key=session_key).exists()
    # The next request is anonymous: the cookie no longer names a session.
    assert "_auth_user_id" not in customer_client.session


@override_settings(MAINTENANCE_MODE_LOGOUT_USERS=False)
def test_customer_keeps_session_when_logout_is_disabled(
    customer_client: Client, maintenance: MaintenanceSettings
) -> None:
    session_key = customer_client.session.session_key
    assert customer_client.get("/").status_code == 503
    assert Session.objects.filter(session_key=session_key).exists()


def test_inactive_staff_account_is_not_an_administrator(customer: User, maintenance: MaintenanceSettings) -> None:
    customer.is_staff = True
    customer.save()
    client = Client()
    client.force_login(customer)
    customer.is_active = False
    customer.save()
    assert client.get("/").status_code == 503


ADMIN_CHECKS = ["staff", "superuser", "perm:maintenance_mode.change_maintenancesettings"]


@override_settings(AUTHENTICATION_BACKENDS=["tests.backends.PermissionsIgnoringIsActiveBackend"])
@pytest.mark.parametrize("admin_check", ADMIN_CHECKS)
def test_deactivated_administrator_is_blocked_when_the_auth_backend_keeps_them_logged_in(
    staff_user: User, maintenance: MaintenanceSettings, admin_check: str
) -> None:
    """The admin check itself refuses inactive accounts: here Django's own
    backend no longer turns them into anonymous users first."""
    staff_user.user_permissions.add(Permission.objects.get(codename="change_maintenancesettings"))
    client = Client()
    client.force_login(staff_user)
    with override_settings(MAINTENANCE_MODE_ADMIN_CHECK=admin_check):
        assert client.get("/").status_code == 200  # still an administrator while active
        staff_user.is_active = False
        staff_user.save()
        assert client.get("/account/").status_code == 503


@pytest.mark.parametrize("admin_check", ADMIN_CHECKS)
def test_admin_check_refuses_an_inactive_user_object_whatever_its_rights(admin_check: str) -> None:
    """A custom user model or backend may hand over any object: only ``is_active`` stands between."""
    from types import SimpleNamespace

    from maintenance_mode.rules import admin_predicate

    is_admin = admin_predicate(admin_check)
    rights = {"is_staff": True, "is_superuser": True, "has_perm": lambda permission: True}
    assert is_admin(SimpleNamespace(is_active=True, **rights)) is True
    assert is_admin(SimpleNamespace(is_active=False, **rights)) is False


@override_settings(MAINTENANCE_MODE_ADMIN_CHECK="superuser")
def test_superuser_only_check_blocks_plain_staff(customer: User, maintenance: MaintenanceSettings) -> None:
    customer.is_staff = True
    customer.save()
    client = Client()
    client.force_login(customer)
    assert client.get("/").status_code == 503


@override_settings(MAINTENANCE_MODE_ADMIN_CHECK="superuser")
def test_superuser_only_check_lets_superusers_in(staff_client: Client, maintenance: MaintenanceSettings) -> None:
    assert staff_client.get("/").status_code == 200


@override_settings(MAINTENANCE_MODE_ADMIN_CHECK="perm:maintenance_mode.change_maintenancesettings")
def test_permission_check_blocks_active_users_without_it(
    customer_client: Client, maintenance: MaintenanceSettings
) -> None:
    assert customer_client.get("/").status_code == 503


@override_settings(MAINTENANCE_MODE_ADMIN_CHECK="perm:maintenance_mode.change_maintenancesettings")
def test_permission_check_lets_holders_in(customer: User, maintenance: MaintenanceSettings) -> None:
    customer.user_permissions.add(Permission.objects.get(codename="change_maintenancesettings"))
    client = Client()
    client.force_login(customer)
    assert client.get("/").status_code == 200


@override_settings(MAINTENANCE_MODE_ADMIN_CHECK="tests.predicates.is_named_customer")
def test_dotted_path_check_is_called_with_the_user(customer: User, maintenance: MaintenanceSettings) -> None:
    client = Client()
    client.force_login(customer)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/health", b"ok"),
        ("/api/webhooks/stripe", b"webhook"),
        ("/order/12/edit", b"order 12"),
        ("/static/app.css", b"body { color: #222; }\n"),
        ("/media/upload.txt", b"A customer upload.\n"),
    ],
)
def test_exempt_paths_reach_their_views(
    client: Client, maintenance: MaintenanceSettings, path: str, content: bytes
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
    assert body == content


@pytest.mark.parametrize("path", ["/healthz", "/api/webhooks", "/order/12/view", "/HEALTH", "/x/health"])
def test_paths_resembling_exempt_ones_are_blocked(client: Client, maintenance: MaintenanceSettings, path: str) -> None:
    assert client.get(path).status_code == 503


def test_unknown_path_gets_maintenance_page_not_404(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/no/such/page").status_code == 503


def test_admin_login_stays_reachable(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/admin/login/").status_code == 200


@override_settings(ROOT_URLCONF="tests.urls_admin_at_root")
def test_admin_mounted_at_the_root_exempts_only_the_admin(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/login/").status_code == 200  # the admin's login
    assert client.get("/shop/").status_code == 503
    # The admin's catch-all view handles unknown paths: it sends visitors to its login.
    response = client.get("/no/such/page/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/no/such/page/"


@override_settings(ROOT_URLCONF="tests.urls_second_admin")
def test_a_second_admin_site_is_exempt_too(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/staff-tools/login/").status_code == 200


@override_settings(MAINTENANCE_MODE_EXEMPT_ADMIN=False)
def test_admin_can_be_closed_too(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/admin/login/").status_code == 503


@override_settings(ROOT_URLCONF="tests.urls_without_admin")
def test_site_without_admin_has_no_admin_exemption(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/admin/login/").status_code == 503
    assert client.get("/").status_code == 503


@override_settings(ROOT_URLCONF="tests.urls_without_admin")
def test_indicator_without_admin_has_no_settings_link(staff_client: Client, maintenance: MaintenanceSettings) -> None:
    content = staff_client.get("/").content.decode()
    assert "Maintenance mode is on" in content
    assert "/admin/" not in content


def test_page_is_rendered_once_per_state_unless_debug(client: Client, maintenance: MaintenanceSettings) -> None:
    from django.template.loader import render_to_string

    with mock.patch("maintenance_mode.page.render_to_string", wraps=render_to_string) as render:
        client.get("/")
        client.get("/")
        assert render.call_count == 1
        with override_settings(DEBUG=True):  # template edits show up at once while developing
            client.get("/")
            client.get("/")
        assert render.call_count == 3


@override_settings(STATIC_URL="https://cdn.example.com/static/", MEDIA_URL="media/")
def test_cdn_static_url_opens_nothing_and_relative_media_url_is_prefixed(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    assert client.get("/static/app.css").status_code == 503
    media = client.get("/media/upload.txt")
    assert media.status_code == 200
    assert b"".join(media.streaming_content) == b"A customer upload.\n"  # type: ignore[attr-defined]


@override_settings(MEDIA_URL="")
def test_empty_media_url_opens_nothing(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/media/upload.txt").status_code == 503


@override_settings(STATIC_URL="//cdn.example.com/static/")
def test_protocol_relative_cdn_static_url_opens_nothing(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/static/app.css").status_code == 503  # the files are on the CDN's host, not ours


@override_settings(STATIC_URL="/static")
def test_static_url_without_its_trailing_slash_opens_only_its_directory(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    static = client.get("/static/app.css")
    assert static.status_code == 200
    assert b"".join(static.streaming_content) == b"body { color: #222; }\n"  # type: ignore[attr-defined]
    assert client.get("/static-orders/").status_code == 503  # starts with "/static", but is another page


@override_settings(STATIC_URL=None, MEDIA_URL=None)
def test_unset_static_and_media_urls_open_no_path() -> None:
    assert rules().open_prefixes == ()


@pytest.mark.parametrize("mount", ["/shop", "/shop/", "/INBOX"])
def test_absolute_static_url_under_force_script_name_is_exempt_however_the_mount_is_written(
    client: Client, maintenance: MaintenanceSettings, mount: str
) -> None:
    with override_settings(FORCE_SCRIPT_NAME=mount, STATIC_URL=mount.rstrip("/") + "/static/"):
        static = client.get("/static/app.css")
        assert static.status_code == 200  # path_info: below the mount
        assert b"".join(static.streaming_content) == b"body { color: #222; }\n"  # type: ignore[attr-defined]
        assert client.get("/orders/").status_code == 503


@override_settings(MAINTENANCE_MODE_EXEMPT_PATHS=[], MAINTENANCE_MODE_JSON_PATHS=[])
def test_empty_exempt_and_json_path_lists_match_no_path(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.get("/health")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/exempt-view/", "/exempt-class/", "/maintenance/status/"])
def test_exempt_views_stay_reachable(customer_client: Client, maintenance: MaintenanceSettings, path: str) -> None:
    assert customer_client.get(path).status_code == 200


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["10.0.0.1", "192.168.0.0/16", "2001:db8::/32"])
@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.0.0.1", True),
        ("10.0.0.12", False),  # a prefix of the string, not of the network
        ("10.0.0.10", False),
        ("192.168.44.5", True),
        ("2001:db8::7", True),
        ("2001:db9::7", False),
    ],
)
def test_allowed_ips_from_settings(
    client: Client, maintenance: MaintenanceSettings, address: str, allowed: bool
) -> None:
    response = client.get("/", REMOTE_ADDR=address)
    assert (response.status_code == 200) is allowed


def test_allowed_ips_from_the_admin(client: Client, maintenance: MaintenanceSettings) -> None:
    maintenance.allowed_ips = "203.0.113.0/24"
    maintenance.save()
    assert client.get("/", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.get("/", REMOTE_ADDR="203.0.114.9").status_code == 503


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["10.0.0.1"])
def test_forged_forwarded_for_grants_no_bypass(client: Client, maintenance: MaintenanceSettings) -> None:
    response = client.get("/", REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert response.status_code == 503


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"])
def test_dual_stack_ipv4_mapped_address_matches_its_ipv4_network(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    assert client.get("/", REMOTE_ADDR="::ffff:203.0.113.7").status_code == 200


@override_settings(
    MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"],
    IPWARE_ALGORITHM="legacy",
    IPWARE_META_PRECEDENCE_ORDER=("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
    IPWARE_META_PROXY_COUNT=1,
)
def test_project_ipware_settings_cannot_make_forwarded_for_count(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    response = client.get("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert response.status_code == 503


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"])
@pytest.mark.parametrize(
    "project_settings",
    [
        {"IPWARE_META_PROXY_COUNT": 1},
        {"IPWARE_META_PRECEDENCE_ORDER": ("HTTP_X_FORWARDED_FOR",)},
        {"IPWARE_ALGORITHM": "legacy", "IPWARE_META_PRECEDENCE_ORDER": ("HTTP_X_FORWARDED_FOR",)},
    ],
    ids=["proxy-count", "precedence", "legacy"],
)
def test_project_ipware_settings_cannot_refuse_an_allowed_remote_addr(
    client: Client, maintenance: MaintenanceSettings, project_settings: dict[str, Any]
) -> None:
    with override_settings(**project_settings):
        assert client.get("/", REMOTE_ADDR="203.0.113.7").status_code == 200


# Behind nginx ($proxy_add_x_forwarded_for), AWS ALB or Heroku, each proxy appends
# the address it received the request from; its own address is REMOTE_ADDR.
PROXY = "10.0.0.2"


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7", "10.0.0.0/8"], MAINTENANCE_MODE_PROXY_COUNT=1)
@pytest.mark.parametrize(
    ("forwarded", "allowed"),
    [
        ("203.0.113.7", True),  # the office, through nginx
        ("192.168.1.5, 203.0.113.7", True),  # the office has a proxy of its own
        ("203.0.113.7, 198.51.100.9", False),  # an attacker sent "203.0.113.7"; nginx appended the truth
        ("10.0.0.9, 198.51.100.9", False),  # forging an internal address does not help either
        ("<script>, 198.51.100.9", False),
        ("", False),  # no header at all: only the proxy's own address, never the client's
    ],
)
def test_proxy_count_takes_the_address_the_proxy_appended(
    client: Client, maintenance: MaintenanceSettings, forwarded: str, allowed: bool
) -> None:
    response = client.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert (response.status_code == 200) is allowed


@override_settings(
    MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"], MAINTENANCE_MODE_PROXY_COUNT=1, IPWARE_META_PROXY_COUNT=2
)
def test_project_ipware_proxy_count_cannot_override_ours(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"], MAINTENANCE_MODE_PROXY_COUNT=2)
def test_proxy_count_of_two_skips_both_proxies(client: Client, maintenance: MaintenanceSettings) -> None:
    honest = client.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7, 172.16.0.5")
    assert honest.status_code == 200
    forged = client.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.9, 172.16.0.5")
    assert forged.status_code == 503


@override_settings(
    MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7", "10.0.0.0/8"],
    MAINTENANCE_MODE_TRUSTED_PROXIES=["10.0.0.0/24", "172.16.0.5"],
    MAINTENANCE_MODE_PROXY_HEADER="HTTP_X_REAL_CHAIN",
)
@pytest.mark.parametrize(
    ("remote", "forwarded", "allowed"),
    [
        (PROXY, "203.0.113.7", True),
        (PROXY, "203.0.113.7, 172.16.0.5", True),  # two trusted hops
        (PROXY, "203.0.113.7, 198.51.100.9", False),  # forged entry left of the real client
        ("198.51.100.9", "203.0.113.7", False),  # straight to Django: the header is ignored
        (PROXY, "", False),  # only proxies: no client
        (PROXY, "172.16.0.5", False),
        (PROXY, "203.0.113.7, garbage", False),
    ],
)
def test_trusted_proxies_walk_the_chain_from_the_right(
    client: Client, maintenance: MaintenanceSettings, remote: str, forwarded: str, allowed: bool
) -> None:
    response = client.get("/", REMOTE_ADDR=remote, HTTP_X_REAL_CHAIN=forwarded)
    assert (response.status_code == 200) is allowed


# A proxy on a dual-stack socket writes IPv4 clients as ::ffff:a.b.c.d, and is seen that way itself.
@override_settings(
    MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"],
    MAINTENANCE_MODE_TRUSTED_PROXIES=["10.0.0.0/24", "172.16.0.5"],
)
@pytest.mark.parametrize(
    ("remote", "forwarded", "allowed"),
    [
        (PROXY, "::ffff:203.0.113.7", True),  # the office, written by a dual-stack proxy
        ("::ffff:10.0.0.2", "203.0.113.7", True),  # the proxy itself reached Django over IPv6
        (PROXY, "203.0.113.7, ::ffff:172.16.0.5", True),
        (PROXY, "::ffff:198.51.100.9", False),
        ("::ffff:198.51.100.9", "203.0.113.7", False),  # not a proxy, whatever its notation
    ],
)
def test_trusted_proxies_read_ipv4_mapped_entries_as_ipv4(
    client: Client, maintenance: MaintenanceSettings, remote: str, forwarded: str, allowed: bool
) -> None:
    response = client.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert (response.status_code == 200) is allowed


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"], MAINTENANCE_MODE_PROXY_COUNT=1)
@pytest.mark.parametrize(
    ("remote", "forwarded", "allowed"),
    [
        (PROXY, "::ffff:203.0.113.7", True),
        ("::ffff:10.0.0.2", "::ffff:203.0.113.7", True),
        (PROXY, "203.0.113.7, ::ffff:198.51.100.9", False),
    ],
)
def test_proxy_count_reads_ipv4_mapped_entries_as_ipv4(
    client: Client, maintenance: MaintenanceSettings, remote: str, forwarded: str, allowed: bool
) -> None:
    response = client.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert (response.status_code == 200) is allowed


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["10.0.0.1"])
def test_missing_remote_addr_is_not_allowed(maintenance: MaintenanceSettings) -> None:
    request = RequestFactory().get("/")
    del request.META["REMOTE_ADDR"]
    request.user = _anonymous()
    assert decide(request, state.current(), 0) is Verdict.BLOCK


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["10.0.0.1"])
@pytest.mark.parametrize(
    "proxies", [{"MAINTENANCE_MODE_TRUSTED_PROXIES": ["10.0.0.0/24"]}, {"MAINTENANCE_MODE_PROXY_COUNT": 1}]
)
def test_missing_remote_addr_behind_declared_proxies_is_not_allowed(
    maintenance: MaintenanceSettings, proxies: dict[str, Any]
) -> None:
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="10.0.0.1")
    del request.META["REMOTE_ADDR"]
    request.user = _anonymous()
    with override_settings(**proxies):
        assert decide(request, state.current(), 0) is Verdict.BLOCK


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"], MAINTENANCE_MODE_TRUSTED_PROXIES=["10.0.0.0/24"])
def test_request_without_the_proxy_header_is_taken_at_its_remote_addr(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    """Django reached directly, not through the proxies: no X-Forwarded-For at all."""
    assert client.get("/", REMOTE_ADDR="203.0.113.7").status_code == 200
    assert client.get("/", REMOTE_ADDR="198.51.100.9").status_code == 503


def test_a_per_request_urlconf_decides_which_views_are_exempt(maintenance: MaintenanceSettings) -> None:
    request = RequestFactory().get("/login/")
    request.urlconf = "tests.urls_admin_at_root"  # as a per-host middleware (django-hosts) sets it
    request.user = _anonymous()
    assert decide(request, state.current(), 0) is Verdict.SERVE_EXEMPT_VIEW  # that urlconf's admin login


@override_settings(ROOT_URLCONF="tests.urls_i18n")
def test_a_path_is_resolved_in_the_language_of_its_request(maintenance: MaintenanceSettings) -> None:
    """The same path can be an exempt view in one language and nothing in another
    (translated patterns, language prefixes): one answer must not be reused for the other."""
    from django.utils import translation

    def verdict(language: str) -> Verdict:
        request = RequestFactory().get("/exempt-view/")
        request.LANGUAGE_CODE = language  # set by LocaleMiddleware, with the active language
        request.user = _anonymous()
        with translation.override(language):
            return decide(request, state.current(), 0)

    assert verdict("en") is Verdict.SERVE_EXEMPT_VIEW
    assert verdict("fr") is Verdict.BLOCK  # French pages are under /fr/


def test_request_without_auth_middleware_is_treated_as_anonymous(maintenance: MaintenanceSettings) -> None:
    request = RequestFactory().get("/")
    assert decide(request, state.current(), 0) is Verdict.BLOCK


def _anonymous() -> AnonymousUser:
    return AnonymousUser()


@pytest.mark.django_db(transaction=True)  # async code reaches the database from another thread
class TestAsyncPath:
    """The same middleware class in an async chain (ASGI): same verdicts."""

    async def test_async_view_is_served_when_off(self, async_client: AsyncClient) -> None:
        response = await async_client.get("/async/")
        assert response.status_code == 200

    async def test_anonymous_async_request_gets_the_page(self, async_client: AsyncClient) -> None:
        await _enable()
        response = await async_client.get("/async/")
        assert response.status_code == 503
        assert "no-store" in cache_directives(response)

    async def test_staff_async_request_sees_site_and_indicator(self, staff_user: User) -> None:
        await _enable()
        client = AsyncClient()
        await client.aforce_login(staff_user)
        response = await client.get("/async/")
        assert response.status_code == 200
        assert b"maintenance-mode-indicator" in response.content

    async def test_customer_async_request_is_logged_out(self, customer: User) -> None:
        await _enable()
        client = AsyncClient()
        await client.aforce_login(customer)
        session_key = client.cookies["sessionid"].value
        response = await client.get("/async/")
        assert response.status_code == 503
        assert not await Session.objects.filter(session_key=session_key).aexists()

    async def test_exempt_path_is_served_in_async_chain(self, async_client: AsyncClient) -> None:
        await _enable()
        assert (await async_client.get("/health")).status_code == 200

    async def test_refresh_never_runs_in_the_event_loop_thread(self, async_client: AsyncClient) -> None:
        import threading

        loop_thread = threading.current_thread()
        refreshed_in: list[threading.Thread] = []
        original = state.Store._load

        def recording_load(store: state.Store) -> Snapshot | None:
            refreshed_in.append(threading.current_thread())
            return original(store)

        with mock.patch.object(state.Store, "_load", recording_load):
            await async_client.get("/async/")
        assert refreshed_in
        assert loop_thread not in refreshed_in

    async def test_fresh_snapshot_needs_no_thread_hop(self, async_client: AsyncClient) -> None:
        from asgiref.sync import sync_to_async

        with override_settings(MAINTENANCE_MODE_STATE_TTL=60):
            await _enable()
            hops: list[str] = []

            def recording(func: Any, *args: Any, **kwargs: Any) -> Any:
                hops.append(func.__name__)
                return sync_to_async(func, *args, **kwargs)

            with mock.patch("maintenance_mode.middleware.sync_to_async", recording):
                response = await async_client.get("/async/", headers={"Accept": "application/json"})
            assert response.status_code == 503
            assert hops == []  # the snapshot in hand decided, in the event loop (JSON needs no rendering)


async def _enable() -> None:
    from asgiref.sync import sync_to_async

    def enable() -> None:
        row = MaintenanceSettings.load()
        row.enabled = True
        row.save()

    await sync_to_async(enable)()


def test_middleware_marks_itself_async_in_an_async_chain() -> None:
    from asgiref.sync import iscoroutinefunction

    async def get_response(request: object) -> object:
        return None

    assert iscoroutinefunction(MaintenanceModeMiddleware(get_response))  # type: ignore[arg-type]
    assert not iscoroutinefunction(MaintenanceModeMiddleware(lambda request: None))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path",
    ["/static/../order/1/edit", "/static/./x", "/api/webhooks/../../secret", "/admin/../", "/health/.."],
)
def test_dot_segments_never_borrow_an_exemption(client: Client, maintenance: MaintenanceSettings, path: str) -> None:
    assert client.get(path).status_code == 503


def test_dotted_names_are_not_dot_segments(client: Client, maintenance: MaintenanceSettings) -> None:
    with override_settings(MAINTENANCE_MODE_EXEMPT_PATHS=["/.well-known/*"]):
        assert client.get("/.well-known/acme-challenge/token").status_code == 404  # reached the URLconf


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["10.0.0.0/8"])
@pytest.mark.parametrize("remote_addr", ["garbage", "", "10.0.0.1.5", "::ffff:zz", "10.0.0.1\x00"])
def test_garbage_remote_addr_is_refused_not_a_500(
    client: Client, maintenance: MaintenanceSettings, remote_addr: str
) -> None:
    assert client.get("/", REMOTE_ADDR=remote_addr).status_code == 503


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["10.0.0.0/8"], MAINTENANCE_MODE_PROXY_COUNT=1)
@pytest.mark.parametrize("forwarded", ["<script>", "10.0.0.1, , ,", "1" * 5000, "10.0.0.1;rm -rf /", "unknown"])
def test_garbage_forwarded_for_is_refused_not_a_500(
    client: Client, maintenance: MaintenanceSettings, forwarded: str
) -> None:
    assert client.get("/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR=forwarded).status_code == 503


@pytest.mark.parametrize("cookie", ["", "x" * 4000, "1:abc:def", "\xe2\x82\xac", "1:1:1:1:1"])
def test_odd_bypass_cookies_are_ignored(client: Client, maintenance: MaintenanceSettings, cookie: str) -> None:
    maintenance.bypass_secret = "letmein-7Qx2-preview"
    maintenance.save()
    client.cookies["maintenance_bypass"] = cookie
    assert client.get("/").status_code == 503


@pytest.mark.parametrize("path", ["/%E2%82%AC", "/a%00b", "//", "/" + "a" * 3000, "/%ZZ", "/;x=1"])
def test_odd_paths_get_the_page(client: Client, maintenance: MaintenanceSettings, path: str) -> None:
    assert client.get(path).status_code == 503


def test_visitor_without_session_cookie_is_blocked_without_loading_a_session(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    response = client.get("/")
    assert response.status_code == 503
    assert "cookie" not in vary_fields(response)  # the session was never touched


def test_lazy_user_set_by_another_middleware_counts_once_evaluated(maintenance: MaintenanceSettings) -> None:
    from django.utils.functional import SimpleLazyObject

    request = RequestFactory().get("/")
    staff = User(username="boss", is_staff=True, is_active=True)
    request.user = SimpleLazyObject(lambda: staff)  # type: ignore[assignment]
    assert decide(request, state.current(), 0) is Verdict.BLOCK  # no session cookie: anonymous
    assert request.user.is_staff  # evaluated, e.g. by a header-authenticating middleware
    assert decide(request, state.current(), 0) is Verdict.SERVE_WITH_NOTICE


def test_blocked_visitors_do_not_reach_the_error_log_or_email_admins(
    client: Client, maintenance: MaintenanceSettings, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from django.core import mail

    settings.ADMINS = [("Ops", "ops@example.com")]
    with caplog.at_level(logging.ERROR, "django.request"):
        for _ in range(3):
            assert client.get("/").status_code == 503
    assert mail.outbox == []
    assert "Service Unavailable" not in caplog.text


@override_settings(MAINTENANCE_MODE_ALLOWED_IPS=["203.0.113.7"], MAINTENANCE_MODE_PROXY_COUNT=1)
@pytest.mark.parametrize(
    "forged",
    [
        '203.0.113.7, 203.0.113.7, "x',  # an unclosed quote must not swallow what nginx appended
        '"203.0.113.7',
        "for=203.0.113.7",
        "203.0.113.7\\",
        '203.0.113.7, "198.51.100.1, 203.0.113.7"',
    ],
)
def test_quotes_and_syntax_in_the_forged_part_change_nothing(
    client: Client, maintenance: MaintenanceSettings, forged: str
) -> None:
    attacker = "198.51.100.9"  # what nginx appends: the address it received the request from
    response = client.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{forged}, {attacker}")
    assert response.status_code == 503
