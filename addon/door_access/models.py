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
    # The backend's access model (backend.AccessModel), kept with the integration: a backend never changes.
    access_model: str = Field(default="ISSUES_CREDENTIAL", sa_column=Column(String(20), nullable=False,
                                                                            default="ISSUES_CREDENTIAL"))
    active: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    trigger_statuses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    revoke_statuses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    time_before_minutes: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    authorization_id_field: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # A backend that opens on request: the booking field the first opening's time is written to,
    # and the status that opening moves the booking to (check-in).
    open_action_field: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    checkin_status: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    default_language: str = Field(default="en", sa_column=Column(String(8), nullable=False, default="en"))
    # Archived: inactive for good, hidden from new configuration, kept (with its grants and log) for history.
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # What archiving chose for live access (archiving.LiveAccess): kept until each window ends, or revoked.
    archived_live_access: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
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
    # The generation of the last external reference journaled for a create (0: none yet): every
    # create is sent under a reference of its own.
    generation: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    # The vendor's id of the live access set (also kept in the integration's booking field): the
    # set of the grant's CURRENT record in the journal (``AccessSetRecord``).
    authorization_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    # Where at the vendor the current set lives (a site, a property ...).
    location_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    doors: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    valid_from: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    valid_to: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
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


class SetStatus(enum.StrEnum):
    """What the engine knows of one access set it asked a lock vendor for."""

    SENDING = "SENDING"  # a create may have been sent; its answer was never heard (unresolved)
    CURRENT = "CURRENT"  # the grant's live set: the access the booking has
    LIVE = "LIVE"  # exists at the vendor but is not wanted (replaced, or found after a lost answer): to revoke
    GONE = "GONE"  # revoked (by us or behind our back) or expired
    NEVER = "NEVER"  # a look-up proved the create was never carried out


# A record in one of these states still asks something of the engine: the grant is not at rest.
UNRESOLVED = (SetStatus.SENDING, SetStatus.LIVE)


class Resolution(enum.StrEnum):
    """How a record came to rest (health and metrics count these)."""

    CREATED = "CREATED"  # the create's answer arrived
    ADOPTED = "ADOPTED"  # a set whose create answer was lost, found by its reference and kept
    ORPHAN_REVOKED = "ORPHAN_REVOKED"  # a set whose create answer was lost, found and revoked (not wanted)
    REPLACED = "REPLACED"  # revoked after a newer set took its place
    REVOKED = "REVOKED"  # revoked because the booking is no longer entitled
    VANISHED = "VANISHED"  # found revoked or expired at the vendor
    NEVER_MADE = "NEVER_MADE"  # the vendor provably never made it


class AccessSetRecord(SQLModel, table=True):
    """The journal: one row per access set the engine ever asked a lock vendor for, written *before*
    the create is sent, so that no set can exist at the vendor that the engine does not know of.
    A grant is at rest only when none of its records is unresolved (``UNRESOLVED``)."""

    __tablename__ = "door_access_set"
    __table_args__ = (
        Index("ix_door_access_set_grant_status", "grant_id", "status"),
        Index("ix_door_access_set_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(sa_column=Column(Integer, ForeignKey("door_access_grant.id", ondelete="CASCADE"),
                                           nullable=False))
    # Our idempotency key (``plan.external_reference``); null for a set entered by hand in the booking field.
    reference: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    generation: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    location_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    set_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    status: SetStatus = Field(sa_column=Column(String(10), nullable=False))
    resolution: Resolution | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    # When the create was sent, and the sender's deadline for its answer: until then a look-up that
    # finds nothing proves nothing (the vendor may still be carrying the create out).
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    answer_by: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Where the vendor sends the guest's link and in which language, as sent with the create
    # ([{"email", "phone_number"}]; personal data: an erasure scrubs both).
    recipients: list[dict] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # When the record last changed because of what the vendor answered.
    observed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


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
    # Grants found at rest with an unresolved journal record, queued so the reconcile resolves it.
    unresolved: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))


class WorkerHeartbeat(SQLModel, table=True):
    """One access worker (an ``ireserve worker`` process, or a ``serve`` process running the worker
    inside) and when it last went round: what says, across processes and machines, whether any
    worker is at work. A worker that stops removes its row; one that died leaves it behind."""

    __tablename__ = "door_worker"

    worker_id: str = Field(sa_column=Column(String(64), primary_key=True))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_round_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
