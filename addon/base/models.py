"""Tables of the host itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from .db import UTCDateTime, utcnow


class ApiToken(SQLModel, table=True):
    """An API client's credential; only a hash of the token is kept."""

    __tablename__ = "base_api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), nullable=False, index=True))
    role: str = Field(sa_column=Column(String(20), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
