"""The Wagtail admin's maintenance form: the same row, the same form and the
same history as the Django admin's."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from maintenance_mode import page, state
from maintenance_mode.conf import conf
from maintenance_mode.forms import MaintenanceSettingsForm
from maintenance_mode.models import MaintenanceEvent, MaintenanceSettings
from maintenance_mode.snapshot import Snapshot

URL_NAME = page.WAGTAIL_URL_NAME
PERMISSION = page.CHANGE_PERMISSION


def may_change(user: Any) -> bool:
    return bool(user.has_perm(PERMISSION))


class MaintenanceSettingsView(WagtailAdminTemplateMixin, FormView):  # type: ignore[type-arg]
    template_name = "maintenance_mode_wagtail/edit.html"
    form_class = MaintenanceSettingsForm
    page_title = gettext_lazy("Maintenance mode")
    header_icon = "cogs"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not may_change(request.user):
            raise PermissionDenied  # Wagtail's admin turns it into its "no permission" redirect
        self.row = MaintenanceSettings.load()
        self.saved = Snapshot.from_instance(self.row)  # before the form writes its input onto the row
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = super().get_breadcrumbs_items()
        return [*items, {"url": "", "label": self.page_title}]

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": self.row}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "action_url": reverse(URL_NAME),
            "submit_button_label": _("Save"),
            "submit_button_active_label": _("Saving…"),
            "maintenance_state": self.saved.phase(time.time()),
            "maintenance_forced": conf.FORCE,
            "history": MaintenanceEvent.objects.order_by("-created_at")[:10],
        }

    def form_valid(self, form: MaintenanceSettingsForm) -> HttpResponse:
        row = form.save(commit=False)
        row.save(actor=self.request.user.get_username(), source=MaintenanceEvent.Source.ADMIN)
        version, request = row.version, self.request
        messages.success(request, _("The maintenance settings were saved."))
        # Like the Django admin: after the commit and the publication the save queued before it.
        transaction.on_commit(
            lambda: _warn_if_not_propagated(request, version), using=router.db_for_write(MaintenanceSettings)
        )
        return HttpResponseRedirect(reverse(URL_NAME))


def _warn_if_not_propagated(request: HttpRequest, version: int) -> None:
    warning = state.store.propagation_warning(version)
    if warning:
        messages.warning(request, warning)
