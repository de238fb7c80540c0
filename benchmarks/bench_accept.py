#!/usr/bin/env python
"""What a hostile ``Accept`` header costs a blocked request, as a ratio to a browser's (issue #9, finding 3).

Run from the repository root with the project's virtualenv::

    .venv/bin/python benchmarks/bench_accept.py [--rounds 30] [--batch 20]

One ``WSGIHandler`` of the benchmark site with maintenance forced on (no
database, no cache) answers anonymous GETs that differ only in their Accept
header: a browser's, and what gunicorn hands Django for 95 repeated 8 KB lines
(one joined header of about 760 KB, distinct on every request, so nothing is
served from a cache of earlier headers). The two run batch by batch in a
shuffled order each round; each round's hostile time is divided by the browser
time of the same round, and the median of those ratios is the result. Building
the headers happens outside the timed calls. The process's peak resident size
is printed too, since the issue was memory as much as time.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def hostile_accept(serial: int) -> str:
    line = f"application/x-{serial}-" + "a" * 8000 + ";q=0.1"
    return ",".join([line] * 95) + ",application/json"


def environ(accept: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "198.51.100.7",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": accept,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=20)
    options = parser.parse_args()

    sys.path.insert(0, str(HERE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    import django
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    django.setup()
    with override_settings(MAINTENANCE_MODE_FORCE=True):  # reads nothing: no database needed
        handler = WSGIHandler()
        statuses: list[str] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)
            return lambda data: None

        def run(environs: list[dict[str, Any]]) -> float:
            gc.disable()
            started = time.perf_counter()
            for one in environs:
                handler(one, start_response).close()
            elapsed = time.perf_counter() - started
            gc.enable()
            return elapsed / len(environs)

        serial = 0
        ratios: list[float] = []
        browser_times: list[float] = []
        hostile_times: list[float] = []
        run([environ(BROWSER_ACCEPT)] * 5)  # the page is rendered once per state: not in the numbers
        for _round in range(options.rounds):
            timed: dict[str, float] = {}
            for variant in random.sample(["browser", "hostile"], 2):
                if variant == "browser":
                    batch = [environ(BROWSER_ACCEPT) for _ in range(options.batch)]
                else:
                    batch = [environ(hostile_accept(serial + index)) for index in range(options.batch)]
                    serial += options.batch
                timed[variant] = run(batch)
            browser_times.append(timed["browser"])
            hostile_times.append(timed["hostile"])
            ratios.append(timed["hostile"] / timed["browser"])
    assert all(status.startswith("503") for status in statuses), "every request must get the maintenance page"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rounds {options.rounds} x batch {options.batch}, {len(statuses)} blocked requests, all 503")
    print(f"browser Accept ({len(BROWSER_ACCEPT)} chars): median {statistics.median(browser_times) * 1e6:.1f} µs")
    print(f"hostile Accept ({len(hostile_accept(0)):,} chars): median {statistics.median(hostile_times) * 1e6:.1f} µs")
    print(f"ratio hostile / browser, median of per-round ratios: {statistics.median(ratios):.2f}")
    print(f"peak resident size: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
