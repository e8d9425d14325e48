"""Tables of the host itself: API tokens, users, browser sessions and sign-in throttling."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..core.db import UTCDateTime, utcnow


class User(SQLModel, table=True):
    """A person who signs in. Only an argon2id hash of the password is kept."""

    __tablename__ = "base_user"

    id: int | None = Field(default=None, primary_key=True)
    # Stored lower-cased, so that uniqueness and sign-in ignore the case of the address.
    email: str = Field(sa_column=Column(String(254), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    role: str = Field(sa_column=Column(String(20), nullable=False))  # admin or staff
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False), repr=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    last_signin_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class ApiToken(SQLModel, table=True):
    """An API client's credential; only a hash of the token is kept."""

    __tablename__ = "base_api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), nullable=False, index=True))
    role: str = Field(sa_column=Column(String(20), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Its owner: a person (the token stops working when they are disabled) or a named app.
    owner_user_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("base_user.id"), nullable=True, index=True))
    owner_app: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Written at most once a minute per token (see auth.TOUCH_EVERY), not on every request.
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class UserSession(SQLModel, table=True):
    """A browser's sign-in. The session id lives only in the browser's cookie; here its SHA-256."""

    __tablename__ = "base_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("base_user.id", ondelete="CASCADE"), nullable=False, index=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))  # the absolute end
    # Written at most once a minute per session; the idle expiry counts from it.
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    address: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))  # signed in from


class SigninThrottle(SQLModel, table=True):
    """Recent failed sign-ins of one e-mail address (``kind`` "account") or one client address
    ("address"). Kept in the database, so that every process of a deployment counts alike."""

    __tablename__ = "base_signin_throttle"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_base_signin_throttle_kind_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    key: str = Field(sa_column=Column(String(254), nullable=False))
    failures: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    last_failure_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
