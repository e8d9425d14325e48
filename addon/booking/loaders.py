"""Per-request DataLoaders: one ``WHERE ... IN (...)`` query per kind of row, whatever the page size."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from .models import (
    BookableObject,
    BookingField,
    BookingFieldValue,
    BookingStatus,
    BookingStatusHistory,
    BookingStatusTransition,
    Customer,
)


def by_id(model):
    """Loader of rows by id: plain rows with the table's columns as attributes (cheaper than ORM
    objects, and all the GraphQL types read)."""
    columns = model.__table__.columns

    def factory(context) -> DataLoader:
        async def load(ids: list[int]):
            rows = (await context.session.execute(select(*columns).where(model.id.in_(ids)))).all()
            found = {row.id: row for row in rows}
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load)

    return factory


def grouped(query_for, key_of):
    """Loader of lists: ``query_for(keys)`` selects rows, ``key_of(row)`` says whose they are."""

    def factory(context) -> DataLoader:
        async def load(keys: list[int]):
            rows = (await context.session.execute(query_for(keys))).all()
            groups = defaultdict(list)
            for row in rows:
                groups[key_of(row)].append(row)
            return [groups.get(k, []) for k in keys]

        return DataLoader(load_fn=load)

    return factory


LOADERS = {
    "booking.object": by_id(BookableObject),
    "booking.customer": by_id(Customer),
    "booking.status": by_id(BookingStatus),
    "booking.sub_objects": grouped(
        lambda ids: select(BookableObject).where(BookableObject.parent_id.in_(ids)).order_by(BookableObject.name),
        lambda row: row[0].parent_id,
    ),
    "booking.field_values": grouped(
        lambda ids: select(BookingFieldValue.booking_id, BookingField.code, BookingFieldValue.value)
        .join(BookingField, BookingField.id == BookingFieldValue.field_id)
        .where(BookingFieldValue.booking_id.in_(ids))
        .order_by(BookingField.code),
        lambda row: row.booking_id,
    ),
    # Every status it may lead to, archived ones too (the resolver filters: a list shows them on request).
    "booking.next_statuses": grouped(
        lambda ids: select(BookingStatusTransition.from_status_id, BookingStatus)
        .join(BookingStatus, BookingStatus.id == BookingStatusTransition.to_status_id)
        .where(BookingStatusTransition.from_status_id.in_(ids))
        .order_by(BookingStatus.sequence, BookingStatus.id),
        lambda row: row[0],
    ),
    "booking.history": grouped(
        lambda ids: select(BookingStatusHistory)
        .where(BookingStatusHistory.booking_id.in_(ids))
        .order_by(BookingStatusHistory.changed_at, BookingStatusHistory.id),
        lambda row: row[0].booking_id,
    ),
}
