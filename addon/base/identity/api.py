"""GraphQL for admins: users (create, list, disable/enable, set a password) and API tokens
(create — answered once —, list without the token itself, revoke)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from ..core.db import id_in_range
from ..core.errors import UserError, ValidationFailed
from ..core.principal import Role
from ..kit.basics import global_id, parse_id
from ..kit.mutations import run_in_transaction
from ..kit.nodes import Node, NodeLoader, rows_loader
from ..kit.permissions import IsAdmin
from . import tokens, users
from .models import ApiToken, User
from .viewer import RoleType


def _role(value: str) -> Role:
    return Role.parse(value)


@strawberry.type(name="User", description="A person who signs in (admin console, GraphiQL).")
class UserType(Node):
    row_id: strawberry.Private[int]
    email: str
    name: str
    role: RoleType = strawberry.field(description="ADMIN or STAFF.")
    active: bool = strawberry.field(description="A disabled user cannot sign in, and their tokens do not work.")
    created_at: datetime
    updated_at: datetime
    last_signin_at: Optional[datetime]

    @classmethod
    def from_model(cls, row: User) -> "UserType":
        return cls(id=global_id("User", row.id), row_id=row.id, email=row.email, name=row.name, role=_role(row.role),
                   active=row.active,
                   created_at=row.created_at, updated_at=row.updated_at, last_signin_at=row.last_signin_at)


@strawberry.enum(name="ApiTokenState")
class ApiTokenState(enum.Enum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@strawberry.type(name="ApiToken",
                 description="An API token. The token itself is answered only once, by createApiToken.")
class ApiTokenType(Node):
    row_id: strawberry.Private[int]
    name: str
    role: RoleType
    state: ApiTokenState
    owner_user: Optional[UserType] = strawberry.field(description="The person it belongs to, if any.")
    owner_app: Optional[str] = strawberry.field(description="The app it belongs to, if not a person.")
    created_at: datetime
    expires_at: Optional[datetime]
    last_used_at: Optional[datetime] = strawberry.field(description="Updated at most once a minute.")
    revoked_at: Optional[datetime]

    @classmethod
    def from_model(cls, row: ApiToken, owner: User | None, now: datetime) -> "ApiTokenType":
        return cls(id=global_id("ApiToken", row.id), row_id=row.id, name=row.name, role=_role(row.role),
                   state=ApiTokenState(tokens.state(row, now)),
                   owner_user=UserType.from_model(owner) if owner is not None else None,
                   owner_app=row.owner_app if row.owner_user_id is None else None, created_at=row.created_at,
                   expires_at=row.expires_at, last_used_at=row.last_used_at, revoked_at=row.revoked_at)


@strawberry.input
class CreateUserInput:
    email: str
    name: str
    role: RoleType = strawberry.field(description="ADMIN or STAFF.")
    password: str = strawberry.field(description="At least 12 characters; stored only as an argon2id hash.")


@strawberry.input
class SetUserActiveInput:
    user_id: strawberry.ID
    active: bool


@strawberry.input
class SetUserPasswordInput:
    user_id: strawberry.ID
    password: str = strawberry.field(description="Ends every session of the user.")


@strawberry.input
class CreateApiTokenInput:
    name: str = strawberry.field(description="Who or what uses the token, e.g. booking-site.")
    role: RoleType
    owner_user_id: Optional[strawberry.ID] = strawberry.field(
        default=None, description="The person it belongs to; its role cannot be above theirs.")
    owner_app: Optional[str] = strawberry.field(
        default=None, description="The app it belongs to (default: the token's name), when not a person.")
    expires_at: Optional[datetime] = strawberry.field(default=None, description="No expiry when not given.")


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type
class UserPayload:
    user: Optional[UserType]
    errors: list[UserError]


@strawberry.type
class CreateApiTokenPayload:
    token: Optional[str] = strawberry.field(description="The token, shown this once; only its hash is stored.")
    api_token: Optional[ApiTokenType]
    errors: list[UserError]


@strawberry.type
class ApiTokenPayload:
    api_token: Optional[ApiTokenType]
    errors: list[UserError]


async def _user(session, value, field: str) -> User:
    ident = parse_id(value, field, "User")
    row = await session.get(User, ident) if id_in_range(ident) else None
    if row is None:
        raise ValidationFailed.one("NOT_FOUND", "There is no user with the id {id}.", field, id=value)
    return row


@strawberry.type
class IdentityQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="Everyone who can sign in, by e-mail address.")
    async def users(self, info: Info) -> list[UserType]:
        return [UserType.from_model(row) for row in await users.list_users(info.context.session)]

    @strawberry.field(permission_classes=[IsAdmin], description="API tokens (never the token itself), oldest first.")
    async def api_tokens(self, info: Info, include_revoked: bool = True) -> list[ApiTokenType]:
        ctx = info.context
        now = ctx.host.clock.now()
        return [ApiTokenType.from_model(row, owner, now)
                for row, owner in await tokens.list_tokens(ctx.session, include_revoked)]


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Add a person who can sign in.")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        row, errors = await run_in_transaction(info.context.session, lambda s: users.create_user(
            s, email=input.email, name=input.name, role=input.role.name.lower(), password=input.password))
        return UserPayload(user=row and UserType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Disable a user (signed out at once, their tokens stop working) or enable them again."))
    async def set_user_active(self, info: Info, input: SetUserActiveInput) -> UserPayload:
        principal = info.context.principal

        async def work(session):
            user = await _user(session, input.user_id, "userId")
            if not input.active and principal.kind == "user" and principal.id == user.id:
                raise ValidationFailed.one("INVALID", "You cannot disable your own account.", "userId")
            return await users.set_active(session, user, input.active)

        row, errors = await run_in_transaction(info.context.session, work)
        return UserPayload(user=row and UserType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Set a user's password (ends their sessions).")
    async def set_user_password(self, info: Info, input: SetUserPasswordInput) -> UserPayload:
        async def work(session):
            return await users.set_password(session, await _user(session, input.user_id, "userId"), input.password)

        row, errors = await run_in_transaction(info.context.session, work)
        return UserPayload(user=row and UserType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Make an API token; it is answered this once.")
    async def create_api_token(self, info: Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
        ctx = info.context
        now = ctx.host.clock.now()

        async def work(session):
            owner = await _user(session, input.owner_user_id, "ownerUserId") if input.owner_user_id else None
            issued = await tokens.issue_token(session, name=input.name, role=input.role.name.lower(), now=now,
                                              owner=owner,
                                              owner_app=input.owner_app, expires_at=input.expires_at)
            return issued, ApiTokenType.from_model(issued.row, owner, now)

        done, errors = await run_in_transaction(ctx.session, work)
        if errors:
            return CreateApiTokenPayload(token=None, api_token=None, errors=errors)
        issued, answer = done
        return CreateApiTokenPayload(token=issued.token, api_token=answer, errors=[])

    @strawberry.mutation(permission_classes=[IsAdmin], description="Revoke an API token; it stops working at once.")
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> ApiTokenPayload:
        ctx = info.context
        now = ctx.host.clock.now()

        async def work(session):
            row, _changed = await tokens.revoke_token(session, parse_id(input.id, "id", "ApiToken"), now)
            owner = await session.get(User, row.owner_user_id) if row.owner_user_id else None
            return ApiTokenType.from_model(row, owner, now)

        answer, errors = await run_in_transaction(ctx.session, work)
        return ApiTokenPayload(api_token=answer, errors=errors)


# -- node(id) ------------------------------------------------------------------------------------

async def _load_tokens(context, ids: list[int]) -> list[ApiTokenType | None]:
    now = context.host.clock.now()
    found = {row.id: (row, owner) for row, owner in (await context.session.execute(
        select(ApiToken, User).outerjoin(User, User.id == ApiToken.owner_user_id).where(ApiToken.id.in_(ids)))).all()}
    return [ApiTokenType.from_model(*found[i], now) if i in found else None for i in ids]


NODE_LOADERS = {
    "User": rows_loader(User, UserType.from_model, Role.ADMIN, audit_target="user"),
    "ApiToken": NodeLoader(_load_tokens, Role.ADMIN, ApiToken, audit_target="token"),
}
