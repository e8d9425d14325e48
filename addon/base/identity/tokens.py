"""API tokens for apps and scripts: issue (with an owner and an optional expiry), list, revoke.

A token is answered once, when it is made; only its SHA-256 is stored, and lists never show it.
Its owner is a person (the token stops working while they are disabled, and its role cannot be
above theirs) or a named app. Every change is recorded in the audit trail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.db import id_in_range
from ..core.errors import Problem, ValidationFailed
from ..core.i18n import N_, Message
from ..core.principal import Role
from ..kit.basics import clean_text
from .audit import record
from .auth import create_token, hash_token
from .models import ApiToken, User

TOKEN_ROLES = ("frontend", "staff", "admin")
NAME_MAX = 100
ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"
_DURATION = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.I)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}

TOKEN_NAME_LABEL = N_("Token name")
APP_NAME_LABEL = N_("App name")


@dataclass(frozen=True)
class Issued:
    token: str  # the secret, to be shown once
    row: ApiToken


def parse_expiry(text: str, now: datetime) -> datetime:
    """``90d``, ``12h``, ``2w`` from ``now``, or a date (``2026-12-31``, the end of that day in UTC)."""
    match = _DURATION.match(text or "")
    if match:
        amount = int(match.group(1))
        if amount < 1:
            raise ValueError("an expiry must lie in the future")
        return now + timedelta(**{_UNITS[match.group(2).lower()]: amount})
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an expiry: use e.g. 90d, 12h, 2w or a date such as 2030-12-31") from None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.utc)


def state(row: ApiToken, now: datetime) -> str:
    if row.revoked_at is not None:
        return REVOKED
    if row.expires_at is not None and now >= row.expires_at:
        return EXPIRED
    return ACTIVE


def owner_label(row: ApiToken, owner: User | None) -> str:
    """``user:<e-mail>`` or ``app:<name>``, as lists and the audit trail show the owner."""
    if row.owner_user_id is not None:
        return f"user:{owner.email if owner else row.owner_user_id}"
    return f"app:{row.owner_app or row.name}"


async def issue_token(session: AsyncSession, *, name: str, role: str, now: datetime, owner: User | None = None,
                      owner_app: str | None = None, expires_at: datetime | None = None,
                      replace: bool = False) -> Issued:
    """A new token (refused, nothing stored, when an input is wrong). ``replace`` revokes the
    earlier tokens of the same name first."""
    problems: list[Problem] = []
    name = clean_text(name, "name", Message(TOKEN_NAME_LABEL), NAME_MAX, problems=problems)
    role = (role or "").strip().lower()
    if role not in TOKEN_ROLES:
        problems.append(Problem("INVALID", "A token's role is frontend, staff or admin, not {role!r}.", "role",
                                {"role": role[:40]}))
    owner_app = clean_text(owner_app, "ownerApp", Message(APP_NAME_LABEL), NAME_MAX, required=False,
                           problems=problems)
    if owner is not None and owner_app:
        problems.append(Problem("INVALID", "A token belongs to a user or to an app, not to both.", "ownerApp"))
    if owner is not None and not owner.active:
        problems.append(Problem("INVALID", "{email} is disabled and cannot own a token.", "ownerUserId",
                                {"email": owner.email}))
    elif owner is not None and role in TOKEN_ROLES and Role.parse(role) > Role.parse(owner.role):
        problems.append(Problem("ROLE_ABOVE_OWNER", "A token of {email} can have the role {owner_role} at most.",
                                "role", {"email": owner.email, "owner_role": owner.role}))
    if expires_at is not None and expires_at.tzinfo is None:
        problems.append(Problem("INVALID", "The expiry needs a time zone, e.g. 2030-12-31T00:00:00Z.", "expiresAt"))
    elif expires_at is not None and expires_at <= now:
        problems.append(Problem("INVALID", "The expiry must lie in the future.", "expiresAt"))
    if problems:
        raise ValidationFailed(*problems)
    if replace:
        earlier = (await session.execute(
            select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))).scalars().all()
        for row in earlier:
            await _revoke(session, row, now)
    token = await create_token(session, name, Role.parse(role), owner_user_id=owner.id if owner else None,
                               owner_app=owner_app, expires_at=expires_at)
    row = (await session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))).scalar_one()
    await record(session, "token.create", "token", row.id, {
        "name": [None, row.name], "role": [None, row.role], "owner": [None, owner_label(row, owner)],
        "expires_at": [None, row.expires_at.isoformat() if row.expires_at else None]})
    return Issued(token, row)


async def _revoke(session: AsyncSession, row: ApiToken, now: datetime) -> None:
    row.revoked_at = now
    await session.flush()
    await record(session, "token.revoke", "token", row.id, {"revoked_at": [None, now.isoformat()]})


async def revoke_token(session: AsyncSession, token_id: int, now: datetime) -> tuple[ApiToken, bool]:
    """Revoke the token with ``token_id``; whether it was still in force (revoking twice is harmless)."""
    row = await session.get(ApiToken, token_id, with_for_update=True) if id_in_range(token_id) else None
    if row is None:
        raise ValidationFailed.one("NOT_FOUND", "There is no token with the id {id}.", "id", id=token_id)
    if row.revoked_at is not None:
        return row, False
    await _revoke(session, row, now)
    return row, True


async def list_tokens(session: AsyncSession, include_revoked: bool = True) -> list[tuple[ApiToken, User | None]]:
    query = select(ApiToken, User).outerjoin(User, User.id == ApiToken.owner_user_id).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return [(row, owner) for row, owner in (await session.execute(query)).all()]
