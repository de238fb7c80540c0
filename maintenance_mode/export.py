"""The maintenance page as static files, for a reverse proxy or a CDN to serve
while Django itself is down (``manage.py maintenance render DIR`` and
``MAINTENANCE_MODE_RENDER_DIR``).

The files hold what the middleware would answer with maintenance on and the
same settings: the page is rendered by :mod:`maintenance_mode.page`, byte for
byte, and the JSON file is its JSON body.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import global_settings, settings
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from maintenance_mode import page
from maintenance_mode.conf import conf
from maintenance_mode.snapshot import FULL, Snapshot

logger = logging.getLogger("maintenance_mode")

HTML_NAME = "maintenance.html"
JSON_NAME = "maintenance.json"
# Readable by the web server's own user, whatever the umask or mkstemp's 0600 says.
FILE_MODE = 0o644

# What a language code may look like in a file name: "fr", "pt-br", "zh-hans", "sr-latn".
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")


class ExportError(Exception):
    """The files could not be written; the message says why, for the operator."""


@dataclasses.dataclass(frozen=True)
class Export:
    directory: Path
    files: tuple[str, ...]
    # Addresses on other hosts that the page loads (an image, an icon stylesheet):
    # a visitor's browser fetches them, so they must stay up while the site is down.
    external: tuple[str, ...]


def language_file_name(language: str) -> str:
    return f"maintenance.{language}.html"


def default_languages() -> tuple[str, ...]:
    """``LANGUAGE_CODE`` plus every language of ``LANGUAGES`` when the project chose them.

    Django's own ``LANGUAGES`` (about a hundred languages) is nobody's choice,
    so a project that did not set it gets only its ``LANGUAGE_CODE`` file.
    """
    if not settings.USE_I18N:
        return ()
    codes = [settings.LANGUAGE_CODE]
    if list(settings.LANGUAGES) != list(global_settings.LANGUAGES):
        codes += [code for code, _name in settings.LANGUAGES]
    return tuple(dict.fromkeys(normalize_language(code) for code in codes))


def normalize_language(code: str) -> str:
    """``pt_BR`` and ``pt-BR`` are ``pt-br``; ``ValueError`` for what is no language code."""
    normalized = code.strip().lower().replace("_", "-")
    if not _LANGUAGE_CODE.match(normalized):
        raise ValueError(_("“%(code)s” is not a language code such as fr or pt-br.") % {"code": code})
    if not translation.check_for_language(normalized):
        raise ValueError(_("Django has no translation for “%(code)s”.") % {"code": code})
    return normalized


def as_shown(snapshot: Snapshot, now: float) -> tuple[Snapshot, float]:
    """The state as visitors would see it with maintenance on, and the moment it shows.

    Maintenance is on whatever the row says, and in full mode: while Django is
    down nobody can browse, so a read-only wording would promise what the
    proxy cannot keep. A window that already ended is forgotten (a new "on"
    would not keep it); a window that starts later is rendered as it will look
    when it starts.
    """
    ended = snapshot.has_ended(now)
    starts_at, ends_at = (None, None) if ended else (snapshot.starts_at, snapshot.ends_at)
    if conf.FORCE is not None:  # the forced page ignores the schedule, as the middleware does
        starts_at = ends_at = None
    shown = dataclasses.replace(snapshot, enabled=True, mode=FULL, starts_at=starts_at, ends_at=ends_at)
    return shown, max(now, starts_at or now)


def render(directory: str | os.PathLike[str], snapshot: Snapshot, languages: Sequence[str] | None = None) -> Export:
    """Write ``maintenance.html``, ``maintenance.json`` and one page per language.

    Everything is rendered before anything is written, and each file is
    replaced atomically, so a proxy never serves half a file or a mix of two
    renderings' halves of one file. ``ExportError`` when the directory is
    missing or cannot be written.
    """
    if not os.fspath(directory).strip():  # Path("") is the current directory: an unset variable, not a choice
        raise ExportError(_("No directory given (an empty path); name the directory the web server reads."))
    folder = Path(directory)
    if not folder.is_dir():
        raise ExportError(_("%(directory)s is not a directory; create it first.") % {"directory": folder})
    try:
        codes = default_languages() if languages is None else tuple(normalize_language(code) for code in languages)
    except ValueError as error:
        raise ExportError(str(error)) from None
    shown, moment = as_shown(snapshot, time.time())
    contents: dict[str, bytes] = {}
    # A theme rendered with the project's context processors sees an anonymous visitor's GET /.
    visitor = visitor_request() if page.renders_with_request() else None
    # The site's own time zone, not the one a view activated for the administrator saving.
    with timezone.override(timezone.get_default_timezone()):
        with translation.override(settings.LANGUAGE_CODE):
            contents[HTML_NAME] = page.page_bytes(shown, request=visitor)
            body = page.json_body(shown, moment)
            contents[JSON_NAME] = json.dumps(body).encode()
        for code in codes:
            with translation.override(code):
                contents[language_file_name(code)] = page.page_bytes(shown, request=visitor)
    for name, data in contents.items():
        try:
            write_atomic(folder / name, data)
        except OSError as error:
            raise ExportError(
                _("Cannot write %(path)s: %(reason)s") % {"path": folder / name, "reason": error.strerror or error}
            ) from error
    _sync_directory(folder)
    return Export(folder, tuple(contents), external_references(contents[HTML_NAME].decode(settings.DEFAULT_CHARSET)))


def visitor_request() -> HttpRequest:
    """An anonymous visitor's ``GET /`` on the site's host (``BASE_URL``, else the
    first plain ``ALLOWED_HOSTS`` entry): what the page's context processors see."""
    from django.contrib.auth.models import AnonymousUser  # the middleware requires django.contrib.auth

    base = urlsplit(conf.BASE_URL)
    plain_hosts = [host for host in settings.ALLOWED_HOSTS if host != "*" and not host.startswith(".")]
    host = base.netloc or (plain_hosts[0] if plain_hosts else "localhost")
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = "/"
    request.META = {
        "REQUEST_METHOD": "GET",
        "HTTP_HOST": host,
        "SERVER_NAME": host.partition(":")[0],
        "SERVER_PORT": "443" if base.scheme == "https" else "80",
    }
    request.user = AnonymousUser()
    return request


class _RerenderFailures:
    """Whether the last re-render failed: a broken directory is logged once, not at every change."""

    failing = False


def rerender_on_change(snapshot: Snapshot, **kwargs: object) -> None:
    """``maintenance_changed`` receiver: keep ``MAINTENANCE_MODE_RENDER_DIR`` current.

    It runs after the change was committed, so it never fails the change: an
    error is logged (once, until a re-render succeeds again) and swallowed.
    """
    directory = conf.RENDER_DIR
    if directory is None:
        return
    try:
        render(directory, snapshot)
    except Exception as error:  # a template error, a full disk: the change itself is saved
        if not _RerenderFailures.failing:
            logger.error(
                "maintenance_mode: the change is saved, but the exported page in %s could not be re-rendered "
                "(%s); the proxy serves the previous files. Not logged again until a re-render succeeds.",
                directory,
                error,
                exc_info=not isinstance(error, ExportError),
            )
        _RerenderFailures.failing = True
        return
    if _RerenderFailures.failing:
        logger.warning("maintenance_mode: the exported page in %s is re-rendered again.", directory)
    _RerenderFailures.failing = False


def write_atomic(path: Path, data: bytes) -> None:
    """Write a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fchmod(file.fileno(), FILE_MODE)
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _sync_directory(folder: Path) -> None:
    """Make the renames survive a crash; some filesystems cannot sync a directory, which costs only that."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        with suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _ResourceParser(HTMLParser):
    """Collects the addresses a browser fetches while it renders the page (not the links it may follow)."""

    LOADING = {
        "img": ("src", "srcset"),
        "source": ("src", "srcset"),
        "script": ("src",),
        "link": ("href",),
        "iframe": ("src",),
        "video": ("src", "poster"),
        "audio": ("src",),
        "embed": ("src",),
        "object": ("data",),
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = self.LOADING.get(tag, ())
        for name, value in attrs:
            if value is None:
                continue
            if name == "srcset" and name in names:
                self.urls += [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]
            elif name in names:
                self.urls.append(value)
            elif name == "style":
                self.urls += _css_urls(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += _css_urls(data)


_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)


def _css_urls(css: str) -> list[str]:
    return [first or second for first, second in _CSS_URL.findall(css)]


def external_references(html: str) -> tuple[str, ...]:
    """The addresses on another host that the page makes a browser load."""
    parser = _ResourceParser()
    parser.feed(html)
    parser.close()
    return tuple(dict.fromkeys(url for url in parser.urls if _is_external(url)))


def _is_external(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme not in ("", "data")


def summary(export: Export) -> str:
    return _("Wrote %(files)s to %(directory)s.") % {"files": ", ".join(export.files), "directory": export.directory}


def warnings(export: Export) -> list[str]:
    """What the operator should know: the page depends on other hosts."""
    return [
        _("The page loads %(url)s from another host: it must stay reachable while this site is down.") % {"url": url}
        for url in export.external
    ]
