"""Booking services: validate, store and fire events, all inside the caller's transaction.

Every function raises ``ValidationFailed`` before writing anything when the input is
refused; the caller commits (``addon.base.public.commit``) or rolls back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import (
    N_,
    Host,
    Message,
    Problem,
    ValidationFailed,
    audit,
    clean_text,
    control_character_problem,
    get_row,
    utcnow,
)

from .lifecycle import check_move, refuse_archived_status, set_archived
from .models import (
    BookableObject,
    Booking,
    BookingField,
    BookingFieldValue,
    BookingStatus,
    BookingStatusHistory,
    Customer,
)
from .settings import EARLIEST_DATE, LATEST_DATE, booking_settings

STATUS_CHANGED = "booking.status_changed"
CHANGED = "booking.changed"
MAX_CODE = 64
MAX_NAME = 200
MAX_FIELD_VALUE = 10_000  # a booking field's value (an authorisation id, a note)
MAX_TIME_ZONE = 64  # the longest IANA name is 32 characters


async def get_object(session, value, field="objectId", for_new_work: bool = False) -> BookableObject:
    row = await get_row(session, BookableObject, value, field, N_("Object {id} does not exist."),
                        type_name="BookableObject")
    if for_new_work:
        refuse_archived_object(row, field)
    return row


def refuse_archived_object(row: BookableObject, field: str) -> None:
    if row.archived_at is not None:
        raise ValidationFailed.one("ARCHIVED", "Object {code!r} is archived; choose another object.", field,
                                   code=row.code)


async def get_booking(session, value, field="bookingId", lock: bool = False) -> Booking:
    return await get_row(session, Booking, value, field, N_("Booking {id} does not exist."), lock,
                         type_name="Booking")


def _lookup_code(code: str, field: str, label: str) -> None:
    """A code looked up (and quoted when unknown) is no longer than any code we store."""
    if isinstance(code, str) and len(code) > MAX_CODE:
        raise ValidationFailed.one("TOO_LONG", "{label} is longer than {max_length} characters.", field,
                                   label=Message(label), max_length=MAX_CODE)


@cache
def _status_pair_query():
    # Built once: every status change sends it (code and id go in as bound parameters).
    return select(BookingStatus).where(or_(BookingStatus.code == bindparam("code"),
                                           BookingStatus.id == bindparam("current_id")))


async def get_status_pair(session: AsyncSession, code: str, current_id: int,
                          field: str = "status") -> tuple[BookingStatus, BookingStatus]:
    """The status with ``code`` and the status ``current_id``, in one statement."""
    _lookup_code(code, field, N_("Status"))
    rows = (await session.execute(_status_pair_query(), {"code": code, "current_id": current_id})).scalars().all()
    new = next((r for r in rows if r.code == code), None)
    current = next((r for r in rows if r.id == current_id), None)
    if new is None:
        return await get_status(session, code, field), current  # refused there, with the known codes
    return new, current


async def get_status(session: AsyncSession, code: str, field: str = "status") -> BookingStatus:
    """The status with ``code``."""
    _lookup_code(code, field, N_("Status"))
    row = (await session.execute(select(BookingStatus).where(BookingStatus.code == code))).scalar_one_or_none()
    if row is None:
        known = (await session.execute(select(BookingStatus.code).order_by(BookingStatus.sequence))).scalars().all()
        raise ValidationFailed.one("NOT_FOUND", "Unknown status {code!r}; known: {known}.", field, code=code,
                                   known=", ".join(known))
    return row


async def get_field(session: AsyncSession, code: str, field: str = "field", for_new_work: bool = False) -> BookingField:
    _lookup_code(code, field, N_("Booking field"))
    row = (await session.execute(select(BookingField).where(BookingField.code == code))).scalar_one_or_none()
    if row is None:
        raise ValidationFailed.one("NOT_FOUND", "Unknown booking field {code!r}.", field, code=code)
    if for_new_work and row.archived_at is not None:
        raise ValidationFailed.one("ARCHIVED", "Booking field {code!r} is archived.", field, code=code)
    return row


def _text(value: str | None, field: str, label: Message, max_length: int, required: bool = True) -> str | None:
    return clean_text(value, field, label, max_length, required=required)


def validate_time_zone(name: str, field: str = "timeZone") -> str:
    if len(name) > MAX_TIME_ZONE:
        raise ValidationFailed.one("TOO_LONG", "{label} is longer than {max_length} characters.", field,
                                   label=Message("Time zone"), max_length=MAX_TIME_ZONE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed.one("INVALID", "{name!r} is not an IANA time zone (e.g. Europe/Amsterdam).", field,
                                   name=name) from None
    return name


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed.one("INVALID", "A date-time needs a time-zone offset (e.g. 2026-06-12T14:00:00+02:00).", field)
    return value


def _out_of_range(value: datetime, field: str) -> Problem | None:
    # Comparing aware datetimes never overflows, whatever their offset (converting them might).
    if EARLIEST_DATE <= value <= LATEST_DATE:
        return None
    return Problem("OUT_OF_RANGE", "{value} is outside the supported dates, {first} to {last} (UTC).", field,
                   {"value": value.isoformat(), "first": EARLIEST_DATE.date().isoformat(),
                    "last": LATEST_DATE.date().isoformat()})


def _check_period(start: datetime, end: datetime) -> None:
    """With an offset, inside the supported dates, the end after the start."""
    _aware(start, "start")
    _aware(end, "end")
    outside = [p for p in (_out_of_range(start, "start"), _out_of_range(end, "end")) if p]
    if outside:
        raise ValidationFailed(*outside)
    if end <= start:
        raise ValidationFailed.one("INVALID", "The end must be after the start.", "end")


def _check_length(host: Host, start: datetime, end: datetime, time_zone: str) -> None:
    """No longer than the maximum, counted in days on the calendar where the object is (a stay
    across a clock change is as many days long as it says). Only for a period that passed
    :func:`_check_period`, so converting it cannot overflow."""
    zone = ZoneInfo(time_zone)
    length = end.astimezone(zone).replace(tzinfo=None) - start.astimezone(zone).replace(tzinfo=None)
    longest = booking_settings(host).max_booking_days
    if length > timedelta(days=longest):
        raise ValidationFailed.one("TOO_LONG", "A booking can last at most {days} days.", "end", days=longest)


async def _code_is_free(session, model, code: str, field: str, exclude_id: int | None = None) -> None:
    query = select(model.id).where(model.code == code)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    if (await session.execute(query)).first() is not None:
        raise ValidationFailed.one("DUPLICATE", "The code {code!r} is already in use.", field, code=code)


# -- objects ---------------------------------------------------------------------------------

async def create_object(host: Host, session: AsyncSession, *, code: str, name: str,
                        time_zone: str | None = None, parent_id=None) -> BookableObject:
    code = _text(code, "code", Message("Code"), MAX_CODE)
    name = _text(name, "name", Message("Name"), MAX_NAME)
    await _code_is_free(session, BookableObject, code, "code")
    parent = await get_object(session, parent_id, "parentId", for_new_work=True) if parent_id is not None else None
    # A sub-object lives where its parent is unless told otherwise.
    zone = validate_time_zone(time_zone) if time_zone else (parent.time_zone if parent else host.settings.default_timezone)
    obj = BookableObject(code=code, name=name, time_zone=zone, parent_id=parent.id if parent else None)
    session.add(obj)
    await session.flush()
    await audit.record(session, "object.create", "object", obj.id, audit.diff({}, _audited_object(obj)))
    return obj


def _audited_object(obj: BookableObject) -> dict:
    """What the audit trail compares of an object, old → new."""
    return {"code": obj.code, "name": obj.name, "time_zone": obj.time_zone, "parent_id": obj.parent_id}


async def update_object(host: Host, session: AsyncSession, object_id, *, code=None, name=None,
                        time_zone=None, parent_id=None, clear_parent: bool = False) -> BookableObject:
    obj = await get_object(session, object_id, "id")
    before = _audited_object(obj)
    if code is not None:
        code = _text(code, "code", Message("Code"), MAX_CODE)
        await _code_is_free(session, BookableObject, code, "code", exclude_id=obj.id)
    if name is not None:
        name = _text(name, "name", Message("Name"), MAX_NAME)
    if time_zone is not None:
        validate_time_zone(time_zone)
    parent = None
    if parent_id is not None:
        parent = await get_object(session, parent_id, "parentId")
        if parent.id != obj.parent_id:
            refuse_archived_object(parent, "parentId")
        await _refuse_cycle(session, obj, parent)
    obj.code = code or obj.code
    obj.name = name or obj.name
    obj.time_zone = time_zone or obj.time_zone
    if parent is not None:
        obj.parent_id = parent.id
    elif clear_parent:
        obj.parent_id = None
    await session.flush()
    if changes := audit.diff(before, _audited_object(obj)):
        await audit.record(session, "object.update", "object", obj.id, changes)
    return obj


async def _refuse_cycle(session: AsyncSession, obj: BookableObject, parent: BookableObject) -> None:
    node = parent
    while node is not None:
        if node.id == obj.id:
            raise ValidationFailed.one("INVALID", "An object cannot be its own parent or ancestor.", "parentId")
        node = await session.get(BookableObject, node.parent_id) if node.parent_id else None


# -- booking fields --------------------------------------------------------------------------

async def create_booking_field(host: Host, session: AsyncSession, *, code: str, label: str) -> BookingField:
    code = _text(code, "code", Message("Code"), MAX_CODE)
    label = _text(label, "label", Message("Label"), MAX_NAME)
    await _code_is_free(session, BookingField, code, "code")
    row = BookingField(code=code, label=label)
    session.add(row)
    await session.flush()
    await audit.record(session, "booking_field.create", "booking_field", row.id,
                       audit.diff({}, {"code": row.code, "label": row.label}))
    return row


async def write_field_value(session: AsyncSession, booking_id: int, field: BookingField | int, value: str | None) -> None:
    """Set (or with ``None`` clear) one field value of a booking (``field``: the field or its id);
    used by other addons too. One statement: an insert that updates the row when there is one."""
    field_id = field if isinstance(field, int) else field.id
    await session.execute(_field_value_upsert(session.get_bind().dialect.name),
                          {"booking_id": booking_id, "field_id": field_id, "value": value})


@cache
def _field_value_upsert(dialect: str):
    # Built once per dialect (every granted access writes its id): the values are bound parameters.
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(BookingFieldValue)
    return statement.on_conflict_do_update(index_elements=["booking_id", "field_id"],
                                           set_={"value": statement.excluded.value})


async def read_field_value(session: AsyncSession, booking_id: int, field_code: str) -> str | None:
    return (
        await session.execute(
            select(BookingFieldValue.value)
            .join(BookingField, BookingField.id == BookingFieldValue.field_id)
            .where(BookingFieldValue.booking_id == booking_id, BookingField.code == field_code)
        )
    ).scalar_one_or_none()


async def set_booking_field(host: Host, session: AsyncSession, booking_id, field_code: str, value: str | None) -> Booking:
    if value is not None and len(value) > MAX_FIELD_VALUE:
        raise ValidationFailed.one("TOO_LONG", "{label} is longer than {max_length} characters.", "value",
                                   label=Message("Value"), max_length=MAX_FIELD_VALUE)
    if value is not None and (problem := control_character_problem(value, "value", Message("Value"), multiline=True)):
        raise ValidationFailed(problem)  # a note may have several lines, never a NUL
    booking = await get_booking(session, booking_id)
    field = await get_field(session, field_code, for_new_work=True)
    await write_field_value(session, booking.id, field, value)
    return booking


# -- bookings --------------------------------------------------------------------------------

@dataclass
class CustomerData:
    name: str
    email: str | None = None
    phone: str | None = None
    language: str | None = None


def _customer_fields(data: CustomerData, prefix: str = "customer") -> dict:
    email = _text(data.email, f"{prefix}.email", Message("E-mail"), 254, required=False)
    if email and ("@" not in email or " " in email):
        raise ValidationFailed.one("INVALID", "{email!r} is not an e-mail address.", f"{prefix}.email", email=email)
    return {
        "name": _text(data.name, f"{prefix}.name", Message("Customer name"), MAX_NAME),
        "email": email,
        "phone": _text(data.phone, f"{prefix}.phone", Message("Phone"), 40, required=False),
        "language": _text(data.language, f"{prefix}.language", Message("Language"), 35, required=False),
    }


async def _reference_is_free(session: AsyncSession, reference: str) -> None:
    if (await session.execute(select(Booking.id).where(Booking.reference == reference))).first() is not None:
        raise ValidationFailed.one("DUPLICATE", "The reference {reference!r} is already in use.", "reference",
                                   reference=reference)


async def create_booking(host: Host, session: AsyncSession, *, object_id, customer: CustomerData, start: datetime,
                         end: datetime, status: str = "option", reference: str | None = None,
                         actor: str = "system") -> Booking:
    _check_period(start, end)
    obj = await get_object(session, object_id, for_new_work=True)
    _check_length(host, start, end, obj.time_zone)
    status_row = await get_status(session, status)
    refuse_archived_status(status_row, "status")  # any other status: creating is not a move
    reference = _text(reference, "reference", Message("Reference"), MAX_CODE, required=False)
    if reference:
        await _reference_is_free(session, reference)
    else:
        reference = "B" + secrets.token_hex(4).upper()
    customer_row = Customer(**_customer_fields(customer))
    session.add(customer_row)
    await session.flush()
    booking = Booking(reference=reference, object_id=obj.id, customer_id=customer_row.id, status_id=status_row.id,
                      start_at=start, end_at=end)
    session.add(booking)
    await session.flush()
    session.add(BookingStatusHistory(booking_id=booking.id, from_status_id=None, to_status_id=status_row.id,
                                     changed_by=actor))
    await session.flush()
    await host.events.emit(STATUS_CHANGED, session, booking=booking, old_status=None, new_status=status_row.code,
                           actor=actor)
    return booking


async def update_booking(host: Host, session: AsyncSession, booking_id, *, start: datetime | None = None,
                         end: datetime | None = None, object_id=None, customer: CustomerData | None = None,
                         actor: str = "system") -> Booking:
    booking = await get_booking(session, booking_id, "id", lock=True)
    new_start = start or booking.start_at
    new_end = end or booking.end_at
    # Only a change of dates is checked (with the stored other one if just one is given): a
    # booking stored before these rules, or before a lower maximum, still takes other edits.
    dates_change = start is not None or end is not None
    if dates_change:
        _check_period(new_start, new_end)
    obj = None
    if object_id is not None:
        obj = await get_object(session, object_id)
        if obj.id != booking.object_id:
            refuse_archived_object(obj, "objectId")
    if dates_change:
        zone = obj.time_zone if obj is not None else (await session.get(BookableObject, booking.object_id)).time_zone
        _check_length(host, new_start, new_end, zone)
    customer_values = _customer_fields(customer) if customer is not None else None

    changes: dict[str, tuple] = {}
    if new_start != booking.start_at:
        changes["start"] = (booking.start_at, new_start)
    if new_end != booking.end_at:
        changes["end"] = (booking.end_at, new_end)
    if obj is not None and obj.id != booking.object_id:
        changes["object"] = (booking.object_id, obj.id)
    booking.start_at, booking.end_at = new_start, new_end
    if obj is not None:
        booking.object_id = obj.id
    if customer_values is not None:
        row = await session.get(Customer, booking.customer_id)
        for key, value in customer_values.items():
            if getattr(row, key) != value:
                changes[f"customer.{key}"] = (getattr(row, key), value)
                setattr(row, key, value)
    if changes:
        booking.updated_at = utcnow()
    await session.flush()
    if changes:
        await host.events.emit(CHANGED, session, booking=booking, changes=changes, actor=actor)
    return booking


@dataclass
class StatusChange:
    """What a status change loaded: the booking and both statuses (held, so that nobody reads them again)."""

    booking: Booking
    old: BookingStatus
    new: BookingStatus


async def set_booking_status(host: Host, session: AsyncSession, booking_id, status: str,
                             actor: str = "system", force: bool = False) -> Booking:
    """Move a booking to ``status``: one of the statuses its current one lists as next, or any
    (not archived) status when ``force`` (admins only; the caller checks the role)."""
    return (await change_booking_status(host, session, booking_id, status, actor, force)).booking


async def change_booking_status(host: Host, session: AsyncSession, booking_id, status: str,
                                actor: str = "system", force: bool = False) -> StatusChange:
    """:func:`set_booking_status`, answering the statuses it loaded too."""
    booking = await get_booking(session, booking_id, lock=True)
    new, old = await get_status_pair(session, status, booking.status_id)
    if new.id == booking.status_id:
        return StatusChange(booking, old, new)  # nothing changes, nothing fires: a double click is harmless
    refuse_archived_status(new, "status")
    if not force:
        await check_move(session, old, new)
    booking.status_id = new.id
    booking.updated_at = utcnow()
    session.add(BookingStatusHistory(booking_id=booking.id, from_status_id=old.id, to_status_id=new.id, changed_by=actor,
                                     forced=force))
    await session.flush()
    if force:
        await audit.record(session, "booking.status_force", "booking", booking.id,
                           {"reference": [None, booking.reference], "status": [old.code, new.code]})
    await host.events.emit(STATUS_CHANGED, session, booking=booking, old_status=old.code, new_status=new.code,
                           actor=actor)
    return StatusChange(booking, old, new)


# -- archiving -------------------------------------------------------------------------------

async def archive_object(host: Host, session: AsyncSession, object_id, archived: bool) -> BookableObject:
    """Archive (or restore) an object: no new booking or door mapping may choose it; its bookings,
    mappings and sub-objects stay as they are."""
    obj = await get_object(session, object_id, "id")
    await set_archived(host, session, obj, archived, "object")
    return obj


async def archive_booking_field(host: Host, session: AsyncSession, field_id, archived: bool) -> BookingField:
    """Archive (or restore) a booking field: values stay readable, no one writes new ones, and no
    new configuration chooses it (what already uses it keeps working)."""
    row = await get_row(session, BookingField, field_id, "id", N_("Booking field {id} does not exist."),
                        type_name="BookingField")
    await set_archived(host, session, row, archived, "booking_field")
    return row
