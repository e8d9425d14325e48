"""Door access tables: the integration policy (one row per integration, whatever its lock vendor),
door mappings by name, one access grant per booking × integration (desired versus actual state)
and the log of every call made to a lock vendor."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from addon.base.public import UTCDateTime, utcnow


class GrantState(enum.StrEnum):
    """Where the lock vendor is. The one vocabulary of a grant's state: stored, compared and
    answered over GraphQL as these names."""

    PENDING = "PENDING"  # access wanted, not (yet) at the vendor; due for a (re)try
    ACTIVE = "ACTIVE"  # a live access set gives the wanted doors and window
    FAILED = "FAILED"  # a permanent problem: needs a configuration or booking change, then a retry
    REVOKING = "REVOKING"  # revocation wanted, not (yet) confirmed by the vendor
    REVOKED = "REVOKED"  # no live access set (revoked, or never made)


class Desired(enum.StrEnum):
    """What the booking asks for."""

    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


def _integration_fk() -> Column:
    return Column(Integer, ForeignKey("door_integration.id", ondelete="CASCADE"), nullable=False, index=True)


class DoorIntegration(SQLModel, table=True):
    """An integration's policy: when access is granted and revoked, and how. Its credentials
    belong to its backend (the lock vendor's addon), in a table of that addon."""

    __tablename__ = "door_integration"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    backend: str = Field(sa_column=Column(String(40), nullable=False))
    active: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    trigger_statuses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    revoke_statuses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    time_before_minutes: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    authorization_id_field: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    default_language: str = Field(default="en", sa_column=Column(String(8), nullable=False, default="en"))
    # Archived: inactive for good, hidden from new configuration, kept (with its grants and log) for history.
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class DoorMapping(SQLModel, table=True):
    """Object → door names; names resolve to the vendor's ids when access is made."""

    __tablename__ = "door_mapping"
    __table_args__ = (UniqueConstraint("integration_id", "object_id", name="uq_door_mapping"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(sa_column=_integration_fk())
    object_id: int = Field(
        sa_column=Column(Integer, ForeignKey("booking_object.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    door_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class AccessCallLog(SQLModel, table=True):
    """One call to a lock vendor: what, for whom, how it went. Never a secret or token."""

    __tablename__ = "door_call_log"
    __table_args__ = (Index("ix_door_call_log_integration_id_id", "integration_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("door_integration.id", ondelete="CASCADE"), nullable=True)
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


class AccessGrant(SQLModel, table=True):
    """Door access of one booking through one integration: desired versus actual state.

    ``desired`` is what the booking's status asks for; ``state`` is where the lock vendor is.
    A grant is due while ``next_attempt_at`` is set; a worker leases it (``claimed_until``) so
    two workers never act on it at once.
    """

    __tablename__ = "door_access_grant"
    __table_args__ = (
        UniqueConstraint("booking_id", "integration_id", name="uq_door_access_grant"),
        Index("ix_door_access_grant_due", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(
        sa_column=Column(Integer, ForeignKey("booking_booking.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    integration_id: int = Field(sa_column=_integration_fk())
    desired: Desired = Field(sa_column=Column(String(10), nullable=False))
    state: GrantState = Field(sa_column=Column(String(10), nullable=False))
    # Bumped on every new intent; a reconcile that saw an older one leaves the grant due.
    intent_version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    # Bumped for every replacement set, so each set has its own external reference.
    generation: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    # The vendor's id of the live access set (also kept in the integration's booking field).
    authorization_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    # A set replaced by a newer one that still has to be revoked.
    superseded_authorization_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    # Where at the vendor the set lives (a site, a property ...): needed to read or revoke it.
    location_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    doors: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    valid_from: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    valid_to: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # The generation whose create may have reached the vendor without its answer reaching us:
    # recorded (with location_id) before the create is sent, cleared once its set is known.
    # While it is set, a retry or a revoke first looks the set up by its external reference.
    create_sent_generation: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error_i18n: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # What is worth a look although access was given (offline doors, names that no longer
    # resolve ...): message templates, shown in each reader's language.
    warnings: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # When the vendor last confirmed the set gives the wanted access (a reconcile or a sweep).
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # Audit of a manual revoke (revokeBookingAccess), which ignores the booking's status.
    revoke_requested_by: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    revoke_requested_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class SweepRun(SQLModel, table=True):
    """One round of the drift sweep over an integration's active grants, and what it found."""

    __tablename__ = "door_sweep_run"
    __table_args__ = (Index("ix_door_sweep_run_integration_id_id", "integration_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(sa_column=Column(Integer, ForeignKey("door_integration.id", ondelete="CASCADE"),
                                                 nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    checked: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    drifted: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))  # queued for repair
    errors: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))  # could not be checked
