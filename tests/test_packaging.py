"""What the built wheel and sdist carry: the app with its templates, compiled
translations, migrations and type marker; no tests (they stay in the repository)."""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Callable

import pytest

from tests.dist import Dist, built_dist

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    return built_dist(tmp_path_factory.mktemp("packaging"))


def wheel_names(dist: Dist) -> set[str]:
    with zipfile.ZipFile(dist.wheel) as wheel:
        return set(wheel.namelist())


def sdist_names(dist: Dist) -> set[str]:
    with tarfile.open(dist.sdist) as sdist:
        # Without the leading "django_maintenance_shield-1.0.0/".
        return {name.partition("/")[2] for name in sdist.getnames()}


@pytest.mark.parametrize("names", [wheel_names, sdist_names], ids=["wheel", "sdist"])
def test_the_distribution_carries_what_the_app_needs_at_run_time(dist: Dist, names: Callable[[Dist], set[str]]) -> None:
    found = names(dist)
    for required in (
        "maintenance_mode/py.typed",
        "maintenance_mode/templates/maintenance_mode/maintenance.html",
        "maintenance_mode/locale/fr/LC_MESSAGES/django.mo",
        "maintenance_mode/migrations/0001_initial.py",
        "maintenance_mode/management/commands/maintenance.py",
    ):
        assert required in found


@pytest.mark.parametrize("names", [wheel_names, sdist_names], ids=["wheel", "sdist"])
def test_the_distribution_leaves_the_tests_and_the_tooling_out(dist: Dist, names: Callable[[Dist], set[str]]) -> None:
    found = names(dist)
    assert not [name for name in found if name.startswith(("tests/", "example_project/", "benchmarks/", ".ci/"))]


def test_the_wheel_declares_django_5_2_and_later(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        (metadata,) = (name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
        text = wheel.read(metadata).decode()
    assert "Requires-Dist: Django>=5.2\n" in text
    for classifier in ("Framework :: Django :: 6.0", "Framework :: Django :: 6.1", "Python :: 3.13"):
        assert classifier in text
