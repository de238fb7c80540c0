"""The admin: one row, no add/delete, toggling, validation, history."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from maintenance_mode.models import MaintenanceEvent, MaintenanceSettings

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/maintenance_mode/maintenancesettings/"
CHANGE = "/admin/maintenance_mode/maintenancesettings/1/change/"


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "mode": "full",
        "message": "",
        "image_url": "",
        "icon": "",
        "button_text": "",
        "bypass_url": "",
        "allowed_ips": "",
        "bypass_secret": "",
        "starts_at_0": "",
        "starts_at_1": "",
        "ends_at_0": "",
        "ends_at_1": "",
    }
    data.update(overrides)
    return data


def staff_with(*codenames: str) -> Client:
    user = User.objects.create_user("editor", password="pw", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def test_changelist_goes_straight_to_the_one_row(staff_client: Client) -> None:
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"] == CHANGE
    assert MaintenanceSettings.objects.count() == 1


def test_change_form_puts_the_switch_first_and_shows_the_state(staff_client: Client) -> None:
    content = staff_client.get(CHANGE).content.decode()
    assert content.index('name="enabled"') < content.index('name="message"')
    assert "Maintenance mode is off: the site is live." in content
    assert "A random secret you could use" in content


def test_mode_sits_right_under_the_switch(staff_client: Client) -> None:
    content = staff_client.get(CHANGE).content.decode()
    assert content.index('name="enabled"') < content.index('name="mode"') < content.index('name="starts_at_0"')
    assert 'type="radio" name="mode" value="full"' in content
    assert 'value="read-only"' in content


def test_switching_on_read_only_in_the_admin_is_saved_shown_and_recorded(staff_client: Client) -> None:
    response = staff_client.post(CHANGE, form_data(enabled="on", mode="read-only"))
    assert response.status_code == 302
    row = MaintenanceSettings.load()
    assert row.enabled
    assert row.mode == MaintenanceSettings.Mode.READ_ONLY
    content = staff_client.get(CHANGE).content.decode()
    assert "Read-only maintenance is ON" in content
    event = MaintenanceEvent.objects.first()
    assert event is not None
    assert event.changes["mode"] == ["full", "read-only"]
    history = staff_client.get("/admin/maintenance_mode/maintenanceevent/").content.decode()
    assert "mode: full → read-only" in history


def test_unknown_mode_is_refused_and_changes_nothing(staff_client: Client) -> None:
    response = staff_client.post(CHANGE, form_data(enabled="on", mode="half"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    row = MaintenanceSettings.load()
    assert not row.enabled
    assert row.mode == MaintenanceSettings.Mode.FULL


def test_change_form_works_before_the_row_exists(staff_client: Client) -> None:
    assert staff_client.get(CHANGE).status_code == 200


def test_no_add_and_no_delete(staff_client: Client) -> None:
    staff_client.get(CHANGELIST)
    assert staff_client.get(CHANGELIST + "add/").status_code == 403
    assert staff_client.get(CHANGELIST + "1/delete/").status_code == 403


def test_ticking_enable_switches_maintenance_on_and_records_who(staff_client: Client, client: Client) -> None:
    response = staff_client.post(CHANGE, form_data(enabled="on", message="Back soon"))
    assert response.status_code == 302
    assert response["Location"] == CHANGE  # stays on the form: there is no list
    row = MaintenanceSettings.load()
    assert row.enabled
    assert row.message == "Back soon"
    event = MaintenanceEvent.objects.get()
    assert (event.actor, event.source) == ("admin", "admin")
    assert client.get("/").status_code == 503


def test_save_and_continue_keeps_django_behaviour(staff_client: Client) -> None:
    response = staff_client.post(CHANGE, form_data(enabled="on", _continue="1"))
    assert response.status_code == 302
    assert response["Location"] == CHANGE


def test_state_banner_says_on_with_the_bypass_link(staff_client: Client) -> None:
    staff_client.post(CHANGE, form_data(enabled="on", bypass_secret="preview-token-123"))
    content = staff_client.get(CHANGE).content.decode()
    assert "Maintenance mode is ON" in content
    assert "http://testserver/preview-token-123" in content


def test_state_banner_says_scheduled_for_a_future_window(staff_client: Client) -> None:
    staff_client.post(
        CHANGE,
        form_data(
            enabled="on", starts_at_0="2100-01-01", starts_at_1="10:00", ends_at_0="2100-01-01", ends_at_1="12:00"
        ),
    )
    assert "Maintenance is scheduled." in staff_client.get(CHANGE).content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image_url", "javascript:alert(1)"),
        ("bypass_url", "data:text/html,hi"),
        ("icon", "fa<script>"),
        ("allowed_ips", "10.0.0.1\n300.1.1.1"),
        ("bypass_secret", "short"),
    ],
)
def test_invalid_input_is_refused_and_changes_nothing(staff_client: Client, field: str, value: str) -> None:
    response = staff_client.post(CHANGE, form_data(enabled="on", **{field: value}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert not MaintenanceSettings.load().enabled
    assert not MaintenanceEvent.objects.exists()


def test_end_before_start_is_refused(staff_client: Client) -> None:
    response = staff_client.post(
        CHANGE,
        form_data(
            enabled="on", starts_at_0="2100-01-02", starts_at_1="10:00", ends_at_0="2100-01-01", ends_at_1="10:00"
        ),
    )
    assert response.context["adminform"].form.errors["ends_at"]


@pytest.mark.parametrize(
    ("field", "time_zone", "day", "time"),
    [
        ("starts_at", "Europe/Paris", "0001-01-01", "00:05"),  # before the year 1 in UTC
        ("ends_at", "America/New_York", "9999-12-31", "23:59"),  # in the year 10000 in UTC
    ],
)
def test_a_time_whose_utc_is_outside_the_calendar_is_a_form_error_not_a_500(
    staff_client: Client, settings: Any, field: str, time_zone: str, day: str, time: str
) -> None:
    settings.TIME_ZONE = time_zone
    response = staff_client.post(CHANGE, form_data(enabled="on", **{f"{field}_0": day, f"{field}_1": time}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == ["Pick a time between the years 1 and 9999 in UTC."]
    assert not MaintenanceSettings.load().enabled


def test_allowed_ips_are_normalised_one_per_line(staff_client: Client) -> None:
    staff_client.post(CHANGE, form_data(allowed_ips="10.0.0.1, 10.0.0.2 # office"))
    assert MaintenanceSettings.load().allowed_ips == "10.0.0.1\n10.0.0.2"


def test_user_without_change_permission_cannot_toggle(db: None) -> None:
    client = staff_with("view_maintenancesettings")
    assert client.get(CHANGELIST).status_code == 302
    assert client.get(CHANGE).status_code == 200
    response = client.post(CHANGE, form_data(enabled="on"))
    assert response.status_code == 403
    assert not MaintenanceSettings.load().enabled


def test_user_without_any_permission_is_refused(db: None) -> None:
    client = staff_with()
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(CHANGE).status_code == 403


def test_history_is_read_only_and_newest_first(staff_client: Client) -> None:
    staff_client.post(CHANGE, form_data(enabled="on", message="one"))
    staff_client.post(CHANGE, form_data(enabled="", message="a much longer message " * 5))
    response = staff_client.get("/admin/maintenance_mode/maintenanceevent/")
    content = response.content.decode()
    assert content.index("enable maintenance: True → False") < content.index("enable maintenance: False → True")
    assert "…" in content  # long values are shortened
    assert staff_client.get("/admin/maintenance_mode/maintenanceevent/add/").status_code == 403
    event = MaintenanceEvent.objects.first()
    assert event is not None
    detail = staff_client.get(f"/admin/maintenance_mode/maintenanceevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert b'name="actor"' not in detail.content  # read-only
    assert staff_client.post(f"/admin/maintenance_mode/maintenanceevent/{event.pk}/delete/").status_code == 403


def test_history_shows_cleared_values_as_a_dash(staff_client: Client) -> None:
    staff_client.post(CHANGE, form_data(message="x"))
    staff_client.post(CHANGE, form_data(message=""))
    assert "message: x → —" in staff_client.get("/admin/maintenance_mode/maintenanceevent/").content.decode()


def test_change_form_warns_when_force_overrides_it(staff_client: Client, settings: Any) -> None:
    settings.MAINTENANCE_MODE_FORCE = True
    content = staff_client.get(CHANGE).content.decode()
    assert "Maintenance mode is ON" in content
    assert "MAINTENANCE_MODE_FORCE in the settings overrides this form" in content


@pytest.mark.django_db(transaction=True)  # the warning follows the real commit of the admin's transaction
def test_admin_warns_when_other_servers_may_not_see_the_change(staff_client: Client, dead_cache: object) -> None:
    response = staff_client.post(CHANGE, form_data(enabled="on"), follow=True)
    assert "other servers may keep the previous state" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_admin_save_without_a_shared_cache_warns_nothing(staff_client: Client) -> None:
    response = staff_client.post(CHANGE, form_data(enabled="on"), follow=True)
    assert "other servers may keep" not in response.content.decode()
