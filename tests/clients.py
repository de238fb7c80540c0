"""Test clients with a user already logged in (a real session in the session store)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import AsyncClient, Client


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def alogged_in(user: User) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(user)
    return client
