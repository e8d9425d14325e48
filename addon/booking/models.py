"""Booking domain tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from addon.base.db import UTCDateTime, utcnow


def _fk(target: str, nullable: bool = False, ondelete: str | None = None) -> Column:
    return Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


class BookableObject(SQLModel, table=True):
    """A bookable object (room, studio, house); a sub-object has a parent object."""

    __tablename__ = "booking_object"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    time_zone: str = Field(sa_column=Column(String(64), nullable=False))
    parent_id: int | None = Field(default=None, sa_column=_fk("booking_object.id", nullable=True))


class Customer(SQLModel, table=True):
    __tablename__ = "booking_customer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    phone: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    language: str | None = Field(default=None, sa_column=Column(String(35), nullable=True))


class BookingStatus(SQLModel, table=True):
    __tablename__ = "booking_status"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    sequence: int = Field(default=10, sa_column=Column(Integer, nullable=False, default=10))


class BookingField(SQLModel, table=True):
    """An admin-defined extra field on bookings (e.g. where an access id is kept)."""

    __tablename__ = "booking_field"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    label: str = Field(sa_column=Column(String(200), nullable=False))


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


DEFAULT_STATUSES = [
    ("option", "Option"),
    ("confirmed", "Confirmed"),
    ("paid", "Paid"),
    ("checked_in", "Checked in"),
    ("checked_out", "Checked out"),
    ("cancelled", "Cancelled"),
]
