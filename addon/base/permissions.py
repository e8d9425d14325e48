"""Role checks for GraphQL fields: UNAUTHENTICATED without a valid token, FORBIDDEN below the role."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from .auth import Role
from .errors import CodedError


def _requiring(role: Role) -> type[BasePermission]:
    class _Requires(BasePermission):
        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            principal = info.context.principal
            if principal is None:
                raise CodedError(
                    "Authentication required: send the header 'Authorization: Bearer <token>'.", "UNAUTHENTICATED"
                )
            if not principal.may(role):
                raise CodedError("This needs the {role} role.", "FORBIDDEN", role=role.name.lower())
            return True

    _Requires.__name__ = f"Requires{role.name.title()}"
    return _Requires


IsFrontend = _requiring(Role.FRONTEND)
IsStaff = _requiring(Role.STAFF)
IsAdmin = _requiring(Role.ADMIN)
