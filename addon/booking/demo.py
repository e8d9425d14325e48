"""Demo data loader for the booking domain: objects, fields, customers and bookings (idempotent)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host

from . import services
from .models import BookableObject, Booking, BookingField


async def seed_booking(host: Host, session: AsyncSession, data: dict) -> None:
    for item in data.get("objects", []):
        await _seed_object(host, session, item, parent_id=None)
    for item in data.get("bookingFields", []):
        if (await session.execute(select(BookingField.id).where(BookingField.code == item["code"]))).first() is None:
            await services.create_booking_field(host, session, code=item["code"], label=item["label"])
    today = datetime.now(ZoneInfo(host.settings.default_timezone)).date()
    for item in data.get("bookings", []):
        if (await session.execute(select(Booking.id).where(Booking.reference == item["reference"]))).first():
            continue
        obj = (await session.execute(select(BookableObject).where(BookableObject.code == item["object"]))).scalar_one()
        zone = ZoneInfo(obj.time_zone)
        # Dates are relative to today so the demo always shows current and upcoming stays.
        start = datetime.combine(today + timedelta(days=item["startInDays"]), time.fromisoformat(item["startTime"]), zone)
        end = datetime.combine(start.date() + timedelta(days=item.get("nights", 0)), time.fromisoformat(item["endTime"]), zone)
        booking = await services.create_booking(
            host, session, object_id=obj.id, customer=services.CustomerData(**item["customer"]),
            start=start, end=end, status="option", reference=item["reference"], actor="demo",
        )
        for status in item.get("statuses", []):
            await services.set_booking_status(host, session, booking.id, status, actor="demo")


async def _seed_object(host: Host, session: AsyncSession, item: dict, parent_id: int | None) -> None:
    row = (await session.execute(select(BookableObject).where(BookableObject.code == item["code"]))).scalar_one_or_none()
    if row is None:
        row = await services.create_object(host, session, code=item["code"], name=item["name"],
                                           time_zone=item.get("timeZone"), parent_id=parent_id)
    for child in item.get("subObjects", []):
        await _seed_object(host, session, child, parent_id=row.id)
