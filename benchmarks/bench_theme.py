#!/usr/bin/env python
"""What a theme built on the project's ``base.html`` costs: the maintenance page
rendered for each request (with the project's context processors) against the
same theme rendered once per state, the default page, and the site's own pages.

Run from the repository root with the project's virtualenv::

    .venv/bin/python benchmarks/bench_theme.py              # ~1 minute
    .venv/bin/python benchmarks/bench_theme.py --rounds 100

It uses ``bench_middleware.py``'s machinery (WSGI handlers in one process, the
variants interleaved in shuffled batches, each ratio taken against the bare
stack of the same round). The theme, ``benchsite/templates/benchtheme/``,
extends the site's ``base.html`` (``{% url %}``, ``{% static %}``,
``{% translate %}``) and its context processor reads the ``django.contrib.sites``
row on every page: one query, as many projects' processors do.

Variants, all an anonymous browser GET:

(a) the bare stack serving a minimal page (the reference, as in bench_middleware.py);
(b) a pass-through middleware (the control: must read 1.00);
(c) maintenance ON, the default page (rendered once per state);
(d) maintenance ON, the theme, ``MAINTENANCE_MODE_RENDER_WITH_REQUEST = False`` (rendered once);
(e) maintenance ON, the theme, the default ``None``: rendered for each request;
(f) the bare stack serving a page of the themed site (same base template and processors).

Switching between (c), (d) and (e) changes two settings between batches, which
empties the page cache: the first request of a batch of (c) and (d) renders the
page again (one in ``--batch``, 1000 by default).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

import bench_middleware as wsgi_bench
from bench_middleware import BASE_MIDDLEWARE, MIDDLEWARE_PATH, PASS_THROUGH, Plan, Target, Variant

HERE = Path(__file__).resolve().parent
THEME_DIR = HERE / "benchsite" / "templates"
PROCESSOR = "benchsite.theme.site"
DEFAULT = "default page"
THEME_ONCE = "theme, once per state"
THEME_PER_REQUEST = "theme, per request"
# What each state sets: (MAINTENANCE_MODE_TEMPLATE, MAINTENANCE_MODE_RENDER_WITH_REQUEST).
CHOICES: dict[str, tuple[str, bool | None]] = {
    DEFAULT: ("maintenance_mode/maintenance.html", None),
    THEME_ONCE: ("benchtheme/maintenance_mode/maintenance.html", False),
    THEME_PER_REQUEST: ("benchtheme/maintenance_mode/maintenance.html", None),
}


def on_site_page(app: Any) -> Any:
    """The handler, asked for the site's templated page instead of the minimal one."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        environ["PATH_INFO"] = "/home/"  # run_batch() hands each request a fresh copy
        return app(environ, start_response)

    return wsgi


def theme_target() -> Target:
    stack = [*BASE_MIDDLEWARE, MIDDLEWARE_PATH]
    templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [THEME_DIR],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                    PROCESSOR,
                ]
            },
        }
    ]
    return Target(
        name="theme",
        title="django-maintenance-shield, theme rendering",
        extra_settings={
            "MAINTENANCE_MODE_STATE_TTL": 24 * 3600.0,
            "TEMPLATES": templates,
            "INSTALLED_APPS": [
                "django.contrib.admin",
                "django.contrib.auth",
                "django.contrib.contenttypes",
                "django.contrib.sessions",
                "django.contrib.messages",
                "django.contrib.sites",
                "maintenance_mode",
            ],
            "SITE_ID": 1,
        },
        variants=[
            Variant("base", "(a) base stack, minimal page", BASE_MIDDLEWARE, None, 200),
            Variant("noop", "(b) base + empty pass-through middleware", [*BASE_MIDDLEWARE, PASS_THROUGH], None, 200),
            Variant("on", "(c) maintenance ON, default page (once per state)", stack, DEFAULT, 503),
            Variant(
                "theme-once",
                "(d) maintenance ON, theme on base.html, RENDER_WITH_REQUEST=False",
                stack,
                THEME_ONCE,
                503,
            ),
            Variant(
                "theme-request",
                "(e) maintenance ON, theme on base.html, per request (default)",
                stack,
                THEME_PER_REQUEST,
                503,
            ),
            Variant(
                "site-page", "(f) base stack, a page of the themed site (same base.html)", BASE_MIDDLEWARE, None, 200
            ),
        ],
        setup=theme_setup,
    )


def theme_setup(target: Target) -> None:
    from django.conf import settings
    from django.core.signals import setting_changed

    from maintenance_mode import page, state
    from maintenance_mode.snapshot import Snapshot

    snapshot = Snapshot(enabled=True, version=1, message="We are upgrading the shop. Back at noon.")
    current: list[str] = []

    def set_state(choice: bool | str) -> None:
        assert isinstance(choice, str)
        if current != [choice]:
            template, with_request = CHOICES[choice]
            for name, value in (("TEMPLATE", template), ("RENDER_WITH_REQUEST", with_request)):
                setattr(settings, f"MAINTENANCE_MODE_{name}", value)
                setting_changed.send(None, setting=f"MAINTENANCE_MODE_{name}", value=value, enter=True)
            current[:] = [choice]
        state.store.reset()
        state.store.publish(snapshot)
        if page.renders_with_request() is not (choice == THEME_PER_REQUEST):
            raise SystemExit(f"{choice}: the page is not rendered the way this variant measures")

    def describe() -> str:
        import maintenance_mode

        return f"django-maintenance-shield from {Path(maintenance_mode.__file__).parent}"

    target.set_state = set_state
    target.describe = describe
    for variant in target.variants:
        if variant.key == "site-page":
            variant.app = None  # wrapped once the handlers exist (see run())


def run(plan: Plan) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-theme-") as directory:
        target = theme_target()
        wsgi_bench.configure_django(Path(directory), target)
        from django.contrib.sites.models import Site

        Site.objects.update_or_create(pk=1, defaults={"name": "Bean & Brew", "domain": "bean.example"})
        target.setup(target)
        wsgi_bench.build_handlers(target)
        for variant in target.variants:
            if variant.key == "site-page":
                variant.app = on_site_page(variant.app)
        # The isolated-call measurement of bench_middleware.py is about maintenance OFF: not here.
        wsgi_bench.call_overhead = _no_call_overhead
        return wsgi_bench.measure(target, plan)


def _no_call_overhead(target: Target, number: int = 0, repeat: int = 0) -> dict[str, float]:
    return {}


def verdicts(result: dict[str, Any]) -> list[str]:
    rows = {row["key"]: row for row in result["rows"]}

    def ratio(key: str) -> str:
        row = rows[key]
        return f"{row['ratio_median']:.3f} × (a) (95% CI {row['ratio_ci_low']:.3f}–{row['ratio_ci_high']:.3f})"

    noop = rows["noop"]["ratio_median"]
    lines = [
        f"- control `noop` reads {noop:.3f} (must be 1.00 ± {wsgi_bench.CONTROL_TOLERANCE:.2f})",
        f"- default page: {ratio('on')}; target ≤ {wsgi_bench.ON_BAR:.2f} ×:"
        f" {'MET' if rows['on']['ratio_median'] <= wsgi_bench.ON_BAR else 'MISSED'}",
        f"- theme rendered once per state: {ratio('theme-once')},"
        f" {rows['theme-once']['queries_per_request']:g} queries/request",
        f"- theme rendered per request: {ratio('theme-request')},"
        f" {rows['theme-request']['queries_per_request']:g} queries/request;"
        f" {rows['theme-request']['ratio_median'] / rows['site-page']['ratio_median']:.2f} × a page of the site (f)",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clock", choices=tuple(wsgi_bench.CLOCKS), default="cpu")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    if args.rounds < 4 or args.batch < 1 or args.passes < 1:
        parser.error("need at least 4 rounds, 1 pass and 1 request per batch")
    plan = Plan(rounds=args.rounds, passes=args.passes, batch=args.batch, seed=args.seed, clock=args.clock)
    result = run(plan)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [
            f"Theme rendering benchmark, {now}; Python {result['python']}, Django {result['django']};"
            f" {result['rounds']} rounds × {result['batch']} requests per variant; {result['clock']} time.",
            "",
            f"- {result['describe']}",
            "",
            wsgi_bench.table([result]),
            "",
            *verdicts(result),
        ]
    )
    print(text)
    wsgi_bench.save_results("theme", result, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
