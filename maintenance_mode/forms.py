from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms

from maintenance_mode.models import EDITABLE_FIELDS, MaintenanceSettings

if TYPE_CHECKING:
    ModelForm = forms.ModelForm[MaintenanceSettings]
else:  # the generic form exists only for the type checker
    ModelForm = forms.ModelForm


class MaintenanceSettingsForm(ModelForm):
    """The one validation of the settings: the admin and the command both use it."""

    class Meta:
        model = MaintenanceSettings
        fields = EDITABLE_FIELDS
        widgets = {
            "mode": forms.RadioSelect,
            "message": forms.Textarea(attrs={"rows": 4}),
            "allowed_ips": forms.Textarea(attrs={"rows": 3, "placeholder": "203.0.113.7\n10.0.0.0/8"}),
            "bypass_secret": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }

    def clean_allowed_ips(self) -> str:
        # Normalised to one entry per line so the admin shows what is in force.
        from maintenance_mode import validators

        text: str = self.cleaned_data["allowed_ips"]
        return "\n".join(validators.split_ip_lines(text))
