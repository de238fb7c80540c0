#!/usr/bin/env python3
"""The project's two commands, on any machine with Python 3.10+:

    python3 dev.py example   # install into .venv, set up and run the example site
    python3 dev.py test      # install into .venv, run lint, types and the whole test suite

Extra arguments after ``test`` go to pytest (e.g. ``python3 dev.py test -k bypass``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def run(*args: str | os.PathLike[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(arg) for arg in args), flush=True)
    return subprocess.call([str(arg) for arg in args], cwd=cwd, env=env)


def ensure_venv(extra: str) -> None:
    """Create .venv and install the project; again only when pyproject.toml changes."""
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extra or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f"{ROOT}[{extra}]" if extra else str(ROOT)
    if run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip") or run(
        PYTHON, "-m", "pip", "install", "--quiet", "-e", target
    ):
        sys.exit("Installing the dependencies failed (see above).")
    stamp.write_text(digest)


def example() -> int:
    ensure_venv("example")
    site = ROOT / "example_project"
    manage = [PYTHON, "manage.py"]
    if run(*manage, "migrate", "--noinput", cwd=site) or run(*manage, "demo_setup", cwd=site):
        return 1
    return run(*manage, "runserver", "127.0.0.1:8000", cwd=site)


def test(pytest_args: list[str]) -> int:
    ensure_venv("test")
    failures = []
    steps = {
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
        "mypy": [PYTHON, "-m", "mypy", "maintenance_mode", "tests", "example_project"],
    }
    for name, command in steps.items():
        if pytest_args and name != "pytest":
            continue  # a focused run (python3 dev.py test -k ...) skips the linters
        if run(*command):
            failures.append(name)
    if failures:
        print(f"FAILED: {', '.join(failures)}", flush=True)
        return 1
    print("All checks passed.", flush=True)
    return 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("example", "test"):
        print(__doc__)
        return 2
    return example() if sys.argv[1] == "example" else test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
