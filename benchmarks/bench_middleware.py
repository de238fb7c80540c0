#!/usr/bin/env python
"""Cost of the maintenance middleware per request, as a ratio to the same Django stack without it.

Run from the repository root with the project's virtualenv::

    .venv/bin/python benchmarks/bench_middleware.py                      # + the competitor if its venv exists
    .venv/bin/python benchmarks/bench_middleware.py --competitor yes     # create .venv-bench-dmm first if needed
    .venv/bin/python benchmarks/bench_middleware.py --competitor no      # this app only

In one process it builds several ``WSGIHandler`` objects that differ only in
``settings.MIDDLEWARE`` and drives each with the same prepared WSGI environ
(an anonymous browser GET of a minimal view). The variants run batch by batch,
in a shuffled order each round, with the garbage collector off inside a batch;
every variant's time is divided by the bare stack's time *from the same round*,
so slow drifts of a noisy machine cancel out. The median of those per-round
ratios is the result, with a bootstrap 95% confidence interval of that median
and the interquartile range of the ratios. The absolute microseconds are only a
guide. Times are this thread's CPU time by default (``--clock wall`` for
elapsed time): on a shared machine, time spent waiting for a CPU is not ours.
SQL statements are counted with a ``connection.execute_wrapper`` (DEBUG off).

django-maintenance-mode (also imported as ``maintenance_mode``) cannot live in
the same interpreter, so this script runs itself again with ``--target dmm``
in ``.venv-bench-dmm``, where it measures its own bare stack interleaved in the
same way; ratios are comparable across the two processes, microseconds less so.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import importlib
import io
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"  # git-ignored
DMM_VENV = ROOT / ".venv-bench-dmm"
DMM_PYTHON = DMM_VENV / ("Scripts" if os.name == "nt" else "bin") / "python"
DMM_REQUIREMENTS = ("django>=5.2,<5.3", "django-maintenance-mode")
MIDDLEWARE_PATH = "maintenance_mode.middleware.MaintenanceModeMiddleware"  # the same path in both apps
PASS_THROUGH = "benchsite.middleware.PassThroughMiddleware"

# The bars (issue #13: the same under WSGI and ASGI). The control is two identical stacks
# measured against each other: a run whose control strays further is too noisy to judge.
CONTROL_TOLERANCE = 0.01
OFF_BAR = 1.01
ON_BAR = 1.00

# A realistic project's stack (startproject's, minus X-Frame-Options); the
# maintenance middleware goes last, after Authentication and Messages.
BASE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

HOST = "shop.example"
# What a browser sends; no cookie: an anonymous first visit.
ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/",
    "QUERY_STRING": "",
    "SERVER_NAME": HOST,
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "203.0.113.7",
    "REMOTE_PORT": "51234",
    "HTTP_HOST": HOST,
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.5",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.input": io.BytesIO(b""),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}

# "cpu" leaves out the time this thread spends descheduled while other processes use the CPU.
CLOCKS: dict[str, Callable[[], int]] = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclasses.dataclass
class Variant:
    key: str
    label: str
    middleware: list[str]
    # The state set before each batch: on, off, READ_ONLY (on in read-only mode);
    # None: no maintenance middleware.
    maintenance: bool | str | None
    expected_status: int
    app: Any = None  # a WSGIHandler here, an ASGIHandler in bench_asgi.py
    path: str = "/"  # bench_asgi.py's reference 503 has a URL of its own


@dataclasses.dataclass
class Target:
    """What differs between this app and the competitor: settings, variants, and the state switch."""

    name: str
    title: str
    extra_settings: dict[str, Any]
    variants: list[Variant]
    # Called once Django is set up (the app can be imported then); fills in the two below.
    setup: Callable[[Target], None]
    set_state: Callable[[bool | str], None] = lambda on: None
    describe: Callable[[], str] = lambda: ""


READ_ONLY = "read-only"


def base_variants(prefix: str) -> list[Variant]:
    return [
        Variant(f"{prefix}base", "(a) base stack, no maintenance middleware", BASE_MIDDLEWARE, None, 200),
        Variant(
            f"{prefix}noop", "(b) base + empty pass-through middleware", [*BASE_MIDDLEWARE, PASS_THROUGH], None, 200
        ),
    ]


def shield_setup(target: Target) -> None:
    from maintenance_mode import state
    from maintenance_mode.snapshot import Snapshot

    # Two fixed snapshots: installing the same objects again keeps the rendered page
    # cached, as it stays in production while the state does not change.
    fields = {field.name for field in dataclasses.fields(Snapshot)}

    def snapshot(on: bool | str) -> Any:
        extra: dict[str, Any] = {"signalled_active": bool(on)} if "signalled_active" in fields else {}
        if on == READ_ONLY:
            extra["mode"] = READ_ONLY
        return Snapshot(enabled=bool(on), version=1, **extra)

    snapshots = {on: snapshot(on) for on in (True, False, *((READ_ONLY,) if "mode" in fields else ()))}

    def set_state(on: bool | str) -> None:
        # reset() first: publish() ignores a snapshot older than the one it has.
        state.store.reset()
        state.store.publish(snapshots[on])
        if state.store.current() is not snapshots[on]:
            raise SystemExit("maintenance_mode.state.store did not install the benchmark's snapshot")

    def describe() -> str:
        import maintenance_mode

        return f"django-maintenance-shield from {Path(maintenance_mode.__file__).parent}"

    target.set_state = set_state
    target.describe = describe


def read_only_variant(stack: list[str]) -> Variant:
    """Read-only maintenance, an anonymous GET: the live page, plus the notice put into it."""
    return Variant("read-only", "(e) base + maintenance-shield, READ-ONLY, anonymous GET", stack, READ_ONLY, 200)


def shield_target(tmp: Path) -> Target:
    stack = [*BASE_MIDDLEWARE, MIDDLEWARE_PATH]
    return Target(
        name="shield",
        title="django-maintenance-shield (this project)",
        # Far longer than a run: no snapshot refresh inside a timed batch.
        extra_settings={"MAINTENANCE_MODE_STATE_TTL": 24 * 3600.0},
        variants=[
            *base_variants(""),
            Variant("off", "(c) base + maintenance-shield, maintenance OFF", stack, False, 200),
            Variant("on", "(d) base + maintenance-shield, maintenance ON (anonymous, HTML)", stack, True, 503),
            read_only_variant(stack),
        ],
        setup=shield_setup,
    )


def dmm_setup(target: Target) -> None:
    core = importlib.import_module("maintenance_mode.core")

    def set_state(on: bool | str) -> None:
        core.set_maintenance_mode(bool(on))

    def describe() -> str:
        from importlib.metadata import version

        where = Path(str(importlib.import_module("maintenance_mode").__file__)).parent
        return f"django-maintenance-mode {version('django-maintenance-mode')} from {where}"

    target.set_state = set_state
    target.describe = describe


def dmm_target(tmp: Path) -> Target:
    stack = [*BASE_MIDDLEWARE, MIDDLEWARE_PATH]
    return Target(
        name="dmm",
        title="django-maintenance-mode (PyPI)",
        extra_settings={
            # Its default backend: a local file, read on every request.
            "MAINTENANCE_MODE_STATE_FILE_PATH": str(tmp / "maintenance_mode_state.txt"),
        },
        variants=[
            *base_variants("dmm-"),
            Variant("dmm-off", "(c') base + django-maintenance-mode, maintenance OFF", stack, False, 200),
            Variant(
                "dmm-on", "(d') base + django-maintenance-mode, maintenance ON (anonymous, HTML)", stack, True, 503
            ),
        ],
        setup=dmm_setup,
    )


def configure_django(tmp: Path, target: Target) -> None:
    import django
    from django.conf import settings

    defaults: dict[str, Any] = dict(
        SECRET_KEY="benchmarks-only-not-secret",
        DEBUG=False,
        ALLOWED_HOSTS=[HOST],
        USE_TZ=True,
        USE_I18N=True,
        LANGUAGE_CODE="en",
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "maintenance_mode",
        ],
        MIDDLEWARE=BASE_MIDDLEWARE,
        ROOT_URLCONF="benchsite.urls",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp / "bench.sqlite3")}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        STATIC_URL="/static/",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    settings.configure(**{**defaults, **target.extra_settings})
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def build_handlers(target: Target) -> None:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    for variant in target.variants:
        settings.MIDDLEWARE = variant.middleware  # the chain is loaded by the constructor
        variant.app = WSGIHandler()
    settings.MIDDLEWARE = BASE_MIDDLEWARE


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
    return _write


def _write(data: bytes) -> None:
    pass


def run_batch(app: WSGIApp, count: int, environ: dict[str, Any] = ENVIRON) -> None:
    """The timed loop: the same for every variant."""
    start_response = _start_response
    for _ in range(count):
        response = app(environ.copy(), start_response)
        for _chunk in response:
            pass
        response.close()  # type: ignore[attr-defined]  # sends request_finished, as a server does


def check(target: Target, variant: Variant, *, set_state: bool = True) -> int:
    """One untimed request: the status must be the expected one; returns the body size."""
    assert variant.app is not None
    if set_state and variant.maintenance is not None:
        target.set_state(variant.maintenance)
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[..., None]:
        seen.append(status)
        return _write

    app: WSGIApp = variant.app
    response = app(ENVIRON.copy(), start_response)
    body = b"".join(response)
    response.close()  # type: ignore[attr-defined]
    status = int(seen[0].split()[0])
    if status != variant.expected_status:
        raise SystemExit(f"{variant.key}: expected HTTP {variant.expected_status}, got {seen[0]}: {body[:300]!r}")
    return len(body)


@contextmanager
def count_queries(counts: dict[str, int], current: list[str]) -> Iterator[None]:
    """Count every SQL statement, whatever DEBUG says, under the key in ``current[0]``."""
    from django.db import connection

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        counts[current[0]] = counts.get(current[0], 0) + 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def median_ci(values: list[float], seed: int, resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap confidence interval of the median: how sure the median itself is."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def save_results(name: str, results: object, text: str) -> None:
    """Keep a run's table and raw numbers in benchmarks/results/ (bench_asgi.py, bench_theme.py too)."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{name}-{stamp}.json").write_text(json.dumps(results, indent=2))
    (RESULTS / f"{name}-{stamp}.md").write_text(text + "\n")
    print(f"\n(saved in {RESULTS.relative_to(ROOT)}/{name}-{stamp}.md and .json)", file=sys.stderr)


def summary_row(
    variant: Variant,
    times: list[float],
    base_times: list[float],
    seed: int,
    *,
    queries_per_request: float,
    body_bytes: int,
) -> dict[str, Any]:
    """One row of a benchmark's table: the variant's per-round times and their
    ratios to the bare stack's, measured in the same rounds (bench_asgi.py too)."""
    ratios = [mine / base for mine, base in zip(times, base_times, strict=True)]
    r1, r2, r3 = quartiles(ratios)
    low, high = median_ci(ratios, seed)
    t1, t2, t3 = quartiles(times)
    return {
        "key": variant.key,
        "label": variant.label,
        "status": variant.expected_status,
        "us_median": t2,
        "us_q1": t1,
        "us_q3": t3,
        "ratio_median": r2,
        "ratio_q1": r1,
        "ratio_q3": r3,
        "ratio_ci_low": low,
        "ratio_ci_high": high,
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "queries_per_request": queries_per_request,
        "body_bytes": body_bytes,
    }


def call_overhead(target: Target, number: int = 20000, repeat: int = 7) -> dict[str, float]:
    """Nanoseconds one call of the *last* middleware adds on its own, maintenance off, with the
    next layer a no-op: the best of ``repeat`` timings, so it hardly depends on the machine's noise."""
    import timeit

    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse
    from django.utils.module_loading import import_string

    response = HttpResponse(b"")
    request = WSGIRequest(ENVIRON.copy())
    result: dict[str, float] = {}
    for variant in target.variants:
        if variant.middleware == BASE_MIDDLEWARE or variant.maintenance is True:
            continue
        if variant.maintenance is not None:
            target.set_state(variant.maintenance)
        middleware = import_string(variant.middleware[-1])(lambda request: response)
        best = min(timeit.repeat(lambda: middleware(request), number=number, repeat=repeat))  # noqa: B023
        result[variant.key] = best / number * 1e9
    return result


@dataclasses.dataclass(frozen=True)
class Plan:
    rounds: int
    passes: int
    batch: int
    seed: int
    clock: str

    def argv(self) -> list[str]:
        return [f"--{name}={value}" for name, value in dataclasses.asdict(self).items()]


def measure(target: Target, plan: Plan) -> dict[str, Any]:
    rounds, passes, batch, seed = plan.rounds, plan.passes, plan.batch, plan.seed
    clock = CLOCKS[plan.clock]
    variants = target.variants
    body_sizes = {variant.key: check(target, variant) for variant in variants}
    # Warm-up, untimed: first-request work (URL resolver, templates, page cache), branch caches.
    for variant in variants:
        assert variant.app is not None
        if variant.maintenance is not None:
            target.set_state(variant.maintenance)
        run_batch(variant.app, max(batch // 2, 1))

    rng = random.Random(seed)
    times: dict[str, list[float]] = {variant.key: [] for variant in variants}
    queries: dict[str, int] = {}
    current = [""]
    base_key = variants[0].key
    with count_queries(queries, current):
        for _round in range(rounds):
            best: dict[str, float] = {}
            for _pass in range(passes):
                order = variants[:]
                rng.shuffle(order)
                for variant in order:
                    assert variant.app is not None
                    if variant.maintenance is not None:
                        target.set_state(variant.maintenance)  # outside the timed region
                    current[0] = variant.key
                    gc.collect()
                    gc.disable()
                    started = clock()
                    run_batch(variant.app, batch)
                    elapsed = clock() - started
                    gc.enable()
                    current[0] = ""
                    check(target, variant, set_state=False)  # untimed: the state held for the whole batch
                    best[variant.key] = min(best.get(variant.key, math.inf), elapsed / batch / 1000)
            for key, value in best.items():
                times[key].append(value)

    rows = [
        summary_row(
            variant,
            times[variant.key],
            times[base_key],
            seed,
            queries_per_request=queries.get(variant.key, 0) / (rounds * passes * batch),
            body_bytes=body_sizes[variant.key],
        )
        for variant in variants
    ]
    import django

    return {
        "target": target.name,
        "title": target.title,
        "describe": target.describe(),
        "rounds": rounds,
        "passes": passes,
        "clock": plan.clock,
        "batch": batch,
        "python": platform.python_version(),
        "django": django.get_version(),
        "rows": rows,
        "untimed_queries": queries.get("", 0),
        "call_overhead_ns": call_overhead(target),
    }


def profile(target: Target, key: str, batch: int, limit: int = 30) -> str:
    """cProfile of one warmed-up batch of one variant, by cumulative and by own time."""
    import cProfile
    import pstats

    variant = next((variant for variant in target.variants if variant.key == key), None)
    if variant is None:
        raise SystemExit(f"no variant {key!r}; choose from {[variant.key for variant in target.variants]}")
    assert variant.app is not None
    check(target, variant)
    if variant.maintenance is not None:
        target.set_state(variant.maintenance)
    run_batch(variant.app, batch)  # warm-up
    profiler = cProfile.Profile()
    profiler.runcall(run_batch, variant.app, batch)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def run_target(name: str, plan: Plan, profile_key: str | None = None) -> Any:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as directory:
        tmp = Path(directory)
        target = shield_target(tmp) if name == "shield" else dmm_target(tmp)
        configure_django(tmp, target)
        target.setup(target)
        build_handlers(target)
        if profile_key is not None:
            return profile(target, profile_key, plan.batch)
        return measure(target, plan)


# --- the competitor's virtualenv ------------------------------------------------------------------


def ensure_competitor_venv() -> None:
    stamp = DMM_VENV / ".bench-installed"
    wanted = "\n".join(DMM_REQUIREMENTS)
    if DMM_PYTHON.exists() and stamp.exists() and stamp.read_text() == wanted:
        return
    if not DMM_PYTHON.exists():
        print(f"Creating {DMM_VENV} ...", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(DMM_VENV)
    command = [str(DMM_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *DMM_REQUIREMENTS]
    print("+", " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, timeout=600)
    stamp.write_text(wanted)


def run_competitor(plan: Plan) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    command = [str(DMM_PYTHON), str(Path(__file__).resolve()), "--target", "dmm", "--json", *plan.argv()]
    print("+", " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- the report -------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        f"| process | variant | HTTP | {results[0]['clock']} µs/request (median) | ratio to (a), median"
        " | 95% CI of the median"
        " | ratio IQR | queries/request |",
        "| --- | --- | --- | ---: | ---: | --- | --- | ---: |",
    ]
    for result in results:
        for row in result["rows"]:
            lines.append(
                f"| {result['target']} | {row['label']} | {row['status']} | {row['us_median']:.1f}"
                f" | **{row['ratio_median']:.3f}** | {row['ratio_ci_low']:.3f}–{row['ratio_ci_high']:.3f}"
                f" | {row['ratio_q1']:.3f}–{row['ratio_q3']:.3f} | {row['queries_per_request']:g} |"
            )
    return "\n".join(lines)


def verdicts(results: list[dict[str, Any]]) -> list[str]:
    by_key = {row["key"]: row for result in results for row in result["rows"]}
    lines = []

    def line(ok: bool, text: str) -> None:
        lines.append(f"- {'MET ' if ok else 'MISSED'}: {text}")

    for key in ("noop", "dmm-noop"):
        if key in by_key:
            ratio = by_key[key]["ratio_median"]
            calm = abs(ratio - 1) <= CONTROL_TOLERANCE
            advice = "" if calm else ": too noisy to trust the small ratios, run again on a quieter machine"
            line(calm, f"control `{key}` reads {ratio:.3f} (must be 1.00 ± {CONTROL_TOLERANCE:.2f}){advice}")
    if "off" in by_key:
        off = by_key["off"]
        line(
            off["ratio_median"] <= OFF_BAR,
            f"OFF adds {100 * (off['ratio_median'] - 1):+.1f}% (95% CI {100 * (off['ratio_ci_low'] - 1):+.1f}%"
            f" to {100 * (off['ratio_ci_high'] - 1):+.1f}%; target ≤ {OFF_BAR:.2f} ×)",
        )
        line(off["queries_per_request"] == 0, f"OFF makes {off['queries_per_request']:g} queries/request (target 0)")
    if "on" in by_key:
        on = by_key["on"]
        line(
            on["ratio_median"] <= ON_BAR,
            f"ON (anonymous) costs {on['ratio_median']:.3f} × (a) (95% CI {on['ratio_ci_low']:.3f}–"
            f"{on['ratio_ci_high']:.3f}; target ≤ {ON_BAR:.2f} ×)",
        )
        line(on["queries_per_request"] == 0, f"ON makes {on['queries_per_request']:g} queries/request")
    if "read-only" in by_key and "off" in by_key:
        read, off = by_key["read-only"], by_key["off"]
        line(
            read["queries_per_request"] == 0,
            f"READ-ONLY GET (the live page + the notice) costs {read['ratio_median']:.3f} × (a) (95% CI"
            f" {read['ratio_ci_low']:.3f}–{read['ratio_ci_high']:.3f}),"
            f" {read['ratio_median'] / off['ratio_median']:.3f} × OFF;"
            f" {read['queries_per_request']:g} queries/request (target 0)",
        )
    for mine, theirs in (("off", "dmm-off"), ("on", "dmm-on")):
        if mine in by_key and theirs in by_key:
            a, b = by_key[mine]["ratio_median"], by_key[theirs]["ratio_median"]
            line(a < b, f"{mine.upper()}: shield {a:.3f} vs django-maintenance-mode {b:.3f} (ratios to each own (a))")
    return lines


ISOLATED = "The middleware's own call in isolation (best of 7 × 20000 calls, next layer a no-op, maintenance OFF):"


def report(results: list[dict[str, Any]], title: str = "Middleware micro-benchmark", isolated: str = ISOLATED) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    first = results[0]
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    header = [
        f"{title}, {now}; nproc={os.cpu_count()}; load average at the end {load};"
        f" Python {first['python']},"
        f" Django {first['django']}; {first['rounds']} rounds × {first['batch']} requests per variant"
        + (f" × {first['passes']} passes (a round keeps each variant's fastest)" if first["passes"] > 1 else "")
        + f"; {first['clock']} time.",
        "",
    ]
    header += [f"- `{result['target']}`: {result['describe']}" for result in results]
    lines = ["", isolated]
    for result in results:
        overhead = result["call_overhead_ns"]
        base_us = result["rows"][0]["us_median"]
        lines += [
            f"- `{result['target']}` {key}: {ns:.0f} ns per request = {ns / 10 / base_us:.2f}% of (a)"
            for key, ns in overhead.items()
        ]
    return "\n".join([*header, "", table(results), *lines, "", *verdicts(results)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--target",
        choices=("shield", "dmm"),
        default="shield",
        help="the app measured in this process (dmm needs the competitor's venv); the default also runs dmm",
    )
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON (used between processes)")
    parser.add_argument("--rounds", type=int, default=60, help="rounds; each runs one batch of every variant")
    parser.add_argument("--passes", type=int, default=1, help="passes per round; a round keeps each variant's fastest")
    parser.add_argument("--batch", type=int, default=1000, help="requests per batch (one batch per variant and pass)")
    parser.add_argument(
        "--clock",
        choices=tuple(CLOCKS),
        default="cpu",
        help="cpu: this thread's CPU time (time spent waiting for a busy CPU does not count); wall: elapsed time",
    )
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the per-round shuffle")
    parser.add_argument(
        "--competitor",
        choices=("auto", "yes", "no"),
        default="auto",
        help="measure django-maintenance-mode too: auto = if .venv-bench-dmm exists, yes = create it if needed",
    )
    parser.add_argument(
        "--profile",
        metavar="VARIANT",
        help="instead of measuring, cProfile one batch of a variant (base, noop, off, on, read-only; with --target dmm:"
        " dmm-base, dmm-noop, dmm-off, dmm-on)",
    )
    args = parser.parse_args()
    if args.rounds < 4 or args.batch < 1 or args.passes < 1:
        parser.error("need at least 4 rounds, 1 pass and 1 request per batch")
    plan = Plan(rounds=args.rounds, passes=args.passes, batch=args.batch, seed=args.seed, clock=args.clock)
    if args.profile:
        if args.target == "dmm" and sys.prefix != str(DMM_VENV):
            parser.error(f"profile the competitor with {DMM_PYTHON}")
        print(run_target(args.target, plan, profile_key=args.profile))
        return 0

    if args.target == "dmm":
        result = run_target("dmm", plan)
        print(json.dumps(result))
        return 0

    results = [run_target("shield", plan)]
    if args.competitor == "yes":
        ensure_competitor_venv()
    if args.competitor != "no":
        if DMM_PYTHON.exists():
            results.append(run_competitor(plan))
        else:
            print(f"(competitor skipped: {DMM_VENV} missing; use --competitor yes)", file=sys.stderr)
    if args.json:
        print(json.dumps(results))
        return 0
    text = report(results)
    print(text)
    save_results("middleware", results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
