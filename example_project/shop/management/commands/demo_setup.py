"""Creates the demo accounts (idempotent) and prints how to use them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

ACCOUNTS = (
    ("admin", "admin-demo-pass", True),
    ("customer", "customer-demo-pass", False),
)


class Command(BaseCommand):
    help = "Create the example site's demo administrator and ordinary user."

    def handle(self, *args: Any, **options: Any) -> None:
        for username, password, is_admin in ACCOUNTS:
            user, _created = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = is_admin
            user.set_password(password)
            user.save()
        self.stdout.write(
            "\nExample shop ready at http://127.0.0.1:8000/\n"
            "  administrator: admin / admin-demo-pass    (http://127.0.0.1:8000/admin/)\n"
            "  customer:      customer / customer-demo-pass (http://127.0.0.1:8000/login/)\n"
            "Toggle maintenance in the admin (Maintenance mode > Maintenance settings) or with\n"
            "  cd example_project && ../.venv/bin/python manage.py maintenance on --for 30m --with-secret\n"
        )
