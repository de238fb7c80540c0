"""The built distributions the packaging tests look at: the ones
``python3 dev.py test`` built and ``twine check``-ed (``MAINTENANCE_TEST_DIST``),
or, in a focused run, built here from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


def built_dist(workdir: Path) -> Dist:
    given = os.environ.get("MAINTENANCE_TEST_DIST")
    if given:
        directory = Path(given)
    else:
        directory = workdir / "dist"
        subprocess.run(
            [sys.executable, "-m", "build", "--quiet", "--outdir", str(directory), str(ROOT)], check=True, timeout=600
        )
    (wheel,) = directory.glob("*.whl")
    (sdist,) = directory.glob("*.tar.gz")
    return Dist(wheel, sdist)
