"""The Resivo backend's own table: an integration's Authentication tab (the connector pattern's
"backend" record; the policy, mapping and grants belong to ``door_access``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from addon.base.public import UTCDateTime, utcnow

PRODUCTION_BASE_URL = "https://api.resivo.io"


class ResivoCredentials(SQLModel, table=True):
    __tablename__ = "resivo_credentials"

    integration_id: int = Field(
        sa_column=Column(Integer, ForeignKey("door_integration.id", ondelete="CASCADE"), primary_key=True,
                         autoincrement=False)
    )
    site_owner_id: str = Field(sa_column=Column(String(100), nullable=False))
    client_id: str = Field(sa_column=Column(String(200), nullable=False))
    client_secret_encrypted: str = Field(sa_column=Column(Text, nullable=False), repr=False)
    site_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    target_mobile_app_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    base_url: str = Field(default=PRODUCTION_BASE_URL, sa_column=Column(String(300), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
