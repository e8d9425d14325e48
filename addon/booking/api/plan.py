"""What a bookings page reads up front, per selected field (see addon.base.preload): one
statement per kind of row, whatever the page size."""

from __future__ import annotations

from addon.base.preload import preload, preload_selection, preloads

from ..privacy import staff_only_field_codes


@preloads("Booking", "object")
async def _objects(context, bookings, selected) -> None:
    objects = await preload(context, "booking.object", (b.object_id for b in bookings))
    await preload_selection(context, "BookableObject", objects, selected)


@preloads("BookableObject", "parent")
async def _parents(context, objects, selected) -> None:
    parents = await preload(context, "booking.object", (o.parent_id for o in objects))
    await preload_selection(context, "BookableObject", parents, selected)


@preloads("BookableObject", "subObjects")
async def _sub_objects(context, objects, selected) -> None:
    await preload(context, "booking.sub_objects", (o.id for o in objects))


@preloads("Booking", "customer")
async def _customers(context, bookings, selected) -> None:
    await preload(context, "booking.customer", (b.customer_id for b in bookings))


@preloads("Booking", "status")
async def _statuses(context, bookings, selected) -> None:
    await preload(context, "booking.status", (b.status_id for b in bookings))


@preloads("Booking", "fields")
async def _field_values(context, bookings, selected) -> None:
    await staff_only_field_codes(context)  # read once, so that every booking answers at once
    await preload(context, "booking.field_values", (b.row_id for b in bookings))


@preloads("Booking", "history")
async def _history(context, bookings, selected) -> None:
    histories = await preload(context, "booking.history", (b.row_id for b in bookings))
    if "from" in selected or "to" in selected:
        await preload(context, "booking.status", (status for rows in histories for (h,) in rows
                                                  for status in (h.from_status_id, h.to_status_id)))
