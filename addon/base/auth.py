"""API tokens and roles: ``Authorization: Bearer <token>``, only a SHA-256 of the token is stored."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .audit import Actor
from .db import utcnow
from .models import ApiToken

TOKEN_PREFIX = "irs_"


class Role(enum.IntEnum):
    """Ordered: each role may do everything the roles below it may."""

    FRONTEND = 1
    STAFF = 2
    ADMIN = 3

    @classmethod
    def parse(cls, value: str) -> "Role":
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r}; use one of: frontend, staff, admin") from None


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a person signed in (``kind`` "user") or an app token ("token")."""

    kind: str
    id: int  # the user's or the token's id
    name: str  # the person's name, or the token's name
    role: Role

    def may(self, needed: Role) -> bool:
        return self.role >= needed

    @property
    def label(self) -> str:
        """How history and the audit trail name them, e.g. "user:Anna Admin", "token:booking-site"."""
        return f"{self.kind}:{self.name}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(session: AsyncSession, name: str, role: Role, replace: bool = False) -> str:
    """Store a new token and return it; it is shown once and cannot be recovered."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name")
    if replace:
        await session.execute(
            update(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role.name.lower(), token_hash=hash_token(token)))
    await session.flush()
    return token


async def authenticate(session: AsyncSession, authorization_header: str | None) -> Principal | None:
    if not authorization_header:
        return None
    scheme, _, token = authorization_header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    row = (
        await session.execute(
            select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip()), ApiToken.revoked_at.is_(None))
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return Principal(kind="token", id=row.id, name=row.name, role=Role.parse(row.role))


def actor_of(principal: Principal | None, request=None) -> Actor:
    """The audit trail's name for the caller of a request (and where it came from)."""
    address = request.client.host if request is not None and request.client else None
    if principal is None:
        return Actor("anonymous", "anonymous", address=address)
    return Actor(principal.kind, principal.name, principal.id, address)
