#!/usr/bin/env python
"""Real servers under load, maintenance off then on: gunicorn (WSGI) and uvicorn (ASGI).

Run from the repository root with the project's virtualenv::

    .venv/bin/python benchmarks/load.py                      # gunicorn, then uvicorn
    .venv/bin/python benchmarks/load.py --server uvicorn     # one of them

It migrates a throwaway SQLite database for ``benchmarks/benchsite`` (a minimal
site with django-maintenance-shield and the default 1 s state TTL). For each
server it starts it on a free loopback port (2 workers each: gunicorn's sync
workers on ``benchsite.wsgi``, uvicorn's on ``benchsite.asgi``, where ``/`` is an
async view) and runs ``wrk -t2 -c32 -d10s`` against ``/`` with maintenance off,
then again after ``manage.py maintenance on``. A wrk Lua script
(``wrk_status.lua``) tallies the status of every response: the run passes only
if every response was a 200 while off and a 503 while on, with no socket
errors. The servers are always stopped.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

# Subprocesses run in benchmarks/ (where ``benchsite`` lives), never in the repository
# root, whose maintenance_mode/ would shadow a PYTHONPATH under test.
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"  # git-ignored
MANAGE = HERE / "benchsite" / "manage.py"
LUA = HERE / "wrk_status.lua"
STATE_TTL = 1.0  # benchsite keeps the app's default MAINTENANCE_MODE_STATE_TTL


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, cwd=HERE, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


def get(url: str, timeout: float = 2.0) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


SERVERS = ("gunicorn", "uvicorn")


def server_command(name: str, port: int, workers: int, log: Path) -> list[str]:
    if name == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--chdir",
            str(HERE),
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--error-logfile",
            str(log),
            "benchsite.wsgi:application",
        ]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(HERE),
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "benchsite.asgi:application",
    ]


@contextmanager
def server(name: str, env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    command = server_command(name, port, workers, log)
    if name == "uvicorn":
        env = dict(env, DJANGO_SETTINGS_MODULE="benchsite.settings_asgi")  # the same site, "/" an async view
    print("+", " ".join(command), file=sys.stderr, flush=True)
    # Its own session: the master and its workers form one process group that we own.
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, cwd=HERE, start_new_session=True, stderr=output)
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # Workers that outlived their master (they should not) go with the group.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_until(url: str, status: int, process: subprocess.Popen[bytes], timeout: float, in_a_row: int = 1) -> None:
    deadline = time.monotonic() + timeout
    streak = 0
    last: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}")
        try:
            last = get(url)[0]
        except OSError as error:
            last = error
        streak = streak + 1 if last == status else 0
        if streak >= in_a_row:
            return
        time.sleep(0.05)
    raise SystemExit(f"{url} did not answer {status} within {timeout:.0f} s (last: {last})")


def wrk(url: str, threads: int, connections: int, duration: int) -> dict[str, Any]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(LUA), url]
    print("+", " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration + 30)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
            result["statuses"] = {int(status): count for status, count in result["statuses"].items()}
            return result
    raise SystemExit(f"no WRK_RESULT line in wrk's output:\n{done.stdout}\n{done.stderr}")


def phase(name: str, expected: int, url: str, args: argparse.Namespace) -> dict[str, Any]:
    if args.warmup:
        wrk(url, args.threads, args.connections, args.warmup)  # workers warm, not counted
    result = wrk(url, args.threads, args.connections, args.duration)
    result["phase"] = name
    result["expected"] = expected
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    others = {status: count for status, count in result["statuses"].items() if status != expected}
    socket_errors = sum(count for kind, count in result["errors"].items() if kind != "status")
    result["ok"] = not others and not socket_errors and result["statuses"].get(expected, 0) == result["requests"]
    return result


def report(results: list[dict[str, Any]], args: argparse.Namespace, probes: dict[str, dict[str, str]], app: str) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Load run, {now}; nproc={os.cpu_count()};"
        f" load average at the end {' / '.join(f'{value:.1f}' for value in os.getloadavg())};"
        f" {args.workers} workers per server on 127.0.0.1 (gunicorn: sync workers, WSGI; uvicorn: ASGI, an async view),"
        f" `wrk -t{args.threads} -c{args.connections} -d{args.duration}s` on `/` (after a {args.warmup} s warm-up);"
        f" SQLite; MAINTENANCE_MODE_STATE_TTL={STATE_TTL:g} s; maintenance_mode from {app}.",
        "",
        "| server | maintenance | requests/s | requests | status tally | socket errors (connect/read/write/timeout)"
        " | latency p50 / p99 (ms) | all as expected |",
        "| --- | --- | ---: | ---: | --- | --- | --- | --- |",
    ]
    for result in results:
        tally = ", ".join(f"{status}: {count}" for status, count in sorted(result["statuses"].items()))
        errors = result["errors"]
        latency = result["latency_us"]
        lines.append(
            f"| {result['server']} | {result['phase']} (expect {result['expected']}) | {result['rps']:.0f}"
            f" | {result['requests']} | {tally}"
            f" | {errors['connect']}/{errors['read']}/{errors['write']}/{errors['timeout']}"
            f" | {latency['p50'] / 1000:.1f} / {latency['p99'] / 1000:.1f} | {'yes' if result['ok'] else '**NO**'} |"
        )
    lines.append("")
    for name, probe in probes.items():
        lines.append(
            f"Maintenance page as {name} served it (probe): " + ", ".join(f"`{k}: {v}`" for k, v in probe.items())
        )
    return "\n".join(lines)


def measure(
    name: str, env: dict[str, str], tmp: Path, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Maintenance off, then on, under one server; leaves maintenance off."""
    manage(env, "maintenance", "off")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp / f"{name}.log"
    results = []
    try:
        with server(name, env, port, args.workers, log) as process:
            wait_until(url, 200, process, timeout=30)
            results.append(phase("off", 200, url, args))

            print(manage(env, "maintenance", "on").strip(), file=sys.stderr)
            # Every worker's snapshot from before the switch lapses within the TTL.
            time.sleep(STATE_TTL + 0.5)
            wait_until(url, 503, process, timeout=10, in_a_row=20)
            status, headers, body = get(url)
            probe = {
                "status": str(status),
                "bytes": str(len(body)),
                **{header: headers.get(header, "-") for header in ("Content-Type", "Cache-Control", "Vary")},
            }
            results.append(phase("on", 503, url, args))
            manage(env, "maintenance", "off")
    finally:
        if log.exists() and log.read_text().strip():
            print(f"{name}'s log:\n{log.read_text()}", file=sys.stderr)
    for result in results:
        result["server"] = name
    return results, probe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=(*SERVERS, "both"), default="both", help="which server(s) to load")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each measured wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of an uncounted wrk run before each (0: none)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each server")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    results: list[dict[str, Any]] = []
    probes: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as directory:
        tmp = Path(directory)
        env = dict(os.environ, BENCHSITE_DB=str(tmp / "db.sqlite3"), DJANGO_SETTINGS_MODULE="benchsite.settings")
        app = subprocess.run(
            [sys.executable, "-c", "import maintenance_mode as m, os; print(os.path.dirname(m.__file__))"],
            env=env,
            cwd=HERE,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        manage(env, "migrate", "--noinput", "-v0")
        for name in SERVERS if args.server == "both" else (args.server,):
            measured, probes[name] = measure(name, env, tmp, args)
            results += measured

    text = report(results, args, probes, app)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"load-{stamp}.md").write_text(text + "\n")
    (RESULTS / f"load-{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0 if all(result["ok"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
