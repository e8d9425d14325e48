"""Role checks for GraphQL fields: UNAUTHENTICATED without a valid token, FORBIDDEN below the role.

Two kinds of check, one rule each:

* a root field (query or mutation) needs a role: below it the whole field is refused
  (:data:`IsFrontend`, :data:`IsStaff`, :data:`IsAdmin`);
* a field *inside* what the frontend role may read can still be private to staff (a customer's
  e-mail, who changed a status, an authorisation id, an internal error text): :class:`StaffOnlyField`
  answers it as ``null`` with a ``FORBIDDEN`` error at that field's path, and the rest of the
  query answers as usual. Such fields are nullable for that reason.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from ..core.errors import CodedError
from ..core.principal import Principal, Role

# Added to the description of every staff-only field, so the schema says it too.
STAFF_ONLY = "Staff and admins only: the frontend role gets null and a FORBIDDEN error for this field."


def require(principal: Principal | None, role: Role) -> None:
    """Raise the coded error for a caller below ``role``."""
    if principal is None:
        raise CodedError(
            "Authentication required: send the header 'Authorization: Bearer <token>'.", "UNAUTHENTICATED"
        )
    if not principal.may(role):
        raise CodedError("This needs the {role} role.", "FORBIDDEN", role=role.name.lower())


def _requiring(role: Role) -> type[BasePermission]:
    class _Requires(BasePermission):
        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            require(info.context.principal, role)
            return True

    _Requires.__name__ = f"Requires{role.name.title()}"
    return _Requires


IsFrontend = _requiring(Role.FRONTEND)
IsStaff = _requiring(Role.STAFF)
IsAdmin = _requiring(Role.ADMIN)


class StaffOnlyField(BasePermission):
    """A field the frontend role does not see: ``null`` plus a ``FORBIDDEN`` error (with the
    field's path) for a frontend caller; staff and admins read it. The field must be nullable.

    Per object: a source whose ``staff_only`` attribute is False opens the field to every role
    (a booking field value is private only when its field holds something private)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if getattr(source, "staff_only", True):
            require(info.context.principal, Role.STAFF)
        return True


def is_staff(info: Info) -> bool:
    """Whether the caller reads staff-only fields (so work to hide them can be skipped)."""
    principal = info.context.principal
    return principal is not None and principal.may(Role.STAFF)
