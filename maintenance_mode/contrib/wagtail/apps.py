from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MaintenanceModeWagtailConfig(AppConfig):
    name = "maintenance_mode.contrib.wagtail"
    label = "maintenance_mode_wagtail"
    verbose_name = _("Maintenance mode for Wagtail")
