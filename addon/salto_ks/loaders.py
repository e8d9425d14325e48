"""DataLoaders of the Salto KS backend."""

from __future__ import annotations

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from .models import SaltoKsCredentials


def credentials_by_integration(context) -> DataLoader:
    async def load(ids: list[int]):
        rows = (await context.session.execute(
            select(SaltoKsCredentials).where(SaltoKsCredentials.integration_id.in_(ids))
        )).scalars().all()
        found = {row.integration_id: row for row in rows}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


LOADERS = {"salto_ks.credentials": credentials_by_integration}
