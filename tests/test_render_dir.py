"""``MAINTENANCE_MODE_RENDER_DIR``: every committed change re-renders the exported page there."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from maintenance_mode import export, signals, state
from maintenance_mode.models import MaintenanceSettings

# Changes are re-rendered after the real commit, which only a transactional test sees.
pytestmark = pytest.mark.django_db(transaction=True)

CHANGE = "/admin/maintenance_mode/maintenancesettings/1/change/"


@pytest.fixture
def render_dir(tmp_path: Path, settings: Settings) -> Iterator[Path]:
    settings.MAINTENANCE_MODE_RENDER_DIR = str(tmp_path)
    yield tmp_path
    export._RerenderFailures.failing = False


def exported_message(directory: Path) -> str:
    return str(json.loads((directory / "maintenance.json").read_bytes())["message"])


def admin_form(**overrides: str) -> dict[str, str]:
    data = dict.fromkeys(
        ("message", "image_url", "icon", "button_text", "bypass_url", "allowed_ips", "bypass_secret"), ""
    )
    data.update({"mode": "full", "starts_at_0": "", "starts_at_1": "", "ends_at_0": "", "ends_at_1": ""})
    data.update(overrides)
    return data


def test_an_admin_save_re_renders_the_page(render_dir: Path, staff_client: Client) -> None:
    response = staff_client.post(CHANGE, admin_form(enabled="on", message="Saved in the admin"))
    assert response.status_code == 302
    assert exported_message(render_dir) == "Saved in the admin"
    assert "Saved in the admin" in (render_dir / "maintenance.fr.html").read_text()


def test_the_command_re_renders_the_page(render_dir: Path) -> None:
    call_command("maintenance", "on", "--message", "From the command", stdout=StringIO())
    assert exported_message(render_dir) == "From the command"
    call_command("maintenance", "off", stdout=StringIO())
    assert exported_message(render_dir) == "From the command"  # still the page a proxy shows when Django is down


def test_a_python_api_save_re_renders_the_page_after_commit(render_dir: Path) -> None:
    row = MaintenanceSettings.load()  # creating the row is a change too: rendered
    row.message = "Saved from Python"
    with transaction.atomic():
        row.save()
        assert exported_message(render_dir) != "Saved from Python"  # not before the commit
    assert exported_message(render_dir) == "Saved from Python"


def test_a_rolled_back_save_renders_nothing(render_dir: Path) -> None:
    row = MaintenanceSettings.load()
    row.message = "Never committed"

    def save_then_fail() -> None:
        with transaction.atomic():
            row.save()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        save_then_fail()
    assert exported_message(render_dir) != "Never committed"


def test_a_scheduled_end_being_announced_re_renders_the_page(render_dir: Path) -> None:
    row = MaintenanceSettings.load()
    row.enabled, row.message, row.ends_at = True, "Until five past", timezone.now() + timedelta(minutes=5)
    row.save()
    assert "data-mm-end" in (render_dir / "maintenance.html").read_text()
    sources: list[str] = []
    signals.maintenance_changed.connect(lambda source, **kwargs: sources.append(source), weak=False, dispatch_uid="t")
    try:
        later = (timezone.now() + timedelta(minutes=6)).timestamp()
        with mock.patch("maintenance_mode.models.time.time", return_value=later):
            state.Store().current()
    finally:
        signals.maintenance_changed.disconnect(dispatch_uid="t")
    assert sources == ["schedule"]
    assert "data-mm-end" not in (render_dir / "maintenance.html").read_text()  # the window is over


def test_without_render_dir_a_change_writes_no_file(tmp_path: Path) -> None:
    call_command("maintenance", "on", stdout=StringIO())
    assert list(tmp_path.iterdir()) == []


def test_a_failing_re_render_never_fails_the_change_and_is_logged_once(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing"
    settings.MAINTENANCE_MODE_RENDER_DIR = missing
    try:
        with caplog.at_level(logging.WARNING, logger="maintenance_mode"):
            call_command("maintenance", "on", "--message", "first", stdout=StringIO())
            call_command("maintenance", "on", "--message", "second", stdout=StringIO())
            assert MaintenanceSettings.load().message == "second"
            errors = [record for record in caplog.records if record.levelno == logging.ERROR]
            assert len(errors) == 1
            assert "could not be re-rendered" in errors[0].getMessage()
            assert "is not a directory" in errors[0].getMessage()

            missing.mkdir()
            call_command("maintenance", "on", "--message", "third", stdout=StringIO())
        assert exported_message(missing) == "third"
        assert "re-rendered again" in caplog.records[-1].getMessage()
    finally:
        export._RerenderFailures.failing = False


def test_a_template_error_while_re_rendering_is_logged_with_its_traceback(
    render_dir: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MAINTENANCE_MODE_TEMPLATE = "no/such/template.html"
    with caplog.at_level(logging.ERROR, logger="maintenance_mode"):
        call_command("maintenance", "on", stdout=StringIO())
    assert MaintenanceSettings.load().enabled
    assert caplog.records[0].exc_info is not None
    assert not (render_dir / "maintenance.html").exists()


def ids() -> list[str]:
    return [message.id for message in run_checks() if message.id and message.id.startswith("maintenance_mode.")]


def test_a_writable_render_dir_passes_the_checks(render_dir: Path, settings: Settings) -> None:
    assert ids() == []


def test_a_missing_render_dir_is_a_warning(tmp_path: Path, settings: Settings) -> None:
    settings.MAINTENANCE_MODE_RENDER_DIR = tmp_path / "missing"
    assert ids() == ["maintenance_mode.W004"]


@pytest.mark.parametrize("value", [42, ""])
def test_a_render_dir_that_is_no_path_is_an_error(value: object, settings: Settings) -> None:
    settings.MAINTENANCE_MODE_RENDER_DIR = value
    assert ids() == ["maintenance_mode.E006"]


def test_a_failing_receiver_of_maintenance_changed_is_logged_and_the_change_stays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**kwargs: object) -> None:
        raise RuntimeError("receiver bug")

    MaintenanceSettings.load()  # the row exists: the command makes one change
    signals.maintenance_changed.connect(broken, dispatch_uid="broken")
    try:
        with caplog.at_level(logging.ERROR, logger="maintenance_mode"):
            call_command("maintenance", "on", "--message", "kept", stdout=StringIO())
    finally:
        signals.maintenance_changed.disconnect(dispatch_uid="broken")
    assert MaintenanceSettings.load().message == "kept"
    ours = [record.getMessage() for record in caplog.records if record.name == "maintenance_mode"]
    assert ours == [f"maintenance_mode: the receiver {broken!r} of maintenance_changed failed."]
