"""The README's installation steps, applied to a fresh ``django-admin startproject``
site served by ``runserver``, checked over real HTTP. The app is the built wheel,
installed with pip into a clean virtual environment, as a user gets it."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dist import built_dist
from tests.headers import cache_directives

pytestmark = pytest.mark.integration

README_SETTINGS = """
# Added as README.md "Installation" says:
INSTALLED_APPS += ["maintenance_mode"]
MIDDLEWARE += ["maintenance_mode.middleware.MaintenanceModeMiddleware"]
"""
MAKE_SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.create_user("customer", password="customer-pass")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


@dataclass
class Site:
    root: Path
    url: str
    python: Path

    def manage(self, *args: str, stdin: str | None = None) -> str:
        env = {**clean_environ(), "DJANGO_SUPERUSER_PASSWORD": "admin-pass"}
        result = subprocess.run(
            [self.python, "manage.py", *args],
            cwd=self.root,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    def __init__(self) -> None:
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect())

    def request(
        self,
        url: str,
        data: dict[str, str] | None = None,
        method: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(request, timeout=10) as response:
                return Answer(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read().decode())

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environ() -> dict[str, str]:
    """The environment without what points at this checkout or its settings."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }


def venv_with_the_wheel(workdir: Path) -> Path:
    """A new virtual environment with nothing but ``pip install <the built wheel>``
    (Django and django-ipware come from the index). Returns its Python."""
    wheel = built_dist(workdir).wheel
    venv_dir = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True, timeout=120, env=clean_environ())
    python = venv_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=600, env=clean_environ()
    )
    return python


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("startproject")
    python = venv_with_the_wheel(workdir)
    root = workdir / "project"
    root.mkdir()
    subprocess.run(
        [python.parent / "django-admin", "startproject", "mysite", str(root)],
        check=True,
        timeout=60,
        env=clean_environ(),
    )
    with (root / "mysite" / "settings.py").open("a") as settings:
        settings.write(README_SETTINGS)
    port = _free_port()
    site = Site(root, f"http://127.0.0.1:{port}", python)
    site.manage("migrate", "--noinput")
    site.manage("createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com")
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=root,
        env=clean_environ(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(site.url + "/"):
            assert time.monotonic() < deadline, "runserver did not start"
            time.sleep(0.1)
        yield site
    finally:
        server.terminate()
        server.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return Browser().request(url).status == 200
    except urllib.error.URLError:  # not listening yet
        return False


def wait_for_status(url: str, status: int, timeout: float = 5.0) -> Answer:
    deadline = time.monotonic() + timeout
    while (answer := Browser().request(url)).status != status:
        assert time.monotonic() < deadline, f"{url} stayed {answer.status}, expected {status}"
        time.sleep(0.05)
    return answer


def admin_login(site: Site) -> Browser:
    browser = Browser()
    login = browser.request(site.url + "/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.body)
    assert token
    answer = browser.request(
        site.url + "/admin/login/?next=/admin/",
        {"csrfmiddlewaretoken": token.group(1), "username": "admin", "password": "admin-pass", "next": "/admin/"},
        headers={"Referer": site.url + "/admin/login/"},
    )
    assert answer.status == 302
    return browser


def test_the_site_runs_the_installed_wheel_not_this_checkout(site: Site) -> None:
    where = site.manage("shell", "-c", "import maintenance_mode; print(maintenance_mode.__file__)").splitlines()[-1]
    assert Path(where).is_relative_to(site.python.parent.parent / "lib")
    assert "site-packages" in Path(where).parts


def test_readme_install_on_a_startproject_site_works_over_http(site: Site) -> None:
    assert "Maintenance mode: off" in site.manage("maintenance", "status")
    session_key = site.manage("shell", stdin=MAKE_SESSION).strip().splitlines()[-1]
    admin = admin_login(site)

    # On from the command line.
    site.manage("maintenance", "on", "--message", "Back at noon.", "--secret", "readme-secret-123", "--for", "10m")
    page = wait_for_status(site.url + "/", 503)
    assert "Back at noon." in page.body
    assert "no-store" in cache_directives(page.headers)
    assert 0 < int(page.headers["Retry-After"]) <= 600
    api = Browser().request(site.url + "/anything", headers={"Accept": "application/json"})
    assert api.status == 503
    assert api.headers["Content-Type"] == "application/json"
    head = Browser().request(site.url + "/", method="HEAD")
    assert head.status == 503
    assert head.body == ""

    # A logged-in customer is logged out: the session is gone from the store.
    customer = Browser().request(site.url + "/", headers={"Cookie": f"sessionid={session_key}"})
    assert customer.status == 503
    still_there = (
        "from django.contrib.sessions.models import Session; "
        f"print(Session.objects.filter(session_key='{session_key}').exists())"
    )
    assert site.manage("shell", "-c", still_there).strip().splitlines()[-1] == "False"

    # The administrator still sees the site, with the indicator.
    home = admin.request(site.url + "/")
    assert home.status == 200
    assert "maintenance-mode-indicator" in home.body

    # A forged X-Forwarded-For grants nothing; the secret link does.
    assert Browser().request(site.url + "/", headers={"X-Forwarded-For": "127.0.0.1"}).status == 503
    tester = Browser()
    link = tester.request(site.url + "/readme-secret-123")
    assert link.status == 302
    assert tester.cookie("maintenance_bypass")
    assert tester.request(site.url + "/").status == 200

    # Off from the admin, over HTTP.
    change = admin.request(site.url + "/admin/maintenance_mode/maintenancesettings/")
    assert change.status == 302
    form_url = site.url + change.headers["Location"]
    form = admin.request(form_url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
    assert token
    saved = admin.request(
        form_url,
        # What the form posts: a browser always submits the checked mode radio button.
        {
            "csrfmiddlewaretoken": token.group(1),
            "mode": "full",
            "message": "Back at noon.",
            "bypass_secret": "readme-secret-123",
        },
        headers={"Referer": form_url},
    )
    assert saved.status == 302, re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', saved.body, re.S)
    wait_for_status(site.url + "/", 200)
    assert "Maintenance mode: off" in site.manage("maintenance", "status")
    history = admin.request(site.url + "/admin/maintenance_mode/maintenanceevent/")
    assert "command" in history.body
    assert ">admin<" in history.body


def wait_for_notice(url: str, present: bool, timeout: float = 5.0) -> Answer:
    deadline = time.monotonic() + timeout
    while ("maintenance-mode-read-only" in (answer := Browser().request(url)).body) is not present:
        assert time.monotonic() < deadline, f"{url}: the read-only notice {'never came' if present else 'stayed'}"
        time.sleep(0.05)
    return answer


def test_read_only_on_a_startproject_site_over_http(site: Site) -> None:
    session_key = site.manage("shell", stdin=MAKE_SESSION.replace('"customer"', '"reader"')).strip().splitlines()[-1]
    admin = admin_login(site)
    try:
        site.manage("maintenance", "on", "--read-only", "--for", "30m")
        # Readable for everyone, with the notice; the customer stays logged in.
        home = wait_for_notice(site.url + "/", present=True)
        assert home.status == 200
        customer = Browser().request(site.url + "/", headers={"Cookie": f"sessionid={session_key}"})
        assert customer.status == 200
        still_there = (
            "from django.contrib.sessions.models import Session; "
            f"print(Session.objects.filter(session_key='{session_key}').exists())"
        )
        assert site.manage("shell", "-c", still_there).strip().splitlines()[-1] == "True"

        # Customers' writes get the read-only page, or JSON.
        refused = Browser().request(
            site.url + "/", {"comment": "hello"}, headers={"Cookie": f"sessionid={session_key}"}
        )
        assert refused.status == 503
        assert "Your change was not saved" in refused.body
        assert 1700 < int(refused.headers["Retry-After"]) <= 1800
        api = Browser().request(site.url + "/api/orders", {}, headers={"Accept": "application/json"})
        assert api.status == 503
        assert '"read_only": true' in api.body

        # The administrator keeps writing: the settings form saves.
        form_url = site.url + "/admin/maintenance_mode/maintenancesettings/1/change/"
        form = admin.request(form_url)
        assert "Read-only maintenance is ON" in form.body
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
        assert token
        ends = re.search(r'name="ends_at_0" value="([^"]+)".*?name="ends_at_1" value="([^"]+)"', form.body, re.S)
        assert ends
        saved = admin.request(
            form_url,
            {
                "csrfmiddlewaretoken": token.group(1),
                "enabled": "on",
                "mode": "read-only",
                "message": "Moving to a new database.",
                "ends_at_0": ends.group(1),
                "ends_at_1": ends.group(2),
            },
            headers={"Referer": form_url},
        )
        assert saved.status == 302
        assert "Moving to a new database." in site.manage("maintenance", "status")

        # --full closes the site; off opens it.
        site.manage("maintenance", "on", "--full")
        wait_for_status(site.url + "/", 503)
        site.manage("maintenance", "off")
        wait_for_status(site.url + "/", 200)
        wait_for_notice(site.url + "/", present=False)
    finally:
        site.manage("maintenance", "on", "--full")  # the other test expects the default mode
        site.manage("maintenance", "off")
