"""A fresh ``wagtail start`` site (Wagtail 8) with nothing but INSTALLED_APPS and
MIDDLEWARE changed, as the README says, served by ``runserver`` and checked over
real HTTP: editors keep working during maintenance, visitors get the page.

The same site is then served a second time with ``maintenance_mode.contrib.wagtail``
also in INSTALLED_APPS, and an editor switches maintenance off from the Wagtail admin.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_startproject import README_SETTINGS, Browser, Site, _answers, _free_port, wait_for_status

pytestmark = pytest.mark.integration

# This checkout, in the test environment that has Wagtail (a test dependency only);
# test_startproject.py checks the built wheel in a clean environment.
PYTHON = Path(sys.executable)

MAKE_USERS = """
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

# "Editors" is the group `wagtail start` creates, with wagtailadmin.access_admin.
editor = User.objects.create_user("editor", "editor@example.com", "editor-pass")
editor.groups.add(Group.objects.get(name="Editors"))
maintainers = Group.objects.create(name="Maintainers")
maintainers.permissions.add(Permission.objects.get(codename="access_admin"))
maintainers.permissions.add(Permission.objects.get(codename="change_maintenancesettings"))
User.objects.create_user("maintainer", "maintainer@example.com", "maintainer-pass").groups.add(maintainers)
customer = User.objects.create_user("customer", "customer@example.com", "customer-pass")
session = SessionStore()
session[SESSION_KEY] = str(customer.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = customer.get_session_auth_hash()
session.create()
print(session.session_key)
"""
WITH_CONTRIB = """
from .dev import *  # noqa

INSTALLED_APPS += ["maintenance_mode.contrib.wagtail"]
"""


def _serve(root: Path, port: int, settings_module: str) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not _answers(f"http://127.0.0.1:{port}/"):
        assert server.poll() is None, "runserver exited"
        assert time.monotonic() < deadline, "runserver did not start"
        time.sleep(0.2)
    return server


@pytest.fixture(scope="module")
def wagtail_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Site, str]]:
    """The plain site, the same site with contrib.wagtail, and the customer's session key."""
    root = tmp_path_factory.mktemp("wagtailstart")
    subprocess.run([PYTHON.parent / "wagtail", "start", "mysite", str(root)], check=True, timeout=60)
    with (root / "mysite" / "settings" / "base.py").open("a") as settings:
        settings.write(README_SETTINGS)
    (root / "mysite" / "settings" / "with_contrib.py").write_text(WITH_CONTRIB)
    plain_port, contrib_port = _free_port(), _free_port()
    plain = Site(root, f"http://127.0.0.1:{plain_port}", PYTHON)
    plain.manage("migrate", "--noinput")
    session_key = plain.manage("shell", stdin=MAKE_USERS).strip().splitlines()[-1]
    servers = [_serve(root, plain_port, "mysite.settings.dev")]
    try:
        servers.append(_serve(root, contrib_port, "mysite.settings.with_contrib"))
        yield plain, Site(root, f"http://127.0.0.1:{contrib_port}", PYTHON), session_key
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def csrf_token(body: str) -> str:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert token, "no CSRF token in the form"
    return token.group(1)


def wagtail_login(site: Site, username: str, password: str) -> Browser:
    """Log in through the Wagtail admin's own login form."""
    browser = Browser()
    form = browser.request(site.url + "/admin/login/")
    assert form.status == 200, form.status
    answer = browser.request(
        site.url + "/admin/login/",
        {"csrfmiddlewaretoken": csrf_token(form.body), "username": username, "password": password, "next": "/admin/"},
    )
    assert answer.status == 302, answer.body[:500]
    return browser


def test_wagtail_start_site_keeps_its_editors_working_during_maintenance(wagtail_site: tuple[Site, Site, str]) -> None:
    site, _, customer_session = wagtail_site
    assert "Welcome to your new Wagtail site" in Browser().request(site.url + "/").body
    site.manage("maintenance", "on", "--message", "Moving to a new server.")

    # Visitors get the page.
    page = wait_for_status(site.url + "/", 503)
    assert "Moving to a new server." in page.body
    assert "Welcome to your new Wagtail site" not in page.body

    # The Wagtail admin sends visitors to its login, which works, as do password resets.
    home = Browser().request(site.url + "/admin/")
    assert home.status == 302
    assert home.headers["Location"].startswith("/admin/login/")
    resetter = Browser()
    reset_form = resetter.request(site.url + "/admin/password_reset/")
    assert reset_form.status == 200
    reset = resetter.request(
        site.url + "/admin/password_reset/",
        {"csrfmiddlewaretoken": csrf_token(reset_form.body), "email": "editor@example.com"},
    )
    assert reset.status == 302
    assert resetter.request(site.url + reset.headers["Location"]).status == 200

    # An editor (the "Editors" group: wagtailadmin.access_admin, not staff) logs in and works.
    editor = wagtail_login(site, "editor", "editor-pass")
    dashboard = editor.request(site.url + "/admin/")
    assert dashboard.status == 200
    assert "maintenance-mode-indicator" in dashboard.body
    live = editor.request(site.url + "/")
    assert live.status == 200
    assert "Welcome to your new Wagtail site" in live.body
    assert "maintenance-mode-indicator" in live.body
    assert editor.request(site.url + "/admin/pages/").status == 200  # still logged in

    # A logged-in user who is no editor is logged out.
    customer = Browser().request(site.url + "/", headers={"Cookie": f"sessionid={customer_session}"})
    assert customer.status == 503
    still_there = (
        "from django.contrib.sessions.models import Session; "
        f"print(Session.objects.filter(session_key='{customer_session}').exists())"
    )
    assert site.manage("shell", "-c", still_there).strip().splitlines()[-1] == "False"

    # The Django admin stays reachable too, and the editor logs out through Wagtail.
    assert Browser().request(site.url + "/django-admin/login/").status == 200
    token = editor.cookie("csrftoken")
    assert token
    assert editor.request(site.url + "/admin/logout/", {"csrfmiddlewaretoken": token}).status == 302
    assert editor.request(site.url + "/").status == 503
    site.manage("maintenance", "off")


def test_wagtail_editor_switches_maintenance_from_the_wagtail_admin(wagtail_site: tuple[Site, Site, str]) -> None:
    _, site, _ = wagtail_site
    site.manage("maintenance", "on", "--message", "Back at noon.")
    wait_for_status(site.url + "/", 503)

    editor = wagtail_login(site, "editor", "editor-pass")
    assert editor.request(site.url + "/admin/maintenance/").status == 302  # no change permission
    assert '"name": "maintenance-mode"' not in editor.request(site.url + "/admin/").body  # no menu entry

    maintainer = wagtail_login(site, "maintainer", "maintainer-pass")
    live = maintainer.request(site.url + "/")
    assert live.status == 200
    assert 'href="/admin/maintenance/"' in live.body  # the badge points to the Wagtail admin
    assert '"name": "maintenance-mode"' in maintainer.request(site.url + "/admin/").body  # the settings menu entry
    form = maintainer.request(site.url + "/admin/maintenance/")
    assert form.status == 200
    assert "Maintenance mode is ON" in form.body
    saved = maintainer.request(
        site.url + "/admin/maintenance/",
        {"csrfmiddlewaretoken": csrf_token(form.body), "mode": "full", "message": "Back at noon."},
    )
    assert saved.status == 302
    wait_for_status(site.url + "/", 200)
    assert "Maintenance mode: off" in site.manage("maintenance", "status")
    history = maintainer.request(site.url + "/admin/maintenance/").body
    assert "maintainer" in history[history.index('id="maintenance-history"') :]
