"""What a bookings page reads up front, per selected field (see addon.base.public.preloads): one
statement per kind of row, whatever the page size. Fields that are one loader's answer (a
booking's customer and status, an object's sub-objects) say so where they are declared
(``loaded_by``) and need no plan here."""

from __future__ import annotations

from addon.base.public import preload, preload_selection, preloads

from ..privacy import staff_only_field_codes


async def _objects(context, bookings, selected) -> None:
    objects = await preload(context, "booking.object", (b.object_id for b in bookings))
    await preload_selection(context, "BookableObject", _typed(objects), selected)


async def _parents(context, objects, selected) -> None:
    parents = await preload(context, "booking.object", (o.parent_id for o in objects))
    await preload_selection(context, "BookableObject", _typed(parents), selected)


def _typed(rows) -> list:
    """The objects as the API shows them (their plans and declared loads read ``row_id``)."""
    from .types import BookableObjectType

    return [BookableObjectType.from_model(row) for row in rows if row is not None]


async def _field_values(context, bookings, selected) -> None:
    await staff_only_field_codes(context)  # read once, so that every booking answers at once
    await preload(context, "booking.field_values", (b.row_id for b in bookings))


async def _history(context, bookings, selected) -> None:
    histories = await preload(context, "booking.history", (b.row_id for b in bookings))
    if "from" in selected or "to" in selected:
        await preload(context, "booking.status", (status for rows in histories for (h,) in rows
                                                  for status in (h.from_status_id, h.to_status_id)))


def register_plans(host) -> None:
    preloads(host, "Booking", "object", _objects)
    preloads(host, "BookableObject", "parent", _parents)
    preloads(host, "Booking", "fields", _field_values)
    preloads(host, "Booking", "history", _history)
