"""The SQLite driver that runs a statement in one trip to aiosqlite's thread behaves as the stock
aiosqlite dialect does: rows and their description, counts, the last row id, many parameter sets
at once, errors mapped to SQLAlchemy's own, transactions that commit and roll back."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from addon.base.core.db import create_engine
from addon.base.core.sqlite_driver import DRIVER

pytestmark = pytest.mark.anyio

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String, unique=True))


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_sqlite_urls_use_the_one_trip_driver(engine):
    assert engine.dialect.driver == DRIVER
    assert engine.url.drivername == f"sqlite+{DRIVER}"


async def test_rows_description_counts_and_last_row_id(engine):
    async with engine.begin() as connection:
        inserted = await connection.execute(insert(things).values(name="a"))
        assert inserted.inserted_primary_key == (1,)
        await connection.execute(insert(things), [{"name": "b"}, {"name": "c"}, {"name": "d"}])
        changed = await connection.execute(update(things).where(things.c.name != "a").values(name=things.c.name + "!"))
        assert changed.rowcount == 3
        result = await connection.execute(select(things.c.id, things.c.name).order_by(things.c.id))
        assert list(result.keys()) == ["id", "name"]
        assert [tuple(row) for row in result] == [(1, "a"), (2, "b!"), (3, "c!"), (4, "d!")]
        returned = await connection.execute(insert(things).values(name="e").returning(things.c.id))
        assert returned.scalar_one() == 5
        assert (await connection.execute(select(things).where(things.c.name == "none"))).first() is None


async def test_a_partly_read_result_and_fetchmany(engine):
    async with engine.begin() as connection:
        await connection.execute(insert(things), [{"name": str(n)} for n in range(10)])
        result = await connection.execute(select(things.c.id).order_by(things.c.id))
        assert [row.id for row in result.fetchmany(3)] == [1, 2, 3]
        assert len(result.fetchall()) == 7
        # A result abandoned half-read leaves the connection usable.
        (await connection.execute(select(things.c.id))).first()
        assert (await connection.execute(text("select count(*) from things"))).scalar_one() == 10


async def test_errors_are_sqlalchemys_own_and_roll_back(engine):
    async with engine.begin() as connection:
        await connection.execute(insert(things).values(name="kept"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(things).values(name="lost"))
            await connection.execute(insert(things).values(name="kept"))  # unique name
    with pytest.raises(OperationalError):
        async with engine.connect() as connection:
            await connection.execute(text("select * from no_such_table"))
    async with engine.connect() as connection:
        names = (await connection.execute(select(things.c.name))).scalars().all()
    assert names == ["kept"]


async def test_an_explicit_rollback_discards_the_transaction(engine):
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(insert(things).values(name="gone"))
        await transaction.rollback()
        assert (await connection.execute(text("select count(*) from things"))).scalar_one() == 0
