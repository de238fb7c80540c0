"""Real reverse proxies (Debian's nginx and Caddy) running the configurations that
docs/when-django-is-down.md documents, with only their ports and paths replaced.

Each proxy runs in the foreground in its own session, with its own prefix, pid,
log and temporary paths in a directory of the test's, and is stopped with its
whole process group.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.integration import services
from tests.integration.servers import REPO

DOC = REPO / "docs" / "when-django-is-down.md"

# The documented placeholders, each replaced by the test's own value.
DOC_UPSTREAM = "127.0.0.1:8000"
DOC_RENDER_DIR = "/var/www/maintenance"
DOC_STATIC_DIR = "/srv/shop/static"


def documented_block(name: str) -> str:
    """The fenced code block that follows ``<!-- tested: name -->`` in the doc."""
    text = DOC.read_text()
    marker = f"<!-- tested: {name} -->\n"
    assert text.count(marker) == 1, f"{DOC} must mark exactly one block with {marker!r}"
    after = text.split(marker, 1)[1]
    assert after.startswith("```"), f"the {name} marker must sit right above its code block"
    return after.split("\n", 1)[1].split("\n```\n", 1)[0] + "\n"


def replace_each(text: str, replacements: Mapping[str, str]) -> str:
    """Replace documented values, failing if the doc no longer holds one (the test would drift from it)."""
    for old, new in replacements.items():
        assert old in text, f"the documented configuration no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def executable(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        services.unavailable(f"{name} is not installed (apt-get install {name})")
    return found


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def get(port: int, path: str, headers: Mapping[str, str] | None = None) -> Response:
    connection = http.client.HTTPConnection(services.HOST, port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "localhost", **(headers or {})})
        answer = connection.getresponse()
        return Response(answer.status, answer.headers, answer.read())
    finally:
        connection.close()


@dataclass
class Proxy:
    """One proxy process serving ``config`` on ``port``."""

    name: str
    home: Path
    port: int = field(default_factory=services.free_port)
    _process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.home / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> None:
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            self.command(),
            cwd=self.home,
            env=self.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._process.returncode}\n{self.log_text()}")
            with suppress(OSError), socket.create_connection((services.HOST, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on {self.port} within 15 s\n{self.log_text()}")

    def stop(self) -> None:
        process = self._process
        if process is not None:
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            with suppress(ProcessLookupError):  # workers left behind by a master that died first
                os.killpg(process.pid, signal.SIGKILL)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        texts = [path.read_text(errors="replace") for path in sorted(self.home.glob("*.log"))]
        return f"--- {self.name} logs in {self.home} ---\n" + "\n".join(texts)


@dataclass
class Nginx(Proxy):
    """nginx with the documented server block inside a minimal main configuration of its own."""

    upstream_port: int = 0
    render_dir: Path = Path()
    static_dir: Path = Path()

    def config(self) -> str:
        server = replace_each(
            documented_block("nginx"),
            {
                f"server {DOC_UPSTREAM};": f"server {services.HOST}:{self.upstream_port};",
                "listen 80;": f"listen {services.HOST}:{self.port};",
                DOC_RENDER_DIR: str(self.render_dir),
                DOC_STATIC_DIR: str(self.static_dir),
            },
        )
        home = self.home
        return f"""
pid {home}/nginx.pid;
error_log {home}/error.log notice;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log {home}/access.log;
    client_body_temp_path {home}/client_body;
    proxy_temp_path {home}/proxy;
    fastcgi_temp_path {home}/fastcgi;
    uwsgi_temp_path {home}/uwsgi;
    scgi_temp_path {home}/scgi;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
{server}
}}
"""

    def command(self) -> list[str]:
        path = self.home / "nginx.conf"
        path.write_text(self.config())
        nginx = executable("nginx")
        check = subprocess.run([nginx, "-t", "-p", str(self.home), "-c", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, f"nginx -t refused the documented configuration:\n{check.stderr}"
        return [nginx, "-p", str(self.home), "-c", str(path), "-g", "daemon off;"]


@dataclass
class Caddy(Proxy):
    """Caddy with the documented site block, behind global options that keep it to itself."""

    upstream_port: int = 0
    render_dir: Path = Path()
    static_dir: Path = Path()

    def config(self) -> str:
        site = replace_each(
            documented_block("caddy"),
            {
                ":80 {": f":{self.port} {{\n\tbind {services.HOST}",
                f"reverse_proxy {DOC_UPSTREAM}": f"reverse_proxy {services.HOST}:{self.upstream_port}",
                DOC_RENDER_DIR: str(self.render_dir),
                DOC_STATIC_DIR: str(self.static_dir),
            },
        )
        # No admin endpoint (a fixed port two runs would share), no HTTPS; HOME and XDG_* keep its files in home.
        return "{\n\tadmin off\n\tauto_https off\n}\n\n" + site

    def env(self) -> dict[str, str]:
        home = str(self.home)
        return {**os.environ, "HOME": home, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home}

    def command(self) -> list[str]:
        path = self.home / "Caddyfile"
        path.write_text(self.config())
        caddy = executable("caddy")
        check = subprocess.run(
            [caddy, "validate", "--config", str(path), "--adapter", "caddyfile"],
            capture_output=True,
            text=True,
            env=self.env(),
        )
        assert check.returncode == 0, f"caddy validate refused the documented configuration:\n{check.stderr}"
        return [caddy, "run", "--config", str(path), "--adapter", "caddyfile"]
