"""A tiny Django project shared by the benchmarks (importable by both virtualenvs)."""
