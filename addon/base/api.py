"""GraphQL part of the host: who am I."""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.types import Info

from .models import User
from .permissions import IsFrontend


@strawberry.type(description="The caller: a person signed in with the session cookie, or an API token.")
class Viewer:
    kind: str = strawberry.field(description="user (a person signed in) or token (an API token).")
    name: str = strawberry.field(description="The person's name, or the token's name.")
    role: str
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
        return Viewer(kind=principal.kind, name=principal.name, role=principal.role.name.lower(), email=email)
