"""``manage.py maintenance render DIR``: the page as files for a proxy to serve while Django is down."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import global_settings, settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from maintenance_mode import export
from maintenance_mode.models import MaintenanceSettings
from maintenance_mode.snapshot import Snapshot

pytestmark = pytest.mark.django_db

LANGUAGES = ("en", "fr", "de", "es", "pt")  # tests/settings.py


def render(directory: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("maintenance", "render", str(directory), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def configure(**fields: object) -> MaintenanceSettings:
    row = MaintenanceSettings.load()
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def names(directory: Path) -> set[str]:
    return {path.name for path in directory.iterdir()}


@pytest.fixture
def umask_077() -> Iterator[None]:
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_render_writes_the_page_the_json_and_one_page_per_project_language(tmp_path: Path) -> None:
    output, warnings = render(tmp_path)
    assert names(tmp_path) == {"maintenance.html", "maintenance.json"} | {
        f"maintenance.{code}.html" for code in LANGUAGES
    }
    assert f"to {tmp_path}" in output
    assert warnings == ""


def test_exported_page_is_the_live_page_byte_for_byte(tmp_path: Path, client: Client) -> None:
    configure(
        message="Upgrading the database",
        image_url="/static/logo.svg",
        button_text="Status",
        bypass_url="https://status.example.com",
        ends_at=timezone.now() + timedelta(hours=2),
    )
    render(tmp_path)
    configure(enabled=True)
    live = client.get("/")
    assert live.status_code == 503
    assert (tmp_path / "maintenance.html").read_bytes() == live.content
    french = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert (tmp_path / "maintenance.fr.html").read_bytes() == french.content
    assert "Upgrading the database" in french.content.decode()


def test_exported_json_is_the_live_json_body(tmp_path: Path, client: Client, settings: Settings) -> None:
    settings.MAINTENANCE_MODE_RETRY_AFTER = 600
    configure(enabled=True, message="Back at noon")
    render(tmp_path)
    live = client.get("/", HTTP_ACCEPT="application/json")
    assert live.status_code == 503
    assert json.loads((tmp_path / "maintenance.json").read_bytes()) == live.json()
    assert live.json()["message"] == "Back at noon"


def test_render_while_maintenance_is_off_writes_the_page_visitors_will_see(tmp_path: Path, client: Client) -> None:
    configure(enabled=False, message="Deploying version 2")
    render(tmp_path)
    assert client.get("/").status_code == 200  # rendering switched nothing on
    body = json.loads((tmp_path / "maintenance.json").read_bytes())
    assert body["maintenance"] is True
    assert body["message"] == "Deploying version 2"
    configure(enabled=True)
    assert (tmp_path / "maintenance.html").read_bytes() == client.get("/").content


def test_a_scheduled_window_is_rendered_as_it_looks_once_it_starts(tmp_path: Path) -> None:
    start = timezone.now() + timedelta(hours=1)
    configure(enabled=True, starts_at=start, ends_at=start + timedelta(minutes=30))
    render(tmp_path)
    body = json.loads((tmp_path / "maintenance.json").read_bytes())
    assert body["maintenance"] is True
    assert body["retry_after"] == 30 * 60
    assert "data-mm-end" in (tmp_path / "maintenance.html").read_text()


def test_a_window_that_already_ended_is_not_shown_as_the_expected_end(tmp_path: Path) -> None:
    configure(enabled=True, starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1))
    render(tmp_path)
    body = json.loads((tmp_path / "maintenance.json").read_bytes())
    assert body["maintenance"] is True
    assert body["ends_at"] is None
    assert body["starts_at"] is None
    assert "data-mm-end" not in (tmp_path / "maintenance.html").read_text()


def test_a_read_only_window_is_exported_as_the_full_page_since_nobody_can_browse_a_site_that_is_down(
    tmp_path: Path, client: Client
) -> None:
    configure(enabled=True, mode="read-only")
    render(tmp_path)
    body = json.loads((tmp_path / "maintenance.json").read_bytes())
    assert body["read_only"] is False
    assert "read-only" not in body["message"]
    configure(mode="full")
    assert (tmp_path / "maintenance.html").read_bytes() == client.get("/").content


def test_a_forced_page_ignores_the_schedule_like_the_middleware(tmp_path: Path, settings: Settings) -> None:
    settings.MAINTENANCE_MODE_FORCE = True
    configure(enabled=False, ends_at=timezone.now() + timedelta(hours=1))
    render(tmp_path)
    assert json.loads((tmp_path / "maintenance.json").read_bytes())["ends_at"] is None


def test_the_exported_page_carries_its_css_inline_and_loads_nothing_from_other_hosts(tmp_path: Path) -> None:
    render(tmp_path)
    html = (tmp_path / "maintenance.html").read_text()
    assert "<style>" in html
    assert "<link" not in html
    assert export.external_references(html) == ()


def test_an_image_given_as_a_site_path_stays_a_site_path(tmp_path: Path) -> None:
    configure(image_url="/static/logo.svg")
    _output, warnings = render(tmp_path)
    assert '<img src="/static/logo.svg"' in (tmp_path / "maintenance.html").read_text()
    assert warnings == ""


def test_an_image_or_icon_stylesheet_on_another_host_is_reported(tmp_path: Path, settings: Settings) -> None:
    settings.MAINTENANCE_MODE_ICON_STYLESHEET = "https://cdn.example.com/fa.css"
    configure(image_url="https://img.example.com/logo.png", icon="fas fa-tools")
    _output, warnings = render(tmp_path)
    assert "https://img.example.com/logo.png" in warnings
    assert "https://cdn.example.com/fa.css" in warnings
    assert "must stay reachable" in warnings


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<img srcset="//a.example/1.png 1x, /local.png 2x">', ("//a.example/1.png",)),
        ("<div style=\"background: url('https://b.example/bg.png')\"></div>", ("https://b.example/bg.png",)),
        (
            "<style>@import 'https://c.example/x.css'; p { background: url(/ok.png) }</style>",
            ("https://c.example/x.css",),
        ),
        ('<img src="data:image/png;base64,AAAA"><script src="/static/a.js"></script>', ()),
        ('<a href="https://status.example.com">status</a><img alt="no source">', ()),  # a link is not loaded
    ],
)
def test_external_references_are_what_a_browser_fetches_from_other_hosts(html: str, expected: tuple[str, ...]) -> None:
    assert export.external_references(html) == expected


def test_language_option_replaces_the_default_languages(tmp_path: Path) -> None:
    render(tmp_path, "--language", "fr", "--language", "DE")
    assert names(tmp_path) == {"maintenance.html", "maintenance.json", "maintenance.fr.html", "maintenance.de.html"}
    assert '<html lang="de"' in (tmp_path / "maintenance.de.html").read_text()
    assert '<html lang="en"' in (tmp_path / "maintenance.html").read_text()


def test_region_codes_are_written_the_way_django_spells_them(tmp_path: Path) -> None:
    render(tmp_path, "--language", "pt_BR")
    assert (tmp_path / "maintenance.pt-br.html").exists()


@pytest.mark.parametrize(("code", "error"), [("../x", "not a language code"), ("qq", "no translation")])
def test_a_bad_language_is_refused_and_nothing_is_written(tmp_path: Path, code: str, error: str) -> None:
    with pytest.raises(CommandError, match=error):
        render(tmp_path, "--language", code)
    assert names(tmp_path) == set()


def test_without_project_languages_only_language_code_gets_its_own_file(tmp_path: Path, settings: Settings) -> None:
    settings.LANGUAGES = global_settings.LANGUAGES  # Django's list of a hundred languages is nobody's choice
    settings.LANGUAGE_CODE = "fr"
    render(tmp_path)
    assert names(tmp_path) == {"maintenance.html", "maintenance.json", "maintenance.fr.html"}
    assert '<html lang="fr"' in (tmp_path / "maintenance.html").read_text()


def test_without_i18n_no_language_files_are_written(tmp_path: Path, settings: Settings) -> None:
    settings.USE_I18N = False
    render(tmp_path)
    assert names(tmp_path) == {"maintenance.html", "maintenance.json"}


def test_files_are_readable_by_the_web_server_whatever_the_umask(tmp_path: Path, umask_077: None) -> None:
    render(tmp_path)
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_render_replaces_the_previous_files_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "maintenance.html").write_text("old")
    (tmp_path / "maintenance.html").chmod(0o600)
    before = (tmp_path / "maintenance.html").stat().st_ino
    configure(message="Fresh")
    render(tmp_path)
    page = tmp_path / "maintenance.html"
    assert "Fresh" in page.read_text()
    assert page.stat().st_ino != before  # a new file renamed over the old one, not rewritten in place
    assert stat.S_IMODE(page.stat().st_mode) == 0o644
    assert not [name for name in names(tmp_path) if name.startswith(".")]


def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not a directory; create it first"):
        render(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_directory_argument_is_a_clear_error_not_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty: str
) -> None:
    monkeypatch.chdir(tmp_path)  # "maintenance render $UNSET_VARIABLE" must not write where the shell stands
    with pytest.raises(CommandError, match="No directory given"):
        call_command("maintenance", "render", empty)
    with pytest.raises(export.ExportError, match="No directory given"):
        export.render(empty, Snapshot())
    assert names(tmp_path) == set()


def test_a_file_given_as_the_directory_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(CommandError, match="is not a directory"):
        render(tmp_path / "file")


def test_a_directory_nobody_may_write_is_a_clear_error() -> None:
    # /sys refuses new files even to root (the tests and CI run as root, where chmod stops nobody).
    refused = r"Cannot write /sys/maintenance\.html: (Permission denied|Read-only file system)$"
    with pytest.raises(CommandError, match=refused):
        render(Path("/sys"))


def test_a_failed_rename_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "maintenance.json").mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(CommandError, match=r"Cannot write .*maintenance\.json"):
        render(tmp_path)
    assert not [name for name in names(tmp_path) if name.startswith(".")]


def test_render_reads_the_row_not_a_stale_snapshot_of_this_process(tmp_path: Path) -> None:
    configure(message="First")
    MaintenanceSettings.objects.update(message="Changed behind the app's back")
    render(tmp_path)
    assert "Changed behind the app" in (tmp_path / "maintenance.html").read_text()


def test_export_api_returns_what_it_wrote(tmp_path: Path) -> None:
    written = export.render(tmp_path, Snapshot(message="Hi"), ["fr"])
    assert written.files == ("maintenance.html", "maintenance.json", "maintenance.fr.html")
    assert written.external == ()
    assert export.summary(written) == f"Wrote maintenance.html, maintenance.json, maintenance.fr.html to {tmp_path}."
    assert export.warnings(written) == []


def test_a_theme_on_the_projects_base_template_is_exported_as_an_anonymous_visitor_sees_it(
    tmp_path: Path, client: Client
) -> None:
    from django.contrib.sites.models import Site

    from tests.test_theming_context import project_theme

    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"name": "Bean & Brew", "domain": "bean.example"})
    configure(enabled=True, message="Fresh beans at noon.")
    with project_theme():
        render(tmp_path)
        live = client.get("/")
    assert live.status_code == 503
    exported = (tmp_path / "maintenance.html").read_bytes()
    assert exported == live.content
    assert "<footer>Bean &amp; Brew · bean.example</footer>" in exported.decode()  # the project's context processor


@pytest.mark.parametrize(
    ("base_url", "allowed_hosts", "host", "port"),
    [
        ("https://shop.example", ["*"], "shop.example", "443"),
        ("", [".example.com", "www.example.com"], "www.example.com", "80"),
        ("", ["*"], "localhost", "80"),
    ],
)
def test_the_visitor_a_theme_is_rendered_for_is_anonymous_on_the_sites_host(
    settings: Settings, base_url: str, allowed_hosts: list[str], host: str, port: str
) -> None:
    settings.MAINTENANCE_MODE_BASE_URL = base_url
    settings.ALLOWED_HOSTS = allowed_hosts
    request = export.visitor_request()
    assert request.get_host() == host
    assert request.get_port() == port
    assert request.path == "/"
    assert not request.user.is_authenticated
