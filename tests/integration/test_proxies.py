"""The exported page behind real proxies: Debian's nginx and Caddy, running the
configurations of docs/when-django-is-down.md in front of gunicorn.

Django up: its answers pass through (the live site, its own 404). Gunicorn
stopped: 503 with the exported page, in the visitor's language, and the JSON
file for the API. The flag file: 503 with the page even while gunicorn runs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.proxies import Caddy, Nginx, Proxy, Response, get
from tests.integration.servers import PROPAGATION_BOUND, Server, Site

pytestmark = pytest.mark.integration

MESSAGE = "We are moving the shop to a new server; back in a few minutes."


@dataclass
class Stack:
    site: Site
    server: Server
    render_dir: Path
    static_dir: Path

    def gunicorn_stopped(self) -> _Stopped:
        return _Stopped(self)


class _Stopped:
    """Gunicorn stopped for the block, started again after it (whatever happens)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def __enter__(self) -> None:
        self.stack.server.stop()

    def __exit__(self, *exc: object) -> None:
        self.stack.server.start(self.stack.site)
        self.stack.server.wait_ready()


@pytest.fixture(scope="module")
def world_readable_dir() -> Iterator[Path]:
    """The proxies' workers run as nobody when the tests run as root: everything
    they read must be reachable by any user, as on a real server."""
    path = Path(tempfile.mkdtemp(prefix="maintenance-proxies-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(world_readable_dir: Path, server_logs: Path) -> Iterator[Stack]:
    site = Site("proxies", sqlite_path=world_readable_dir / "shop.sqlite3")
    site.manage("migrate", "--noinput", "--verbosity", "0")
    # The message is set, maintenance is off, and the page is exported for the deploy.
    site.manage("maintenance", "on", "--message", MESSAGE, "--image-url", "/static/logo.svg")
    site.manage("maintenance", "off")
    render_dir = world_readable_dir / "maintenance"
    render_dir.mkdir(mode=0o755)
    site.manage("maintenance", "render", str(render_dir))
    static_dir = world_readable_dir / "static"
    static_dir.mkdir(mode=0o755)
    (static_dir / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (static_dir / "logo.svg").chmod(0o644)
    server = Server("gunicorn-proxies", "gunicorn", 1, server_logs)
    server.start(site)
    try:
        server.wait_ready()
        yield Stack(site, server, render_dir, static_dir)
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["nginx", "caddy"])
def proxy(request: pytest.FixtureRequest, stack: Stack, world_readable_dir: Path) -> Iterator[Proxy]:
    home = world_readable_dir / request.param
    home.mkdir(mode=0o755)
    kind = Nginx if request.param == "nginx" else Caddy
    running = kind(
        request.param,
        home,
        upstream_port=stack.server.port,
        render_dir=stack.render_dir,
        static_dir=stack.static_dir,
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


def wait_for_live_site(proxy: Proxy) -> None:
    deadline = time.monotonic() + PROPAGATION_BOUND + 3
    while get(proxy.port, "/").status != 200:
        assert time.monotonic() < deadline, "the live site did not come back after maintenance off"
        time.sleep(0.1)


def assert_exported_page(response: Response, expected: Path, proxy: Proxy) -> None:
    assert response.status == 503, f"{response.status} {response.body[:300]!r}\n{proxy.log_text()}"
    assert response.body == expected.read_bytes()
    assert response.headers["Retry-After"] == "300"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"].startswith("text/html")


def test_proxy_passes_the_live_site_through_while_maintenance_is_off(stack: Stack, proxy: Proxy) -> None:
    response = get(proxy.port, "/")
    assert response.status == 200, proxy.log_text()
    assert MESSAGE.encode() not in response.body


def test_proxy_passes_djangos_own_errors_through(stack: Stack, proxy: Proxy) -> None:
    response = get(proxy.port, "/no-such-page/")
    assert response.status == 404
    assert MESSAGE.encode() not in response.body


def test_proxy_passes_djangos_own_maintenance_answer_through(stack: Stack, proxy: Proxy) -> None:
    stack.site.manage("maintenance", "on", "--for", "2h")
    try:
        response = get(proxy.port, "/")
        deadline = time.monotonic() + PROPAGATION_BOUND + 3  # the worker sees the change within its TTL
        while response.status == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
            response = get(proxy.port, "/")
    finally:
        stack.site.manage("maintenance", "off")
        wait_for_live_site(proxy)
    assert response.status == 503
    assert MESSAGE.encode() in response.body
    assert response.headers["Retry-After"] != "300"  # Django's own, from the end time: about 7200
    assert int(response.headers["Retry-After"]) > 7000


def test_gunicorn_stopped_gets_the_exported_page_as_a_503(stack: Stack, proxy: Proxy) -> None:
    with stack.gunicorn_stopped():
        page = get(proxy.port, "/orders/42/")
        french = get(proxy.port, "/", {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
        german = get(proxy.port, "/", {"Accept-Language": "de"})
        unknown = get(proxy.port, "/", {"Accept-Language": "ja, fr;q=0.5"})
        api = get(proxy.port, "/api/products/", {"Accept": "application/json"})
        logo = get(proxy.port, "/static/logo.svg")
    assert_exported_page(page, stack.render_dir / "maintenance.html", proxy)
    assert MESSAGE.encode() in page.body
    assert_exported_page(french, stack.render_dir / "maintenance.fr.html", proxy)
    assert b'<html lang="fr"' in french.body
    assert_exported_page(german, stack.render_dir / "maintenance.de.html", proxy)
    assert_exported_page(unknown, stack.render_dir / "maintenance.html", proxy)  # no Japanese page: the default
    assert api.status == 503
    assert api.headers["Content-Type"].startswith("application/json")
    assert json.loads(api.body) == json.loads((stack.render_dir / "maintenance.json").read_bytes())
    assert json.loads(api.body)["message"] == MESSAGE
    assert logo.status == 200  # the page's image, served while Django is down


def test_flag_file_answers_503_with_the_page_while_gunicorn_runs(stack: Stack, proxy: Proxy) -> None:
    flag = stack.render_dir / "maintenance.on"
    flag.touch()
    try:
        page = get(proxy.port, "/")
        api = get(proxy.port, "/api/products/")
    finally:
        flag.unlink()
    assert_exported_page(page, stack.render_dir / "maintenance.html", proxy)
    assert api.status == 503
    assert json.loads(api.body)["maintenance"] is True
    assert get(proxy.port, "/").status == 200  # the flag removed: the live site again


def test_the_exported_files_are_not_served_at_their_own_address(stack: Stack, proxy: Proxy) -> None:
    for path in ("/maintenance.html", "/maintenance.json", "/maintenance.on"):
        response = get(proxy.port, path)
        assert response.status == 404, path
        assert MESSAGE.encode() not in response.body
