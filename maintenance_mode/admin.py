from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db import router, transaction
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext_lazy as _

from maintenance_mode import bypass, state
from maintenance_mode.conf import conf
from maintenance_mode.forms import MaintenanceSettingsForm
from maintenance_mode.models import MaintenanceEvent, MaintenanceSettings
from maintenance_mode.snapshot import Snapshot

if TYPE_CHECKING:
    SettingsAdmin = admin.ModelAdmin[MaintenanceSettings]
    EventAdmin = admin.ModelAdmin[MaintenanceEvent]
else:  # the generic admin exists only for the type checker
    SettingsAdmin = EventAdmin = admin.ModelAdmin


@admin.register(MaintenanceSettings)
class MaintenanceSettingsAdmin(SettingsAdmin):
    """The one row: no list, no add, no delete; "Enable maintenance" and its mode come first."""

    form = MaintenanceSettingsForm
    change_form_template = "admin/maintenance_mode/maintenancesettings/change_form.html"
    fieldsets = (
        (None, {"fields": ("enabled", "mode")}),
        (
            _("Schedule"),
            {
                "fields": ("starts_at", "ends_at"),
                "description": _("Both optional, in the site’s time zone. Leave empty to start now and end by hand."),
            },
        ),
        (_("What visitors see"), {"fields": ("message", "image_url", "icon", "button_text", "bypass_url")}),
        (_("Who still gets in"), {"fields": ("allowed_ips", "bypass_secret")}),
    )
    save_on_top = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: MaintenanceSettings | None = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: MaintenanceSettings | None = None) -> Any:
        """View-only users get every field read-only: the secret's is masked."""
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [_masked(field) for field in options["fields"]]})
            for name, options in fieldsets
        ]

    @admin.display(description=_("bypass secret"))
    def masked_bypass_secret(self, obj: MaintenanceSettings) -> str:
        return "••••••" if obj.bypass_secret else "—"  # set or not, as the history shows it

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # Django's own 403
        row = MaintenanceSettings.load()
        return HttpResponseRedirect(reverse("admin:maintenance_mode_maintenancesettings_change", args=[row.pk]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if self.has_view_or_change_permission(request):
            row = MaintenanceSettings.load()
            snapshot = Snapshot.from_instance(row)
            # The secret is a credential: only those who may change it see it.
            may_change = self.has_change_permission(request, row)
            extra_context = {
                **(extra_context or {}),
                "maintenance_snapshot": snapshot,
                "maintenance_state": snapshot.phase(time.time()),
                "maintenance_read_only": row.mode == MaintenanceSettings.Mode.READ_ONLY,
                "maintenance_forced": conf.FORCE,
                "bypass_link": request.build_absolute_uri(get_script_prefix() + row.bypass_secret)
                if row.bypass_secret and may_change
                else "",
                "suggested_secret": bypass.new_secret() if may_change else "",
                "history_url": reverse("admin:maintenance_mode_maintenanceevent_changelist"),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: MaintenanceSettings, form: ModelForm[Any], change: bool) -> None:
        obj.save(actor=request.user.get_username(), source=MaintenanceEvent.Source.ADMIN)
        version = obj.version
        # After the commit, and after the publication the save queued before it.
        transaction.on_commit(
            lambda: _warn_if_not_propagated(request, version), using=router.db_for_write(MaintenanceSettings)
        )

    def response_change(self, request: HttpRequest, obj: MaintenanceSettings) -> HttpResponse:
        # Stay on the form: the singleton has no list to go back to.
        response = super().response_change(request, obj)
        if "_continue" not in request.POST and "_saveasnew" not in request.POST:
            return HttpResponseRedirect(request.path)
        return response


def _masked(field: Any) -> Any:
    return "masked_bypass_secret" if field == "bypass_secret" else field


def _warn_if_not_propagated(request: HttpRequest, version: int) -> None:
    warning = state.store.propagation_warning(version)
    if warning:
        messages.warning(request, warning)


@admin.register(MaintenanceEvent)
class MaintenanceEventAdmin(EventAdmin):
    """The history: read-only, newest first."""

    list_display = ("created_at", "source", "actor", "summary")
    list_filter = ("source",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "source", "actor", "summary")
    fields = readonly_fields

    @admin.display(description=_("changes"))
    def summary(self, obj: MaintenanceEvent) -> str:
        return obj.summary()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
