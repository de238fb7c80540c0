"""One rule for "are we in CI?": there, suites that need real parts must run, not skip."""

from __future__ import annotations

import os


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
