#!/usr/bin/env python
"""``benchmarks/benchsite/manage.py``: Django's manage.py for the load-run site."""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/, where ``benchsite`` lives
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
