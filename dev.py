#!/usr/bin/env python3
"""The project's two commands, on any machine with Python 3.10+:

    python3 dev.py example   # install into .venv, set up and run the example site
    python3 dev.py test      # install into .venv, run the build, every suite, the matrix, lint and types
    python3 dev.py mutate    # mutation testing of the request path and the state store (slow, not in CI)

Extra arguments after ``test`` go to pytest in .venv, and nothing else runs
(e.g. ``python3 dev.py test -k bypass``).
``mutate`` takes module names to run a slice (``python3 dev.py mutate client_ip rules``)
and ``--keep`` to add to the previous run's results instead of starting afresh
(the mutants of changed functions run, and the last run's survivors run again).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
DIST = ROOT / "dist"
TOX_WORK = ROOT / ".tox"
# The Pythons we declare (pyproject.toml's classifiers). .venv uses the newest
# one the machine has, so the whole suite runs on the newest Django; tox.ini's
# matrix runs the unit suite on each.
DECLARED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
UNIT_SUITE = ["-m", "not integration and not browser", "--ignore=tests/integration", "--ignore=tests/browser"]


def bin_dir(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts" if os.name == "nt" else "bin")


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(arg) for arg in args), flush=True)
    return subprocess.call([str(arg) for arg in args], cwd=cwd, env=env)


def running_in_ci() -> bool:
    """The same rule as tests/ci.py (this script runs before the project is installed)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def python_version(python: str | Path) -> str | None:
    try:
        out = subprocess.run(
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.strip()


def find_python(version: str) -> str | None:
    """An interpreter of that version that really runs (pyenv shims may not)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [str(path) for path in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))]
    candidates.append(shutil.which(f"python{version}") or "")
    for candidate in filter(None, candidates):
        if python_version(candidate) == version:
            return candidate
    return None


def newest_python() -> str:
    for version in reversed(DECLARED_PYTHONS):
        if found := find_python(version):
            return found
    return sys.executable


def ensure_venv(extra: str) -> Path:
    """Create .venv on the newest declared Python and install the project;
    again only when pyproject.toml changes. Returns its Python."""
    base = newest_python()
    version = python_version(base)
    python = bin_dir(VENV) / "python"
    if python.exists() and python_version(python) != version:
        print(f"{VENV} is not on Python {version} (the newest here): recreating it ...", flush=True)
        shutil.rmtree(VENV)
    if not python.exists():
        print(f"Creating {VENV} on Python {version} ...", flush=True)
        if run(base, "-m", "venv", VENV):
            sys.exit(f"Creating {VENV} failed (see above).")
    stamp = VENV / f".installed-{extra}"
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
    python = ensure_venv("example")
    site = ROOT / "example_project"
    manage: list[str | Path] = [python, "manage.py"]
    if run(*manage, "migrate", "--noinput", cwd=site) or run(*manage, "demo_setup", cwd=site):
        return 1
    return run(*manage, "runserver", "127.0.0.1:8000", cwd=site)


def build(python: Path) -> bool:
    """The sdist and the wheel, into dist/, checked by twine; the startproject
    test installs this wheel."""
    shutil.rmtree(DIST, ignore_errors=True)
    if run(python, "-m", "build", "--quiet", "--outdir", DIST):
        return False
    return run(python, "-m", "twine", "check", "--strict", *sorted(DIST.iterdir())) == 0


def junit_counts(path: Path) -> str:
    """pytest's counts from its JUnit XML report ("682 passed")."""
    try:
        suite = ET.parse(path).getroot().find("testsuite")
    except (OSError, ET.ParseError):
        return "no report"
    if suite is None:
        return "no report"
    total, failed, errors, skipped = (int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped"))
    counts = [f"{total - failed - errors - skipped} passed"]
    counts += [
        f"{number} {word}" for number, word in ((failed, "failed"), (errors, "errors"), (skipped, "skipped")) if number
    ]
    return ", ".join(counts)


def postgres_listens() -> bool:
    """tests/settings.py's PostgreSQL (MAINTENANCE_TEST_DB=postgres) is there."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        return False
    return True


def matrix(covered: str) -> tuple[list[str], list[str]]:
    """tox.ini's environments whose Python is here, two at a time (the CI
    machine has two cores), but ``covered``, whose unit suite the whole suite
    just ran in .venv. Returns (failures, summary lines)."""
    envs = subprocess.run(
        [bin_dir(VENV) / "tox", "list", "--no-desc", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # tox finds "py312" as python3.12 on PATH: put the interpreters found here
    # (pyenv's, whose shims may not run) first on it.
    pythons = TOX_WORK / ".pythons"
    pythons.mkdir(parents=True, exist_ok=True)
    failures, runnable = [], []
    for env in envs:
        if env == covered:
            print(f"{env}: its unit suite ran in the whole suite, in .venv.", flush=True)
            continue
        factor = next(factor for factor in env.split("-") if factor.startswith("py3"))
        version = f"3.{factor[3:]}"
        found = find_python(version)
        if found is None:
            print(f"python{version} not found: {env} does not run here.", flush=True)
            if running_in_ci():
                failures.append(f"{env}: python{version} missing")
            continue
        if "postgres" in env.split("-") and not postgres_listens():
            print(f"No PostgreSQL on 127.0.0.1:5432: {env} does not run here.", flush=True)
            if running_in_ci():
                failures.append(f"{env}: PostgreSQL missing")
            continue
        link = pythons / f"python{version}"
        link.unlink(missing_ok=True)
        link.symlink_to(found)
        runnable.append(env)
    if not runnable:
        return failures, []
    # The PostgreSQL run is the longest (about three SQLite runs: the test database
    # is flushed per transactional test): start it first, beside the others.
    runnable.sort(key=lambda env: "postgres" not in env.split("-"))
    env_vars = {**os.environ, "PATH": f"{pythons}{os.pathsep}{os.environ.get('PATH', '')}"}
    results = TOX_WORK / "matrix.json"
    tox: list[str | Path] = [bin_dir(VENV) / "tox", "run-parallel", "--parallel", "2", "--parallel-no-spinner"]
    if run(*tox, "--result-json", results, "-e", ",".join(runnable), env=env_vars):
        failures.append("matrix")
    return failures, [f"{env}: {closing_line(results, env)}" for env in runnable]


def closing_line(results: Path, env: str) -> str:
    """The Django version and pytest's closing line of one tox environment
    (tox shows a passing environment's output only in its --result-json)."""
    try:
        report = json.loads(results.read_text())["testenvs"][env]
        output = report["test"][-1]["output"]
        django = next(package for package in report["installed_packages"] if package.lower().startswith("django=="))
    except (OSError, ValueError, KeyError, IndexError, StopIteration):
        return "no report"
    lines = [line.strip("= ") for line in output.splitlines() if line.startswith("=") and " in " in line]
    return f"{django}, {lines[-1] if lines else 'no closing line'}"


def test(pytest_args: list[str]) -> int:
    python = ensure_venv("dev")
    if pytest_args:  # a focused run: pytest only, in .venv
        return run(python, "-m", "pytest", *pytest_args)
    started = time.monotonic()
    failures: list[str] = []
    summary: list[str] = []

    def step(name: str, passed: bool, detail: str = "") -> None:
        summary.append(f"{name}: {'ok' if passed else 'FAILED'}{f' ({detail})' if detail else ''}")
        if not passed:
            failures.append(name)

    step("build and twine check", build(python))
    wheels = sorted(DIST.glob("*.whl"))
    env = {**os.environ, "MAINTENANCE_TEST_DIST": str(DIST)} if wheels else None
    report = TOX_WORK / "whole-suite.xml"
    whole: list[str | Path] = [
        python,
        "-m",
        "pytest",
        "--cov",
        "--cov-report=term-missing",
        "--cov-fail-under=100",
        f"--junitxml={report}",
    ]
    django = subprocess.run(
        [python, "-c", "import django; print(django.get_version())"], capture_output=True, text=True
    ).stdout.strip()
    passed = run(*whole, env=env) == 0
    step(f"whole suite, Django {django}, Python {python_version(python)}", passed, junit_counts(report))
    step("ruff check", run(python, "-m", "ruff", "check", ".") == 0)
    step("ruff format", run(python, "-m", "ruff", "format", "--check", ".") == 0)
    step("mypy", run(python, "-m", "mypy", "maintenance_mode", "tests", "example_project", "benchmarks", "dev.py") == 0)
    # The environment the whole suite stands for, e.g. py313-django61.
    covered = "py{}-django{}".format((python_version(python) or "").replace(".", ""), "".join(django.split(".")[:2]))
    matrix_failures, matrix_summary = matrix(covered)
    failures += matrix_failures
    summary += [f"unit suite {line}" for line in matrix_summary]
    print("\nSummary:", *summary, sep="\n  ", flush=True)
    print(f"{time.monotonic() - started:.0f} s in all.", flush=True)
    if failures:
        print(f"FAILED: {', '.join(failures)}", flush=True)
        return 1
    print("All checks passed.", flush=True)
    return 0


# What `mutate` mutates (pyproject.toml's [tool.mutmut] only_mutate says the same).
MUTATED_MODULES = ("middleware", "bypass", "client_ip", "rules", "state", "snapshot")
# mutmut's verdicts, grouped: a timeout is a mutant the tests caught by hanging.
DETECTED = ("killed", "timeout", "caught by type check")


def mutate(args: list[str]) -> int:
    """mutmut on MUTATED_MODULES against the unit suite; prints the score per module.

    mutmut 3 runs, for each mutant, only the tests that reached the mutated
    function, in forked workers: one per core (two on a small machine).
    """
    python = ensure_venv("dev")
    keep = "--keep" in args
    modules = [arg for arg in args if arg != "--keep"]
    unknown = sorted(set(modules) - set(MUTATED_MODULES))
    if unknown:
        print(f"Unknown module(s) {', '.join(unknown)}; choose from {', '.join(MUTATED_MODULES)}.")
        return 2
    mutmut = python.parent / "mutmut"
    if not keep:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # results of older code or tests would be stale
    workers = str(min(os.cpu_count() or 1, 4))
    # The mutants' names are module.function__mutmut_N, with "ǁ" between a class and its method.
    patterns = [f"maintenance_mode.{module}.x*" for module in modules]
    started = time.monotonic()
    # mutmut re-runs only the mutants it has no verdict for (new or changed
    # functions); a survivor of an unchanged function may be killed by a test
    # added since, so --keep names the last run's survivors to run them again.
    survivors = surviving_mutants(mutmut, modules) if keep else []
    if run(mutmut, "run", "--max-children", workers, *patterns):
        return 1
    if survivors and run(mutmut, "run", "--max-children", workers, *survivors):
        return 1
    minutes = (time.monotonic() - started) / 60
    return print_mutation_score(mutmut_results(mutmut), minutes)


def mutmut_results(mutmut: Path) -> str:
    return subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def surviving_mutants(mutmut: Path, modules: list[str]) -> list[str]:
    """The last run's undetected mutants of these modules (all modules if none given)."""
    if not (ROOT / "mutants").is_dir():
        return []
    return [
        name
        for name, module, status in verdicts(mutmut_results(mutmut))
        if is_survivor(status) and (not modules or module in modules)
    ]


def verdicts(results: str) -> list[tuple[str, str, str]]:
    """(mutant name, module, status) for each line of `mutmut results --all true`."""
    return re.findall(r"^\s*(maintenance_mode\.(\w+)\.x\S+): (.+)$", results, re.MULTILINE)


def is_survivor(status: str) -> bool:
    return status not in DETECTED and status != "not checked"


def print_mutation_score(results: str, minutes: float) -> int:
    counts: dict[str, dict[str, int]] = {}
    survivors: list[str] = []
    for name, module, status in verdicts(results):
        counts.setdefault(module, {})
        counts[module][status] = counts[module].get(status, 0) + 1
        if is_survivor(status):
            survivors.append(f"{name}: {status}")
    print(f"\nMutation score ({minutes:.1f} min; killed / mutants run):")
    total_detected = total_run = 0
    for module, by_status in sorted(counts.items()):
        detected = sum(by_status.get(status, 0) for status in DETECTED)
        ran = sum(count for status, count in by_status.items() if status != "not checked")
        total_detected += detected
        total_run += ran
        details = ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
        print(f"  {module + '.py':15} {detected:4} / {ran:4}  ({details})")
    score = 100 * total_detected / total_run if total_run else 0.0
    print(f"  {'all':15} {total_detected:4} / {total_run:4}  = {score:.1f} %")
    if survivors:
        print("Not killed (see tests/MUTANTS.md; `.venv/bin/mutmut show NAME` prints the diff):")
        print("\n".join(f"  {survivor}" for survivor in survivors))
    return 0


def main() -> int:
    if sys.argv[1:2] == ["mutate"]:
        return mutate(sys.argv[2:])
    if len(sys.argv) < 2 or sys.argv[1] not in ("example", "test"):
        print(__doc__)
        return 2
    return example() if sys.argv[1] == "example" else test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
