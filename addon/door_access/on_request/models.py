"""Tables of the open-on-request model: the guest open links and every request to open a lock."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from addon.base.public import UTCDateTime, utcnow


class Delivery(enum.StrEnum):
    """How the link reached (or did not reach) the guest."""

    EMAILED = "EMAILED"  # sent by the product's own e-mail
    FOR_STAFF = "FOR_STAFF"  # no mail server configured: staff pass the link on
    FAILED = "FAILED"  # sending failed (``delivery_error`` says why): staff pass it on, or send a new one


class GuestLink(SQLModel, table=True):
    """A booking's open link: the guest's credential when the integration opens on request. The
    engine treats it as the set of the booking's grant (its id is the set's id, its reference the
    journal's), so it is issued, replaced and revoked like a vendor's set. The token itself is kept
    encrypted (staff may pass it on) and looked up by its hash."""

    __tablename__ = "door_guest_link"
    __table_args__ = (Index("ix_door_guest_link_reference", "reference"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(sa_column=Column(Integer, ForeignKey("booking_booking.id", ondelete="CASCADE"),
                                             nullable=False, index=True))
    integration_id: int = Field(sa_column=Column(Integer, ForeignKey("door_integration.id", ondelete="CASCADE"),
                                                 nullable=False))
    reference: str = Field(sa_column=Column(String(100), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    token_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    door_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    valid_from: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    valid_to: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    locale: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # Whom the link was sent to (personal data: an erasure clears it) and how that went.
    sent_to: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    delivery: Delivery = Field(sa_column=Column(String(10), nullable=False))
    delivery_error_i18n: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class OpeningResult(enum.StrEnum):
    REFUSED = "REFUSED"  # not sent: the booking does not entitle the guest now (``refusal`` says why)
    SENDING = "SENDING"  # journaled, sent, no answer yet (a lost answer: the worker looks it up)
    ACCEPTED = "ACCEPTED"  # the vendor took the command; the lock has not confirmed (yet)
    CONFIRMED = "CONFIRMED"  # the lock reported the opening
    FAILED = "FAILED"  # the vendor refused or failed (``error`` says why)


class DoorOpening(SQLModel, table=True):
    """One request to open a lock, by the guest through their link or by staff for them: journaled
    before the command is sent (its reference is the vendor's idempotency key), then what became
    of it. Refusals are kept too: every opening and refusal is visible."""

    __tablename__ = "door_opening"
    __table_args__ = (Index("ix_door_opening_grant_id_id", "grant_id", "id"),
                      Index("ix_door_opening_result", "result"))

    id: int | None = Field(default=None, primary_key=True)
    grant_id: int = Field(sa_column=Column(Integer, ForeignKey("door_access_grant.id", ondelete="CASCADE"),
                                           nullable=False))
    link_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("door_guest_link.id", ondelete="SET NULL"), nullable=True))
    door_name: str = Field(sa_column=Column(String(200), nullable=False))
    lock_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    reference: str | None = Field(default=None, sa_column=Column(String(100), nullable=True, unique=True))
    requested_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    requested_by: str = Field(sa_column=Column(String(100), nullable=False))
    result: OpeningResult = Field(sa_column=Column(String(10), nullable=False))
    refusal: str | None = Field(default=None, sa_column=Column(String(30), nullable=True))  # a code
    error_i18n: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The first confirmed opening checks the guest in (or says why it could not).
    checked_in: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    checkin_error_i18n: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
