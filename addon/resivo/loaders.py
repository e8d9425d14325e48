"""DataLoaders of the Resivo addon."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from addon.booking.loaders import by_id

from .models import ResivoAccessGrant, ResivoIntegration


def grants_by_booking(context) -> DataLoader:
    async def load(booking_ids: list[int]):
        rows = (await context.session.execute(
            select(ResivoAccessGrant).where(ResivoAccessGrant.booking_id.in_(booking_ids))
            .order_by(ResivoAccessGrant.integration_id)
        )).scalars().all()
        grouped = defaultdict(list)
        for row in rows:
            grouped[row.booking_id].append(row)
        return [grouped.get(i, []) for i in booking_ids]

    return DataLoader(load_fn=load)


LOADERS = {
    "resivo.grants": grants_by_booking,
    "resivo.integration": by_id(ResivoIntegration),
}
