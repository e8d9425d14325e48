"""DataLoaders of the Resivo backend."""

from __future__ import annotations

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from .models import ResivoCredentials


def credentials_by_integration(context) -> DataLoader:
    async def load(ids: list[int]):
        rows = (await context.session.execute(
            select(ResivoCredentials).where(ResivoCredentials.integration_id.in_(ids))
        )).scalars().all()
        found = {row.integration_id: row for row in rows}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


LOADERS = {"resivo.credentials": credentials_by_integration}
