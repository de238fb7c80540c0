#!/usr/bin/env python
"""Cost of the maintenance middleware per request under ASGI, as a ratio to the same stack without it.

Run from the repository root with the project's virtualenv::

    .venv/bin/python benchmarks/bench_asgi.py

The ASGI twin of ``bench_middleware.py``, measured the same way: in one process it
builds several ``ASGIHandler`` objects that differ only in ``settings.MIDDLEWARE``
and drives each, in one event loop, with the same prepared scope (an anonymous
browser GET of ``/``, a minimal *async* view). Variants run batch by batch in a
shuffled order each round, the garbage collector off inside a batch; every
variant's time is divided by the bare stack's time from the same round, and the
median of those ratios is the result. The default clock is the *process's* CPU
time: under ASGI, Django runs the request signals and ``response.close()`` in
asgiref's worker thread, and a middleware that hops to a thread spends its time
there too, so this thread's CPU time alone would miss work.

django-maintenance-mode is sync-only (an ASGI server would run it in a thread
for every request): it has no row here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import math
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_middleware as wsgi_bench
from bench_middleware import BASE_MIDDLEWARE, HOST, MIDDLEWARE_PATH, Plan, Target, Variant

PASS_THROUGH = "benchsite.middleware.AsyncPassThroughMiddleware"

# ``/`` is the async twin of the WSGI benchmark's view.
EXTRA_SETTINGS: dict[str, Any] = {
    "ROOT_URLCONF": "benchsite.urls_asgi",
    # Far longer than a run: no snapshot refresh inside a timed batch.
    "MAINTENANCE_MODE_STATE_TTL": 24 * 3600.0,
}

# The WSGI benchmark's request, as an ASGI scope: the same headers, no cookie.
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "root_path": "",
    "headers": [
        (key.removeprefix("HTTP_").lower().replace("_", "-").encode("latin1"), str(value).encode("latin1"))
        for key, value in wsgi_bench.ENVIRON.items()
        if key.startswith("HTTP_")
    ],
    "client": ("203.0.113.7", 51234),
    "server": (HOST, 80),
}
REQUEST_MESSAGE: dict[str, Any] = {"type": "http.request", "body": b"", "more_body": False}

# "cpu": every thread of this process (the event loop and asgiref's worker thread).
CLOCKS: dict[str, Callable[[], int]] = {"cpu": time.process_time_ns, "wall": time.perf_counter_ns}

ASGIApp = Callable[[dict[str, Any], Callable[[], Any], Callable[[dict[str, Any]], Any]], Any]


def asgi_target() -> Target:
    stack = [*BASE_MIDDLEWARE, MIDDLEWARE_PATH]
    return Target(
        name="shield",
        title="django-maintenance-shield (this project), ASGI",
        extra_settings=EXTRA_SETTINGS,
        variants=[
            Variant("base", "(a) base stack, no maintenance middleware", BASE_MIDDLEWARE, None, 200),
            Variant("noop", "(b) base + empty pass-through middleware", [*BASE_MIDDLEWARE, PASS_THROUGH], None, 200),
            Variant("off", "(c) base + maintenance-shield, maintenance OFF", stack, False, 200),
            Variant("on", "(d) base + maintenance-shield, maintenance ON (anonymous, HTML)", stack, True, 503),
            wsgi_bench.read_only_variant(stack),
            # Not a bar: what any 503 costs under ASGI, where Django hands every response >= 400
            # to a thread for log_response() (even one marked as logged); (d) pays that hop too.
            Variant(
                "base503",
                "(f) base stack, the view answers a 503 itself (reference, not a bar)",
                BASE_MIDDLEWARE,
                None,
                503,
                path="/unavailable/",
            ),
        ],
        setup=wsgi_bench.shield_setup,
    )


def build_handlers(target: Target) -> None:
    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler

    for variant in target.variants:
        settings.MIDDLEWARE = variant.middleware  # the chain is loaded by the constructor
        variant.app = ASGIHandler()
    settings.MIDDLEWARE = BASE_MIDDLEWARE


def receiver() -> Callable[[], Any]:
    """A client that sends an empty body, then stays connected (Django listens for a
    disconnect while the view runs, and cancels that wait once the response is sent)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return REQUEST_MESSAGE
        await asyncio.get_running_loop().create_future()  # never resolved: cancelled by Django
        raise AssertionError("unreachable")

    return receive


async def _send(message: dict[str, Any]) -> None:
    pass


def scope(variant: Variant) -> dict[str, Any]:
    if variant.path == SCOPE["path"]:
        return SCOPE
    return {**SCOPE, "path": variant.path, "raw_path": variant.path.encode()}


async def run_batch(app: ASGIApp, count: int, scope: dict[str, Any] = SCOPE) -> None:
    """The timed loop: the same for every variant."""
    for _ in range(count):
        await app(scope.copy(), receiver(), _send)


def check(loop: asyncio.AbstractEventLoop, target: Target, variant: Variant, *, set_state: bool = True) -> int:
    """One untimed request: the status must be the expected one; returns the body size."""
    if set_state and variant.maintenance is not None:
        target.set_state(variant.maintenance)
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    loop.run_until_complete(variant.app(scope(variant).copy(), receiver(), send))
    status = messages[0]["status"]
    body = b"".join(message.get("body", b"") for message in messages[1:])
    if status != variant.expected_status:
        raise SystemExit(f"{variant.key}: expected HTTP {variant.expected_status}, got {status}: {body[:300]!r}")
    return len(body)


class QueryCounter:
    """Every SQL statement in any thread (the async path's database work happens in
    asgiref's worker thread, whose connection is not the event loop thread's)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.current = ""

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.counts[self.current] = self.counts.get(self.current, 0) + 1
        return execute(sql, params, many, context)

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        from asgiref.sync import sync_to_async
        from django.db import connection
        from django.db.backends.signals import connection_created

        def hook(connection: Any = connection, **kwargs: Any) -> None:
            if self not in connection.execute_wrappers:
                connection.execute_wrappers.append(self)

        hook()  # this thread's connection
        loop.run_until_complete(sync_to_async(hook)())  # the worker thread's
        connection_created.connect(hook, weak=False)  # any other thread's, when it connects


def call_overhead(
    loop: asyncio.AbstractEventLoop, target: Target, number: int = 20000, repeat: int = 7
) -> dict[str, float]:
    """Nanoseconds one call of the *last* middleware takes on its own, awaited in the
    event loop with an async no-op as the next layer: the best of ``repeat`` timings.
    ``on`` includes building the 503 (and, if the middleware hops, the hop)."""
    from django.core.handlers.asgi import ASGIRequest
    from django.http import HttpResponse
    from django.utils.module_loading import import_string

    response = HttpResponse(b"")

    async def next_layer(request: Any) -> HttpResponse:
        return response

    async def calls(middleware: Callable[[Any], Any], request: Any) -> int:
        started = time.perf_counter_ns()
        for _ in range(number):
            await middleware(request)
        return time.perf_counter_ns() - started

    result: dict[str, float] = {}
    for variant in target.variants:
        if variant.middleware == BASE_MIDDLEWARE:
            continue
        if variant.maintenance is not None:
            target.set_state(variant.maintenance)
        request = ASGIRequest(SCOPE.copy(), io.BytesIO(b""))
        middleware = import_string(variant.middleware[-1])(next_layer)
        best = min(loop.run_until_complete(calls(middleware, request)) for _ in range(repeat))
        result[variant.key] = best / number
    return result


def measure(loop: asyncio.AbstractEventLoop, target: Target, plan: Plan) -> dict[str, Any]:
    rounds, passes, batch, seed = plan.rounds, plan.passes, plan.batch, plan.seed
    clock = CLOCKS[plan.clock]
    variants = target.variants
    body_sizes = {variant.key: check(loop, target, variant) for variant in variants}
    # Warm-up, untimed: first-request work (URL resolver, templates, page cache), the worker thread.
    for variant in variants:
        if variant.maintenance is not None:
            target.set_state(variant.maintenance)
        loop.run_until_complete(run_batch(variant.app, max(batch // 2, 1), scope(variant)))

    rng = random.Random(seed)
    times: dict[str, list[float]] = {variant.key: [] for variant in variants}
    queries = QueryCounter()
    queries.install(loop)
    for _round in range(rounds):
        best: dict[str, float] = {}
        for _pass in range(passes):
            order = variants[:]
            rng.shuffle(order)
            for variant in order:
                if variant.maintenance is not None:
                    target.set_state(variant.maintenance)  # outside the timed region
                queries.current = variant.key
                gc.collect()
                gc.disable()
                started = clock()
                loop.run_until_complete(run_batch(variant.app, batch, scope(variant)))
                elapsed = clock() - started
                gc.enable()
                queries.current = ""
                check(loop, target, variant, set_state=False)  # untimed: the state held for the whole batch
                best[variant.key] = min(best.get(variant.key, math.inf), elapsed / batch / 1000)
        for key, value in best.items():
            times[key].append(value)

    base_key = variants[0].key
    rows = [
        wsgi_bench.summary_row(
            variant,
            times[variant.key],
            times[base_key],
            seed,
            queries_per_request=queries.counts.get(variant.key, 0) / (rounds * passes * batch),
            body_bytes=body_sizes[variant.key],
        )
        for variant in variants
    ]
    import django

    return {
        "target": "shield-asgi",
        "title": target.title,
        "describe": target.describe(),
        "rounds": rounds,
        "passes": passes,
        "clock": plan.clock,
        "batch": batch,
        "python": platform.python_version(),
        "django": django.get_version(),
        "rows": rows,
        "untimed_queries": queries.counts.get("", 0),
        "call_overhead_ns": call_overhead(loop, target),
    }


def profile(loop: asyncio.AbstractEventLoop, target: Target, key: str, batch: int, limit: int = 30) -> str:
    """cProfile of one warmed-up batch of one variant (the event loop thread only)."""
    import cProfile
    import pstats

    variant = next((variant for variant in target.variants if variant.key == key), None)
    if variant is None:
        raise SystemExit(f"no variant {key!r}; choose from {[variant.key for variant in target.variants]}")
    check(loop, target, variant)
    if variant.maintenance is not None:
        target.set_state(variant.maintenance)
    loop.run_until_complete(run_batch(variant.app, batch, scope(variant)))  # warm-up
    profiler = cProfile.Profile()
    profiler.runcall(loop.run_until_complete, run_batch(variant.app, batch, scope(variant)))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def run(plan: Plan, profile_key: str | None = None) -> Any:
    with tempfile.TemporaryDirectory(prefix="bench-asgi-") as directory:
        tmp = Path(directory)
        target = asgi_target()
        wsgi_bench.configure_django(tmp, target)
        target.setup(target)
        build_handlers(target)
        loop = asyncio.new_event_loop()
        try:
            if profile_key is not None:
                return profile(loop, target, profile_key, plan.batch)
            return measure(loop, target, plan)
        finally:
            loop.close()


ISOLATED = (
    "The middleware's own call in isolation, awaited in the event loop (best of 7 × 20000 calls, next layer"
    " an async no-op; `on` includes building the 503):"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    parser.add_argument("--rounds", type=int, default=120, help="rounds; each runs one batch of every variant")
    parser.add_argument("--passes", type=int, default=1, help="passes per round; a round keeps each variant's fastest")
    parser.add_argument(
        "--batch", type=int, default=100, help="requests per batch (small: an ASGI request costs 20 WSGI ones)"
    )
    parser.add_argument(
        "--clock",
        choices=tuple(CLOCKS),
        default="cpu",
        help="cpu: CPU time of every thread of this process; wall: elapsed time",
    )
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the per-round shuffle")
    parser.add_argument(
        "--profile", metavar="VARIANT", help="instead of measuring, cProfile one batch (base, noop, off, on, base503)"
    )
    args = parser.parse_args()
    if args.rounds < 4 or args.batch < 1 or args.passes < 1:
        parser.error("need at least 4 rounds, 1 pass and 1 request per batch")
    plan = Plan(rounds=args.rounds, passes=args.passes, batch=args.batch, seed=args.seed, clock=args.clock)
    if args.profile:
        print(run(plan, profile_key=args.profile))
        return 0
    results = [run(plan)]
    if args.json:
        print(json.dumps(results))
        return 0
    text = wsgi_bench.report(results, title="ASGI middleware micro-benchmark", isolated=ISOLATED)
    rows = {row["key"]: row for row in results[0]["rows"]}
    text += (
        f"\n- (reference) ON costs {rows['on']['ratio_median'] / rows['base503']['ratio_median']:.3f} × a bare 503"
        " from the view (f), which pays Django's log_response() thread hop too"
    )
    print(text)
    wsgi_bench.save_results("asgi", results, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
