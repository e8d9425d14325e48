"""Booking domain tables."""

from __future__ import annotations

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


def _fk(target: str, nullable: bool = False, ondelete: str | None = None) -> Column:
    return Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


def _archived() -> Column:
    """When the row was archived: hidden from new work, kept for history (never deleted)."""
    return Column(UTCDateTime, nullable=True)


class BookableObject(SQLModel, table=True):
    """A bookable object (room, studio, house); a sub-object has a parent object."""

    __tablename__ = "booking_object"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    time_zone: str = Field(sa_column=Column(String(64), nullable=False))
    parent_id: int | None = Field(default=None, sa_column=_fk("booking_object.id", nullable=True))
    archived_at: datetime | None = Field(default=None, sa_column=_archived())


class Customer(SQLModel, table=True):
    __tablename__ = "booking_customer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    phone: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    language: str | None = Field(default=None, sa_column=Column(String(35), nullable=True))
    # Set when an admin erased the customer's personal data (the row stays: bookings point to it).
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class BookingStatus(SQLModel, table=True):
    __tablename__ = "booking_status"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    sequence: int = Field(default=10, sa_column=Column(Integer, nullable=False, default=10))
    # Display names per language ({"nl": "Optie"}); ``name`` is the one for any other language.
    names: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=_archived())


class BookingStatusTransition(SQLModel, table=True):
    """A status that may follow another one (setBookingStatus refuses other moves unless forced)."""

    __tablename__ = "booking_status_transition"
    __table_args__ = (UniqueConstraint("from_status_id", "to_status_id", name="uq_booking_status_transition"),)

    id: int | None = Field(default=None, primary_key=True)
    from_status_id: int = Field(sa_column=_fk("booking_status.id", ondelete="CASCADE"))
    to_status_id: int = Field(sa_column=_fk("booking_status.id", ondelete="CASCADE"))


class BookingField(SQLModel, table=True):
    """An admin-defined extra field on bookings (e.g. where an access id is kept)."""

    __tablename__ = "booking_field"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    label: str = Field(sa_column=Column(String(200), nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=_archived())


class Booking(SQLModel, table=True):
    __tablename__ = "booking_booking"
    __table_args__ = (Index("ix_booking_booking_start_id", "start_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    object_id: int = Field(sa_column=_fk("booking_object.id"))
    customer_id: int = Field(sa_column=_fk("booking_customer.id"))
    status_id: int = Field(sa_column=_fk("booking_status.id"))
    start_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    end_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class BookingFieldValue(SQLModel, table=True):
    __tablename__ = "booking_field_value"
    __table_args__ = (UniqueConstraint("booking_id", "field_id", name="uq_booking_field_value"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(sa_column=_fk("booking_booking.id", ondelete="CASCADE"))
    field_id: int = Field(sa_column=_fk("booking_field.id", ondelete="CASCADE"))
    value: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class BookingStatusHistory(SQLModel, table=True):
    __tablename__ = "booking_status_history"

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(sa_column=_fk("booking_booking.id", ondelete="CASCADE"))
    from_status_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("booking_status.id"), nullable=True))
    to_status_id: int = Field(sa_column=Column(Integer, ForeignKey("booking_status.id"), nullable=False))
    changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    changed_by: str = Field(sa_column=Column(String(100), nullable=False))
    # An admin's move that the allowed transitions would have refused.
    forced: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))


DEFAULT_STATUSES = [
    ("option", "Option"),
    ("confirmed", "Confirmed"),
    ("paid", "Paid"),
    ("checked_in", "Checked in"),
    ("checked_out", "Checked out"),
    ("cancelled", "Cancelled"),
]

# What may follow what in a holiday park (the defaults a fresh database starts with; admins edit
# them). An option is confirmed or lapses; a confirmed stay is paid or arrives (paying at the
# desk); a guest who arrived leaves; a cancellation can be reopened as a new option.
DEFAULT_TRANSITIONS = {
    "option": ("confirmed", "cancelled"),
    "confirmed": ("paid", "checked_in", "cancelled"),
    "paid": ("checked_in", "cancelled"),
    "checked_in": ("checked_out",),
    "checked_out": (),
    "cancelled": ("option",),
}
