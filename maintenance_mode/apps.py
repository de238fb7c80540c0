from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class MaintenanceModeConfig(AppConfig):
    name = "maintenance_mode"
    verbose_name = _("Maintenance mode")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from maintenance_mode import (
            checks,  # noqa: F401  (registers the checks)
            export,
            guard,
            models,
            signals,
            state,
        )

        state.on_refresh(models.announce_if_due)
        signals.maintenance_changed.connect(export.rerender_on_change, dispatch_uid="maintenance_mode.export")
        connection_created.connect(guard.install_on_new_connection, dispatch_uid="maintenance_mode.guard")

        setting_changed.connect(_settings_changed, dispatch_uid="maintenance_mode.settings_changed")


def _settings_changed(**kwargs: Any) -> None:
    """Forget everything derived from settings, so ``override_settings`` works."""
    from maintenance_mode import conf, guard, middleware, page, rules, state

    conf.clear_cache()
    guard.clear_caches()
    rules.rules.cache_clear()
    middleware._resolves_to_exempt_view.cache_clear()
    page.clear_caches()
    state.store.reset()
