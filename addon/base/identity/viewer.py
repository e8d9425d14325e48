"""GraphQL part of the host: who am I, and the enums every part of the API shares."""

from __future__ import annotations

import enum
from typing import Optional

import strawberry
from strawberry.types import Info

from ..core.principal import Role
from ..kit.permissions import IsFrontend
from .models import User

# The roles, ordered: each may do everything the roles below it may.
RoleType = strawberry.enum(Role, name="Role", description=(
    "FRONTEND (apps: read bookings and objects), STAFF (+ make and change bookings, repair access), ADMIN "
    "(+ configuration, users, tokens, the audit trail)."))


@strawberry.enum(name="ViewerKind", description="USER: a person signed in; TOKEN: an API token.")
class ViewerKind(enum.Enum):
    USER = "user"
    TOKEN = "token"


@strawberry.type(description="The caller: a person signed in with the session cookie, or an API token.")
class Viewer:
    kind: ViewerKind
    name: str = strawberry.field(description="The person's name, or the token's name.")
    role: RoleType
    email: Optional[str] = strawberry.field(description="The person's e-mail address; null for a token.")


@strawberry.type
class BaseQuery:
    @strawberry.field(permission_classes=[IsFrontend], description="Who is making this request.")
    async def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        email = None
        if principal.kind == "user":
            user = await info.context.session.get(User, principal.id)
            email = user.email if user is not None else None
        return Viewer(kind=ViewerKind(principal.kind), name=principal.name, role=principal.role, email=email)
