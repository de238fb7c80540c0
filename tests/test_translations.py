"""The shipped catalogs: complete for the current source, and compiled."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci import running_in_ci

PACKAGE = Path(__file__).resolve().parent.parent / "maintenance_mode"
LANGUAGES = ("fr", "de", "es", "pt")


@pytest.fixture(scope="module")
def gettext_tools() -> None:
    if shutil.which("msgfmt") and shutil.which("xgettext") and shutil.which("msgattrib"):
        return
    if running_in_ci():
        pytest.fail("CI needs GNU gettext (apt-get install gettext)")
    pytest.skip("GNU gettext is not installed (apt-get install gettext)")


def entries(po: Path, *flags: str) -> list[str]:
    output = subprocess.run(["msgattrib", *flags, str(po)], capture_output=True, text=True, check=True).stdout
    return [line for line in output.splitlines() if line.startswith("msgid ") and line != 'msgid ""']


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory, gettext_tools: None) -> Path:
    """The catalogs as makemessages would write them from today's source."""
    copy = tmp_path_factory.mktemp("catalogs") / "maintenance_mode"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "django", "makemessages", *(f"-l{language}" for language in LANGUAGES)]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(PACKAGE.parent)}
    subprocess.run(command, cwd=copy, env=env, check=True, capture_output=True, timeout=120)
    return copy / "locale"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_source_is_translated(regenerated: Path, language: str) -> None:
    po = regenerated / language / "LC_MESSAGES" / "django.po"
    assert entries(po, "--untranslated") == []
    assert entries(po, "--only-fuzzy") == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_its_source(tmp_path: Path, gettext_tools: None, language: str) -> None:
    folder = PACKAGE / "locale" / language / "LC_MESSAGES"
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(folder / "django.po")], check=True)
    with compiled.open("rb") as fresh, (folder / "django.mo").open("rb") as shipped:
        assert gettext.GNUTranslations(shipped)._catalog == gettext.GNUTranslations(fresh)._catalog  # type: ignore[attr-defined]
