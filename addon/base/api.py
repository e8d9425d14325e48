"""GraphQL part of the host: who am I."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from .permissions import IsFrontend


@strawberry.type(description="The caller, as identified by its API token.")
class Viewer:
    name: str
    role: str


@strawberry.type
class BaseQuery:
    @strawberry.field(permission_classes=[IsFrontend], description="The API token making this request.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        return Viewer(name=principal.name, role=principal.role.name.lower())
