from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from maintenance_mode import state
from maintenance_mode.models import MaintenanceSettings


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    """Each test starts from "never read" and leaves nothing behind in memory."""
    state.store.reset()
    yield
    state.store.reset()


@pytest.fixture
def maintenance(db: None) -> MaintenanceSettings:
    """Maintenance switched on, as an administrator would."""
    row = MaintenanceSettings.load()
    row.enabled = True
    row.save()
    return row


@pytest.fixture
def staff_user(db: None) -> User:
    return User.objects.create_user("admin", "admin@example.com", "pw", is_staff=True, is_superuser=True)


@pytest.fixture
def customer(db: None) -> User:
    return User.objects.create_user("customer", "customer@example.com", "pw")


@pytest.fixture
def staff_client(staff_user: User) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def customer_client(customer: User) -> Client:
    client = Client()
    client.force_login(customer)
    return client
