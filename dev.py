#!/usr/bin/env python3
"""The project's two commands, on any machine with Python 3.10+:

    python3 dev.py example   # install into .venv, set up and run the example site
    python3 dev.py test      # install into .venv, run lint, types and the whole test suite

Extra arguments after ``test`` go to pytest (e.g. ``python3 dev.py test -k bypass``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts" if os.name == "nt" else "bin") / "python"
# The Pythons we declare (pyproject.toml's classifiers). The whole suite runs
# on this one; the unit suite also runs on the others, when the machine has
# them (under CI it must).
DECLARED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
OTHER_PYTHONS = tuple(version for version in DECLARED_PYTHONS if version != "{}.{}".format(*sys.version_info))


def run(*args: str | Path, cwd: Path = ROOT) -> int:
    print("+", " ".join(str(arg) for arg in args), flush=True)
    return subprocess.call([str(arg) for arg in args], cwd=cwd)


def ensure_venv(extra: str, venv_dir: Path = VENV, base_python: str = sys.executable) -> Path:
    """Create the virtual environment and install the project; again only when
    pyproject.toml changes. Returns its Python."""
    python = venv_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    if not python.exists():
        print(f"Creating {venv_dir} ...", flush=True)
        if base_python == sys.executable:
            venv.EnvBuilder(with_pip=True).create(venv_dir)
        elif run(base_python, "-m", "venv", venv_dir):
            sys.exit(f"Creating {venv_dir} failed (see above).")
    stamp = venv_dir / f".installed-{extra}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return python
    if run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip") or run(
        python, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extra}]"
    ):
        sys.exit("Installing the dependencies failed (see above).")
    stamp.write_text(digest)
    return python


def example() -> int:
    ensure_venv("example")
    site = ROOT / "example_project"
    manage: list[str | Path] = [PYTHON, "manage.py"]
    if run(*manage, "migrate", "--noinput", cwd=site) or run(*manage, "demo_setup", cwd=site):
        return 1
    return run(*manage, "runserver", "127.0.0.1:8000", cwd=site)


def test(pytest_args: list[str]) -> int:
    ensure_venv("test")
    failures: list[str] = []
    steps: dict[str, list[str | Path]] = {
        "pytest": [
            PYTHON,
            "-m",
            "pytest",
            "--cov",
            "--cov-report=term-missing",
            "--cov-fail-under=100",
            *pytest_args,
        ],
        "ruff check": [PYTHON, "-m", "ruff", "check", "."],
        "ruff format": [PYTHON, "-m", "ruff", "format", "--check", "."],
        "mypy": [PYTHON, "-m", "mypy", "maintenance_mode", "tests", "example_project", "benchmarks"],
    }
    for name, command in steps.items():
        if pytest_args and name != "pytest":
            continue  # a focused run (python3 dev.py test -k ...) skips the linters
        if run(*command):
            failures.append(name)
    if not pytest_args:
        failures += other_pythons()
    if failures:
        print(f"FAILED: {', '.join(failures)}", flush=True)
        return 1
    print("All checks passed.", flush=True)
    return 0


def running_in_ci() -> bool:
    """The same rule as tests/ci.py (this script runs before the project is installed)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_python(version: str) -> str | None:
    """An interpreter of that version that really runs (pyenv shims may not)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [str(path) for path in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))]
    candidates.append(shutil.which(f"python{version}") or "")
    check = f"import sys; sys.exit(sys.version_info[:2] != {tuple(int(part) for part in version.split('.'))})"
    for candidate in filter(None, candidates):
        if subprocess.call([candidate, "-c", check], stderr=subprocess.DEVNULL) == 0:
            return candidate
    return None


def other_pythons() -> list[str]:
    """The unit tests on the other declared Pythons (integration and browser
    tests, which drive real servers and Chromium, run once, above)."""
    failures = []
    for version in OTHER_PYTHONS:
        base = find_python(version)
        if base is None:
            print(f"python{version} not found: the unit tests do not run on it here.", flush=True)
            if running_in_ci():
                failures.append(f"python{version} missing")
            continue
        python = ensure_venv("test", ROOT / f".venv-py{version.replace('.', '')}", base)
        unit: list[str | Path] = [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not integration and not browser",
        ]
        if run(*unit, "--ignore=tests/integration", "--ignore=tests/browser"):
            failures.append(f"pytest on Python {version}")
    return failures


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("example", "test"):
        print(__doc__)
        return 2
    return example() if sys.argv[1] == "example" else test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
