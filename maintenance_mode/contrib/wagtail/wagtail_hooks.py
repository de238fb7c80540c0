"""Wagtail's hooks (Wagtail imports this module itself): the URL, the settings
menu entry and the permission in Wagtail's group editor."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from maintenance_mode.contrib.wagtail import views


@hooks.register("register_admin_urls")
def register_admin_urls() -> list[URLPattern]:
    # Under the Wagtail admin, which already requires wagtailadmin.access_admin.
    return [path("maintenance/", views.MaintenanceSettingsView.as_view(), name=views.URL_NAME)]


class MaintenanceMenuItem(MenuItem):
    def is_shown(self, request: HttpRequest) -> bool:
        return views.may_change(request.user)


@hooks.register("register_settings_menu_item")
def register_menu_item() -> MenuItem:
    return MaintenanceMenuItem(
        _("Maintenance mode"), reverse(views.URL_NAME), name="maintenance-mode", icon_name="cogs", order=900
    )


@hooks.register("register_permissions")
def register_permissions() -> QuerySet[Permission]:
    """Lets "Groups" in the Wagtail admin grant the switch to editors."""
    return Permission.objects.filter(content_type__app_label="maintenance_mode", codename="change_maintenancesettings")
