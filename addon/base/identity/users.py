"""People who sign in: create, list, disable or enable, set a password. Used by the CLI and by
the admins' GraphQL; every change is recorded in the audit trail in its own transaction."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.db import utcnow
from ..core.errors import Problem, ValidationFailed
from ..core.i18n import N_, Message
from ..kit.basics import clean_text, control_character_problem
from . import sessions
from .audit import CHANGED, record
from .models import User
from .passwords import generate_password, hash_password, password_problems

USER_ROLES = ("admin", "staff")
EMAIL_MAX = 254
NAME_MAX = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

DEMO_EMAIL = "admin@example.com"
DEMO_NAME = "Demo Admin"

NAME_LABEL = N_("Name")
EMAIL_LABEL = N_("E-mail")


def normalize_email(value: str | None) -> str:
    """The form e-mail addresses are stored and compared in: trimmed, lower case."""
    return (value or "").strip().lower()


def _email(value: str | None, problems: list[Problem]) -> str:
    email = normalize_email(value)
    if not email:
        problems.append(Problem("REQUIRED", "An e-mail address is required.", "email"))
    elif len(email) > EMAIL_MAX:
        problems.append(Problem("TOO_LONG", "{label} is longer than {max_length} characters.", "email",
                                {"label": Message(EMAIL_LABEL), "max_length": EMAIL_MAX}))
    elif problem := control_character_problem(email, "email", Message(EMAIL_LABEL)):
        problems.append(problem)
    elif not _EMAIL.match(email):
        problems.append(Problem("INVALID", "{email!r} is not an e-mail address.", "email", {"email": email[:80]}))
    return email


def _role(value: str | None, problems: list[Problem]) -> str:
    role = (value or "").strip().lower()
    if role not in USER_ROLES:
        problems.append(Problem("INVALID", "A user's role is admin or staff, not {role!r}.", "role",
                                {"role": (value or "")[:40]}))
    return role


async def find_by_email(session: AsyncSession, email: str | None) -> User | None:
    email = normalize_email(email)
    if not email:
        return None
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def get_user(session: AsyncSession, user_id: int | None) -> User | None:
    return await session.get(User, user_id) if user_id is not None else None


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User).order_by(User.email))).scalars())


async def create_user(session: AsyncSession, *, email: str, name: str, role: str, password: str) -> User:
    """A new, active user; refused (nothing stored) when an input is wrong or the e-mail is taken."""
    problems: list[Problem] = []
    email = _email(email, problems)
    name = clean_text(name, "name", Message(NAME_LABEL), NAME_MAX, problems=problems)
    role = _role(role, problems)
    problems += password_problems(password, email=email, name=name)
    if problems:
        raise ValidationFailed(*problems)
    if await find_by_email(session, email) is not None:
        raise ValidationFailed.one("TAKEN", "There is already a user with the e-mail address {email}.", "email",
                                   email=email)
    user = User(email=email, name=name, role=role, active=True, password_hash=await hash_password(password))
    session.add(user)
    await session.flush()
    await record(session, "user.create", "user", user.id,
                 {"email": [None, email], "name": [None, name], "role": [None, role], "active": [None, True]})
    return user


async def set_active(session: AsyncSession, user: User, active: bool) -> User:
    """Disable (signed out everywhere at once, their tokens stop working) or enable again."""
    if user.active == active:
        return user
    user.active = active
    user.updated_at = utcnow()
    if not active:
        await sessions.end_all_of(session, user.id)
    await session.flush()
    await record(session, "user.enable" if active else "user.disable", "user", user.id,
                 {"active": [not active, active]})
    return user


async def set_password(session: AsyncSession, user: User, password: str) -> User:
    """A new password; every session of the person ends (they sign in again with it)."""
    problems = password_problems(password, email=user.email, name=user.name)
    if problems:
        raise ValidationFailed(*problems)
    user.password_hash = await hash_password(password)
    user.updated_at = utcnow()
    await sessions.end_all_of(session, user.id)
    await session.flush()
    await record(session, "user.password", "user", user.id, {"password": [CHANGED, CHANGED]})
    return user


async def active_admins(session: AsyncSession) -> int:
    return (await session.execute(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True)))).scalar_one()


async def ensure_demo_admin(session: AsyncSession) -> tuple[User, str | None]:
    """The demo admin of ``make run``: created once with a generated password, which is returned
    that one time (``None`` when the user already exists; only the hash is stored)."""
    user = await find_by_email(session, DEMO_EMAIL)
    if user is not None:
        return user, None
    password = generate_password()
    user = await create_user(session, email=DEMO_EMAIL, name=DEMO_NAME, role="admin", password=password)
    return user, password
