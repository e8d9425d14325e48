"""What one status change costs the database: `setBookingStatus` option → confirmed (the access
made at once, Resivo answering at once), counted statement by statement and transaction by
transaction on the server's engine. Counts, not times: they hold on any machine, and a change that
adds a statement or a transaction to every confirmation fails here first (the benchmark reports the
same figures under load)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.door_access.helpers import create_booking, future, set_status
from tests.resivo.host_helpers import configured_resivo

pytestmark = [pytest.mark.anyio, pytest.mark.all_databases]

# setBookingStatus with the booking's access in the answer. Once 36 statements on PostgreSQL; the
# margin of one is for the call log's batch, which is written in the same request now and then.
MAX_STATEMENTS = {"postgresql": 28, "sqlite": 26}  # PostgreSQL also announces the change (pg_notify) twice
MAX_TRANSACTIONS = 8


class Counting:
    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []
        self.transactions = 0

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            self.statements.append(statement.split("\n")[0][:120])

    def _begin(self, conn) -> None:
        self.transactions += 1

    def __enter__(self) -> "Counting":
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)


async def test_a_confirmation_stays_within_its_statement_and_transaction_budget(host, gql, wired_sandbox):
    _, objects = await configured_resivo(gql)
    for n in range(2):  # warm caches (door list, token) as a running server has them
        made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="option")
        await set_status(gql, made["id"], "confirmed")
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="option")
    with Counting(host.database.engine) as counted:
        access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "ACTIVE"
    dialect = "sqlite" if host.database.is_sqlite else "postgresql"
    assert len(counted.statements) <= MAX_STATEMENTS[dialect], "\n".join(counted.statements)
    assert counted.transactions <= MAX_TRANSACTIONS, counted.transactions
