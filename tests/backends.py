"""Authentication backends that leave ``is_active`` to others, as some projects' do."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import AllowAllUsersModelBackend


class PermissionsIgnoringIsActiveBackend(AllowAllUsersModelBackend):
    """Keeps inactive users logged in (like ``AllowAllUsersModelBackend``) and answers
    ``has_perm`` from the user's own permission rows without looking at ``is_active``
    (as single sign-on backends that copy rights from another system may)."""

    def has_perm(self, user_obj: Any, perm: str, obj: object = None) -> bool:
        app_label, codename = perm.split(".", 1)
        return bool(user_obj.user_permissions.filter(content_type__app_label=app_label, codename=codename).exists())
