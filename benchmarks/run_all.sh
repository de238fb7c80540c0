#!/usr/bin/env bash
# Every benchmark, from the repository root: bash benchmarks/run_all.sh
# (about 6-7 minutes; creates .venv-bench-dmm on the first run).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
timeout 600 "$PYTHON" benchmarks/bench_middleware.py --competitor yes
timeout 600 "$PYTHON" benchmarks/bench_asgi.py
timeout 300 "$PYTHON" benchmarks/load.py
