"""The Salto KS backend's own table: an integration's Authentication tab and the state of its IQ
OTP setup (the policy, mapping and grants belong to ``door_access``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from addon.base.public import UTCDateTime, utcnow


class SaltoKsCredentials(SQLModel, table=True):
    __tablename__ = "salto_ks_credentials"

    integration_id: int = Field(
        sa_column=Column(Integer, ForeignKey("door_integration.id", ondelete="CASCADE"), primary_key=True,
                         autoincrement=False)
    )
    environment: str = Field(sa_column=Column(String(20), nullable=False))  # acceptance or production
    site_uid: str = Field(sa_column=Column(String(64), nullable=False))
    # Filled by "Resolve site ID" from the Site UID; cleared when the Site UID or Environment changes.
    site_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    site_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    site_time_zone: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    site_resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    username: str = Field(sa_column=Column(String(200), nullable=False))
    password_encrypted: str = Field(sa_column=Column(Text, nullable=False), repr=False)
    # The IQ OTP setup: the IQ id, its PIN as we know it (from GET PIN, then Set PIN) and its OTP
    # secret, both encrypted and never answered; activated once Set PIN succeeded.
    iq_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    iq_pin_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True), repr=False)
    iq_secret_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True), repr=False)
    iq_pin_fetched_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    iq_activated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
