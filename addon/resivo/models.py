"""Resivo integration tables: the configuration (a connector "backend"), door mappings,
one access grant per booking × integration (the binding to Resivo's authorization set),
and the log of every call made to Resivo."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from addon.base.db import UTCDateTime, utcnow

PRODUCTION_BASE_URL = "https://api.resivo.io"


class ResivoIntegration(SQLModel, table=True):
    __tablename__ = "resivo_integration"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    active: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    # Authentication tab
    site_owner_id: str = Field(sa_column=Column(String(100), nullable=False))
    client_id: str = Field(sa_column=Column(String(200), nullable=False))
    client_secret_encrypted: str = Field(sa_column=Column(Text, nullable=False), repr=False)
    site_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    target_mobile_app_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    base_url: str = Field(default=PRODUCTION_BASE_URL, sa_column=Column(String(300), nullable=False))
    # Details tab
    trigger_statuses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    revoke_statuses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    time_before_minutes: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    authorization_id_field: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    default_language: str = Field(default="en", sa_column=Column(String(8), nullable=False, default="en"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class ResivoDoorMapping(SQLModel, table=True):
    """Object → door display names; names resolve to ids at every trigger."""

    __tablename__ = "resivo_door_mapping"
    __table_args__ = (UniqueConstraint("integration_id", "object_id", name="uq_resivo_door_mapping"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(
        sa_column=Column(Integer, ForeignKey("resivo_integration.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    object_id: int = Field(
        sa_column=Column(Integer, ForeignKey("booking_object.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    component_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class ResivoCallLog(SQLModel, table=True):
    """One HTTP call to Resivo: what, for whom, how it went. Never a secret or token."""

    __tablename__ = "resivo_call_log"
    __table_args__ = (Index("ix_resivo_call_log_integration_id_id", "integration_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("resivo_integration.id", ondelete="CASCADE"), nullable=True)
    )
    booking_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("booking_booking.id", ondelete="SET NULL"), nullable=True, index=True)
    )
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    operation: str = Field(sa_column=Column(String(40), nullable=False))
    method: str = Field(sa_column=Column(String(10), nullable=False))
    path: str = Field(sa_column=Column(String(500), nullable=False))
    http_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    duration_ms: int = Field(sa_column=Column(Integer, nullable=False))
    outcome: str = Field(sa_column=Column(String(20), nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


DESIRED_ACTIVE = "active"
DESIRED_REVOKED = "revoked"


class GrantState:
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    REVOKING = "REVOKING"
    REVOKED = "REVOKED"


class ResivoAccessGrant(SQLModel, table=True):
    """Door access of one booking through one integration: desired versus actual state.

    ``desired`` is what the booking's status asks for ("active"/"revoked"); ``state`` is
    where Resivo is. A grant is due while ``next_attempt_at`` is set; the worker leases it
    (``claimed_until``) so two workers never act on it at once.
    """

    __tablename__ = "resivo_access_grant"
    __table_args__ = (
        UniqueConstraint("booking_id", "integration_id", name="uq_resivo_access_grant"),
        Index("ix_resivo_access_grant_due", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(
        sa_column=Column(Integer, ForeignKey("booking_booking.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    integration_id: int = Field(
        sa_column=Column(Integer, ForeignKey("resivo_integration.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    desired: str = Field(sa_column=Column(String(10), nullable=False))
    state: str = Field(sa_column=Column(String(10), nullable=False))
    # Bumped on every new intent; a reconcile that saw an older one leaves the grant due.
    intent_version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    # Bumped for every replacement set, so each set has its own external reference.
    generation: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    authorization_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    # A set replaced by a newer one that still has to be revoked.
    superseded_authorization_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    site_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    doors: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    valid_from: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    valid_to: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error_i18n: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # Audit of a manual revoke (revokeBookingAccess), which ignores the booking's status.
    revoke_requested_by: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    revoke_requested_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
