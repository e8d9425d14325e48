"""What addons hand the host stays the host's: type extensions, preload plans and the token
cache's watch on writes are per host, so two hosts in one process (a test's, a served app's, or
two sets of addons) never see each other's."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from addon.base.core.host import load_host
from addon.base.identity.models import ApiToken
from addon.base.identity.token_cache import KnownToken, token_cache
from addon.base.server.schema import build_schema
from tests.conftest import base_environ

pytestmark = pytest.mark.anyio


def booking_fields(host) -> set[str]:
    return set(build_schema(host)._schema.type_map["Booking"].fields)


def test_a_type_has_the_fields_its_hosts_addons_add_and_no_others(tmp_path):
    full = load_host(environ=base_environ(tmp_path))
    bookings_only = load_host(wanted=["booking"], environ=base_environ(tmp_path))
    # Built in both orders in one process: neither host's extensions leak into the other's schema.
    assert "access" in booking_fields(full)
    assert "access" not in booking_fields(bookings_only)
    assert "access" in booking_fields(full)
    assert "resivo" not in build_schema(load_host(wanted=["door_access"], environ=base_environ(tmp_path))) \
        ._schema.type_map["DoorIntegration"].fields


def test_plans_and_declared_loads_are_the_hosts(tmp_path):
    full = load_host(environ=base_environ(tmp_path))
    bookings_only = load_host(wanted=["booking"], environ=base_environ(tmp_path))
    assert "access" in full.registry.preload_plans["Booking"]
    assert "access" not in bookings_only.registry.preload_plans["Booking"]
    # A field that is one loader's answer is declared once, on the field; it needs no plan.
    build_schema(bookings_only)
    assert bookings_only.registry.declared_loads["Booking"]["customer"] == ("booking.customer", "customer_id")
    assert bookings_only.registry.declared_loads["BookableObject"]["subObjects"] == ("booking.sub_objects", "row_id")
    assert "customer" not in bookings_only.registry.preload_plans["Booking"]


async def test_a_write_empties_the_token_cache_of_its_own_host_only(tmp_path, sqlite_template):
    import shutil

    database = tmp_path / "shared.sqlite3"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    writer = load_host(environ=base_environ(tmp_path, url))
    other = load_host(environ=base_environ(tmp_path, url))
    try:
        known = KnownToken(1, "app", "frontend", None, None)
        now = writer.clock.now()
        for host in (writer, other):
            token_cache(host).put("digest", known, now)
        async with writer.database.session() as session:
            await session.execute(update(ApiToken).where(ApiToken.id == 1).values(name="renamed"))
            await session.commit()
        assert len(token_cache(writer)) == 0, "the writing host forgets at once"
        assert token_cache(other).get("digest", now, 10) == known, "another host learns when its entry runs out"
    finally:
        await writer.database.dispose()
        await other.database.dispose()
