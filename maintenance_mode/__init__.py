"""django-maintenance-shield: maintenance mode from the Django admin or ``manage.py``."""

from __future__ import annotations

__version__ = "1.0.0"


def is_active() -> bool:
    """Whether maintenance is on right now; cheap (read from the process snapshot).

    For Celery tasks, cron jobs and management commands that should skip or wait.
    """
    from maintenance_mode import state

    return state.is_active()
