"""A Wagtail site: its editors keep working during maintenance with no setting,
and ``maintenance_mode.contrib.wagtail`` switches it from the Wagtail admin.

The test site mounts the Wagtail admin at ``/cms/`` (a `wagtail start` site has
it at ``/admin/``: see test_wagtail_project.py for that whole site over HTTP).
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sessions.models import Session
from django.core.cache import BaseCache
from django.test import Client, override_settings

from maintenance_mode import state
from maintenance_mode.models import MaintenanceEvent, MaintenanceSettings
from tests.clients import logged_in

WITHOUT_WAGTAIL = [app for app in settings.INSTALLED_APPS if not app.startswith(("wagtail", "maintenance_mode.c"))]


def group(name: str, *permissions: str) -> Group:
    """A Wagtail group, as the Wagtail admin's "Groups" page makes one."""
    made = Group.objects.create(name=name)
    for permission in permissions:
        app_label, codename = permission.split(".")
        made.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return made


@pytest.fixture
def editor(db: None) -> User:
    """A Wagtail editor: may use the Wagtail admin, is not staff."""
    user = User.objects.create_user("editor", "editor@example.com", "editor-pass")
    user.groups.add(group("Editors", "wagtailadmin.access_admin"))
    return user


@pytest.fixture
def maintainer(db: None) -> User:
    """An editor who may also switch maintenance."""
    user = User.objects.create_user("maintainer", "maintainer@example.com", "pw")
    user.groups.add(group("Maintainers", "wagtailadmin.access_admin", "maintenance_mode.change_maintenancesettings"))
    return user


def test_wagtail_editor_sees_the_live_site_with_the_badge_during_maintenance(
    editor: User, maintenance: MaintenanceSettings
) -> None:
    client = logged_in(editor)
    response = client.get("/")
    assert response.status_code == 200
    assert b"maintenance-mode-indicator" in response.content
    assert Session.objects.count() == 1  # not logged out


def test_wagtail_editor_keeps_using_the_wagtail_admin_during_maintenance(
    editor: User, maintenance: MaintenanceSettings
) -> None:
    response = logged_in(editor).get("/cms/")
    assert response.status_code == 200
    assert b"maintenance-mode-indicator" in response.content


def test_user_without_wagtail_access_is_logged_out_during_maintenance(
    customer_client: Client, maintenance: MaintenanceSettings
) -> None:
    assert customer_client.get("/").status_code == 503
    assert not Session.objects.exists()


@override_settings(INSTALLED_APPS=WITHOUT_WAGTAIL, ROOT_URLCONF="tests.urls_without_admin")
def test_without_wagtail_the_wagtail_permission_makes_nobody_an_administrator(
    editor: User, maintenance: MaintenanceSettings
) -> None:
    assert logged_in(editor).get("/").status_code == 503


@override_settings(
    INSTALLED_APPS=WITHOUT_WAGTAIL,
    ROOT_URLCONF="tests.urls_without_wagtail",
    AUTHENTICATION_BACKENDS=["tests.backends.PermissionsIgnoringIsActiveBackend"],
)
def test_without_wagtail_a_deactivated_staff_account_is_no_administrator(
    staff_user: User, maintenance: MaintenanceSettings
) -> None:
    """The staff rule of a site without Wagtail refuses inactive accounts itself:
    this backend keeps them logged in."""
    client = logged_in(staff_user)
    assert client.get("/").status_code == 200
    User.objects.filter(pk=staff_user.pk).update(is_active=False)
    assert client.get("/").status_code == 503


@override_settings(MAINTENANCE_MODE_ADMIN_CHECK="superuser")
def test_an_explicit_admin_check_replaces_the_wagtail_rule(editor: User, maintenance: MaintenanceSettings) -> None:
    assert logged_in(editor).get("/").status_code == 503


def test_inactive_wagtail_editor_is_no_administrator(editor: User, maintenance: MaintenanceSettings) -> None:
    client = logged_in(editor)
    User.objects.filter(pk=editor.pk).update(is_active=False)
    assert client.get("/").status_code == 503


@pytest.mark.parametrize(
    "path",
    [
        "/cms/login/",
        "/cms/password_reset/",
        "/cms/password_reset/done/",
        "/cms/password_reset/complete/",
        "/cms/password_reset/confirm/MQ/set-password/",
        "/cms/jsi18n/",
        "/cms/sprite/",
    ],
)
def test_wagtail_login_and_password_reset_stay_reachable_during_maintenance(
    client: Client, maintenance: MaintenanceSettings, path: str
) -> None:
    assert client.get(path).status_code == 200


def test_wagtail_admin_home_sends_visitors_to_its_login_during_maintenance(
    client: Client, maintenance: MaintenanceSettings
) -> None:
    response = client.get("/cms/")
    assert response.status_code == 302
    assert response["Location"].startswith("/cms/login/")


def test_wagtail_editor_logs_in_through_the_wagtail_login_during_maintenance(
    editor: User, maintenance: MaintenanceSettings
) -> None:
    client = Client()
    response = client.post("/cms/login/", {"username": "editor", "password": "editor-pass"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wagtail_logout_stays_reachable_during_maintenance(editor: User, maintenance: MaintenanceSettings) -> None:
    client = logged_in(editor)
    assert client.post("/cms/logout/").status_code == 302
    assert client.get("/").status_code == 503


def test_other_wagtail_admin_pages_are_not_open_to_visitors(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/cms/pages/").status_code == 503
    assert client.get("/cms/maintenance/").status_code == 503


@override_settings(ROOT_URLCONF="tests.urls_wagtail_impostor")
def test_project_view_named_like_wagtails_login_is_not_exempt(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/impostor/login/").status_code == 503


@override_settings(MAINTENANCE_MODE_EXEMPT_ADMIN=False)
def test_wagtail_login_follows_exempt_admin(client: Client, maintenance: MaintenanceSettings) -> None:
    assert client.get("/cms/login/").status_code == 503


# maintenance_mode.contrib.wagtail


def test_badge_points_to_the_wagtail_admin_when_the_wagtail_app_is_installed(
    maintainer: User, maintenance: MaintenanceSettings
) -> None:
    content = logged_in(maintainer).get("/").content.decode()
    assert 'href="/cms/maintenance/"' in content


def test_wagtail_editor_who_may_not_change_the_settings_gets_the_badge_without_the_link(
    editor: User, maintenance: MaintenanceSettings
) -> None:
    content = logged_in(editor).get("/").content.decode()
    assert "Maintenance mode is on" in content
    assert "/cms/maintenance/" not in content  # the form would send them away


def test_wagtail_settings_menu_offers_maintenance_to_those_who_may_change_it(maintainer: User, editor: User) -> None:
    assert b'"name": "maintenance-mode"' in logged_in(maintainer).get("/cms/").content
    assert b'"name": "maintenance-mode"' not in logged_in(editor).get("/cms/").content


def test_wagtail_editor_without_the_change_permission_cannot_open_the_form(editor: User) -> None:
    response = logged_in(editor).get("/cms/maintenance/")
    assert response.status_code == 302
    assert not response["Location"].startswith("/cms/maintenance/")


def test_wagtail_form_shows_the_current_state_and_the_history(
    maintainer: User, maintenance: MaintenanceSettings
) -> None:
    maintenance.message = "Back at noon."
    maintenance.save(actor="alice", source=MaintenanceEvent.Source.COMMAND)
    content = logged_in(maintainer).get("/cms/maintenance/").content.decode()
    assert "Maintenance mode is ON" in content
    assert 'name="enabled"' in content
    assert "Back at noon." in content
    history = content[content.index('id="maintenance-history"') :]
    assert "alice" in history
    assert "Back at noon." in history


def test_maintainer_switches_maintenance_on_from_the_wagtail_admin(maintainer: User) -> None:
    client = logged_in(maintainer)
    response = client.post(
        "/cms/maintenance/", {"enabled": "on", "mode": "full", "message": "Upgrading the catalogue.", "button_text": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == "/cms/maintenance/"
    row = MaintenanceSettings.load()
    assert row.enabled
    assert row.message == "Upgrading the catalogue."
    assert state.store.current().enabled  # the writer's own snapshot is new at once
    event = MaintenanceEvent.objects.get()
    assert (event.source, event.actor) == (MaintenanceEvent.Source.ADMIN, "maintainer")
    assert "Upgrading the catalogue." in event.summary()
    assert "The maintenance settings were saved." in client.get("/cms/maintenance/").content.decode()
    assert Client().get("/").status_code == 503


def test_wagtail_form_refuses_what_the_django_admin_refuses(maintainer: User) -> None:
    response = logged_in(maintainer).post(
        "/cms/maintenance/",
        {"enabled": "on", "mode": "full", "allowed_ips": "not-an-address", "bypass_secret": "short"},
    )
    assert response.status_code == 200
    errors = re.findall(r'class="[^"]*error[^"]*"', response.content.decode())
    assert errors
    assert not MaintenanceSettings.load().enabled
    assert not MaintenanceEvent.objects.exists()


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_wagtail_form_warns_when_other_servers_may_not_see_the_change(maintainer: User, dead_cache: BaseCache) -> None:
    client = logged_in(maintainer)
    client.post("/cms/maintenance/", {"enabled": "on", "mode": "full"})
    assert MaintenanceSettings.load().enabled
    shown = [message.level_tag for message in client.get("/cms/maintenance/").context["messages"]]
    assert shown == ["success", "warning"]


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_wagtail_form_saves_quietly_when_the_change_propagates(maintainer: User) -> None:
    client = logged_in(maintainer)
    client.post("/cms/maintenance/", {"enabled": "on", "mode": "full"})
    shown = [message.level_tag for message in client.get("/cms/maintenance/").context["messages"]]
    assert shown == ["success"]


@override_settings(MAINTENANCE_MODE_FORCE=False)
def test_wagtail_form_says_when_force_overrides_it(maintainer: User) -> None:
    content = logged_in(maintainer).get("/cms/maintenance/").content.decode()
    assert "MAINTENANCE_MODE_FORCE" in content
    assert "Maintenance mode is off" in content


def test_wagtail_form_shows_a_scheduled_window(maintainer: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    row = MaintenanceSettings.load()
    row.enabled = True
    row.starts_at = timezone.now() + timedelta(days=1)
    row.save()
    assert "Maintenance is scheduled." in logged_in(maintainer).get("/cms/maintenance/").content.decode()


def test_wagtail_groups_editor_offers_the_maintenance_permission(db: None) -> None:
    from wagtail import hooks

    offered = [permission for hook in hooks.get_hooks("register_permissions") for permission in hook()]
    assert any(permission.codename == "change_maintenancesettings" for permission in offered)
