"""Existing data moves: a database at the heads from before the door-access core (base_0001,
booking_0001, resivo_0002) with real rows — an ACTIVE grant, a FAILED one, a REVOKING one, a
mapping on a sub-object, log entries — upgraded to today's heads keeps every row under its id in
the new tables, and the moved ACTIVE booking still revokes at a revoke status."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import bindparam, select, text

from addon.base.public import (
    Role,
    UTCDateTime,
    commit,
    create_app,
    create_token,
    pending_model_changes,
    secret_box,
    upgrade,
)
from addon.door_access.models import (
    AccessCallLog,
    AccessGrant,
    AccessSetRecord,
    Desired,
    DoorIntegration,
    DoorMapping,
    GrantState,
    SetStatus,
)
from addon.door_access.public import call_log
from addon.resivo.client import Recipient, RemoteAccessRequest
from addon.resivo.client import ResivoCredentials as WireCredentials
from addon.resivo.models import PRODUCTION_BASE_URL, ResivoCredentials
from tests.conftest import GraphQLClient, _postgres_admin, run_aside
from tests.door_access.helpers import BOOKING_FIELDS, create_booking, set_status
from tests.resivo.host_helpers import SANDBOX_URL
from tests.support.ids import global_id, row_id

pytestmark = [pytest.mark.anyio, pytest.mark.all_databases]

OLD_HEADS = "resivo_0002"  # with base_0001 and booking_0001 below it: the heads before the move
OLD_TABLES = {"resivo_integration", "resivo_door_mapping", "resivo_access_grant", "resivo_call_log"}
AUTH_FIELD = "resivo_authorization_id"  # the booking field the set-up guide used to create
STUDIO_DOORS = [{"id": "duinpark-studio-main", "name": "Studio building main door"},
                {"id": "duinpark-studio-side", "name": "Studio building side door"}]
# Ids well apart from 1 and from each other, so that a row that was renumbered cannot pass.
ACTIVE_ID, FAILED_ID, REVOKING_ID = 21, 22, 23
DUINPARK_ID, OLD_ID = 7, 9
STUDIO_1, BUILDING, SAUNA = 4, 3, 5
ACTIVE_BOOKING, FAILED_BOOKING, REVOKING_BOOKING = 41, 42, 43
FAILED_TEXT = "Door 'Old sauna door' does not exist on site 'Duinpark' (demo-site)."
SITE_LABEL = {"template": "site {name!r} ({id})", "params": {"name": "Duinpark", "id": "demo-site"}}
FAILED_I18N = {"template": "Door {name!r} does not exist on {where}.",
               "params": {"name": "Old sauna door", "where": SITE_LABEL}}


@pytest.fixture
def database_url(request, tmp_path):
    """An empty database (not the shared migrated template): the test builds the old schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'before-the-move.sqlite3'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = "move_" + uuid.uuid4().hex[:12]
    run_aside(_postgres_admin, server, f'CREATE DATABASE "{name}"')
    yield server.url(database=name)
    run_aside(_postgres_admin, server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def insert(connection, table: str, **values: Any) -> None:
    """A plain INSERT; datetimes and JSON are bound with the column types of the old schema."""
    types = {k: UTCDateTime() for k, v in values.items() if isinstance(v, datetime)}
    types |= {k: sa.JSON() for k, v in values.items() if isinstance(v, dict | list)}
    statement = text(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(':' + k for k in values)})")
    await connection.execute(statement.bindparams(*(bindparam(k, type_=t) for k, t in types.items())), values)


async def make_set_at_the_sandbox(sandbox, booking_id: int, valid_from: datetime, valid_to: datetime) -> str:
    """An access set as the old code made it for a booking; its id."""
    async with sandbox.connector() as connector:
        client = connector.client(WireCredentials(base_url=SANDBOX_URL, site_owner_id="demo-owner",
                                                  client_id="demo-client", client_secret="demo-secret"))
        made = await client.create_remote_access("demo-site", RemoteAccessRequest(
            display_name=f"B-{booking_id} – Studio 1", component_ids=[d["id"] for d in STUDIO_DOORS],
            valid_from=valid_from, valid_to=valid_to, recipients=[Recipient(email="anna@example.de")], locale="de",
            external_reference=f"ireserve-i{DUINPARK_ID}-b{booking_id}-g1"))
    return made.id


async def build_old_database(host, sandbox, now: datetime) -> dict[str, dict[int, dict[str, Any]]]:
    """Migrate to the old heads and fill the old tables; the rows inserted, by table and id."""
    await upgrade(host, OLD_HEADS)
    start, end = now + timedelta(days=10), now + timedelta(days=12)
    sets = {b: await make_set_at_the_sandbox(sandbox, b, start - timedelta(minutes=30), end)
            for b in (ACTIVE_BOOKING, REVOKING_BOOKING)}
    rows: dict[str, dict[int, dict[str, Any]]] = {
        "resivo_integration": {
            DUINPARK_ID: dict(name="Duinpark doors", active=True, site_owner_id="demo-owner", client_id="demo-client",
                              client_secret_encrypted=secret_box(host).encrypt("demo-secret"), site_id="demo-site",
                              target_mobile_app_id=4711, base_url=SANDBOX_URL, trigger_statuses=["confirmed", "paid"],
                              revoke_statuses=["cancelled"], time_before_minutes=30, authorization_id_field=AUTH_FIELD,
                              default_language="nl", created_at=now - timedelta(days=30),
                              updated_at=now - timedelta(days=2)),
            OLD_ID: dict(name="Strandhuis (old)", active=False, site_owner_id="demo-owner", client_id="demo-client",
                         client_secret_encrypted=secret_box(host).encrypt("demo-secret"), site_id=None,
                         target_mobile_app_id=None, base_url=PRODUCTION_BASE_URL, trigger_statuses=[],
                         revoke_statuses=[], time_before_minutes=0, authorization_id_field=None,
                         default_language="en", created_at=now - timedelta(days=20),
                         updated_at=now - timedelta(days=20)),
        },
        "resivo_door_mapping": {
            12: dict(integration_id=DUINPARK_ID, object_id=STUDIO_1, updated_at=now - timedelta(days=3),
                     component_names=[d["name"] for d in STUDIO_DOORS]),  # on a sub-object
            13: dict(integration_id=DUINPARK_ID, object_id=SAUNA, updated_at=now - timedelta(days=3),
                     component_names=["Old sauna door"]),
        },
        "resivo_access_grant": {
            ACTIVE_ID: dict(booking_id=ACTIVE_BOOKING, integration_id=DUINPARK_ID, desired="active", state="ACTIVE",
                            intent_version=2, generation=1, authorization_id=sets[ACTIVE_BOOKING],
                            superseded_authorization_id=None, site_id="demo-site", doors=STUDIO_DOORS,
                            valid_from=start - timedelta(minutes=30), valid_to=end, locale="de", attempts=1,
                            last_error=None, last_error_i18n=None, next_attempt_at=None, claimed_until=None,
                            claimed_by=None, revoke_requested_by=None, revoke_requested_at=None,
                            created_at=now - timedelta(days=1), updated_at=now - timedelta(days=1)),
            FAILED_ID: dict(booking_id=FAILED_BOOKING, integration_id=DUINPARK_ID, desired="active", state="FAILED",
                            intent_version=1, generation=1, authorization_id=None, superseded_authorization_id=None,
                            site_id=None, doors=[], valid_from=None, valid_to=None, locale="de", attempts=3,
                            last_error=FAILED_TEXT, last_error_i18n=FAILED_I18N, next_attempt_at=None,
                            claimed_until=None, claimed_by=None, revoke_requested_by=None, revoke_requested_at=None,
                            created_at=now - timedelta(days=1), updated_at=now - timedelta(hours=5)),
            REVOKING_ID: dict(booking_id=REVOKING_BOOKING, integration_id=DUINPARK_ID, desired="revoked",
                              state="REVOKING", intent_version=3, generation=1, authorization_id=sets[REVOKING_BOOKING],
                              superseded_authorization_id=None, site_id="demo-site", doors=STUDIO_DOORS,
                              valid_from=start - timedelta(minutes=30), valid_to=end, locale="de", attempts=2,
                              last_error="Resivo answered 503 to revoke.", last_error_i18n=None,
                              next_attempt_at=now - timedelta(minutes=1), claimed_until=None, claimed_by=None,
                              revoke_requested_by="staff: front desk", revoke_requested_at=now - timedelta(hours=1),
                              created_at=now - timedelta(days=1), updated_at=now - timedelta(hours=1)),
        },
        "resivo_call_log": {
            31: dict(integration_id=DUINPARK_ID, booking_id=ACTIVE_BOOKING, at=now - timedelta(days=1),
                     operation="token", method="POST", path="/oauth2/token", http_status=200, duration_ms=12,
                     outcome="ok", error=None),
            32: dict(integration_id=DUINPARK_ID, booking_id=ACTIVE_BOOKING, at=now - timedelta(days=1),
                     operation="create_remote_access", method="POST", path="/v8/sites/demo-site/remote-access",
                     http_status=201, duration_ms=85, outcome="ok", error=None),
            33: dict(integration_id=DUINPARK_ID, booking_id=REVOKING_BOOKING, at=now - timedelta(hours=1),
                     operation="revoke", method="DELETE",
                     path=f"/v8/sites/demo-site/authorizations/{sets[REVOKING_BOOKING]}",
                     http_status=503, duration_ms=40, outcome="transient", error="Resivo answered 503 to revoke."),
            34: dict(integration_id=OLD_ID, booking_id=None, at=now - timedelta(days=20), operation="list_sites",
                     method="GET", path="/v8/site-owners/demo-owner/sites", http_status=401, duration_ms=9,
                     outcome="permanent", error="Client id or secret rejected."),
        },
    }
    async with host.database.engine.begin() as connection:
        statuses = dict((await connection.execute(text("SELECT code, id FROM booking_status"))).all())
        await insert(connection, "booking_field", id=2, code=AUTH_FIELD, label="Resivo authorisation id")
        await insert(connection, "booking_customer", id=5, name="Anna", email="anna@example.de", phone=None,
                     language="de")
        for ident, name, parent in ((BUILDING, "Studio building", None), (STUDIO_1, "Studio 1", BUILDING),
                                    (SAUNA, "Sauna", None)):
            await insert(connection, "booking_object", id=ident, code=name.lower().replace(" ", "-"), name=name,
                         time_zone="Europe/Amsterdam", parent_id=parent)
        for ident, object_id, status in ((ACTIVE_BOOKING, STUDIO_1, "confirmed"), (FAILED_BOOKING, SAUNA, "confirmed"),
                                         (REVOKING_BOOKING, STUDIO_1, "cancelled")):
            await insert(connection, "booking_booking", id=ident, reference=f"B-{ident}", object_id=object_id,
                         customer_id=5, status_id=statuses[status], start_at=start, end_at=end,
                         created_at=now - timedelta(days=1), updated_at=now - timedelta(hours=1))
        for ident, booking_id in ((51, ACTIVE_BOOKING), (53, REVOKING_BOOKING)):
            await insert(connection, "booking_field_value", id=ident, booking_id=booking_id, field_id=2,
                         value=sets[booking_id])
        for table, by_id in rows.items():
            for ident, values in by_id.items():
                await insert(connection, table, id=ident, **values)
        if connection.dialect.name == "postgresql":
            # As in a database that made these rows itself: each id sequence stands after its rows.
            for table in ("booking_field", "booking_customer", "booking_object", "booking_booking",
                          "booking_field_value", *rows):
                await connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                              f"(SELECT MAX(id) FROM {table}))"))
    return rows


async def table_names(host) -> set[str]:
    async with host.database.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))


@pytest.fixture
async def moved(host, wired_sandbox, clock):
    """The old database with its rows, upgraded to today's heads; the rows as inserted."""
    rows = await build_old_database(host, wired_sandbox, clock.now())
    assert OLD_TABLES <= await table_names(host)
    await upgrade(host)
    return rows


@pytest.fixture
async def api(moved, host):
    """An admin's GraphQL client on the upgraded database."""
    async with host.database.session() as session:
        token = await create_token(session, "after-the-move", Role.ADMIN)
        await commit(session)
    transport = httpx.ASGITransport(app=create_app(host))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http, token)


async def test_every_row_keeps_its_id_in_the_new_tables(host, moved):
    tables = await table_names(host)
    assert tables.isdisjoint(OLD_TABLES)
    assert {"door_integration", "door_mapping", "door_access_grant", "door_call_log", "resivo_credentials"} <= tables
    assert await pending_model_changes(host) == []  # the moved schema is exactly the models'

    policy = ("name", "active", "trigger_statuses", "revoke_statuses", "time_before_minutes", "authorization_id_field",
              "default_language", "created_at", "updated_at")
    authentication = ("site_owner_id", "client_id", "client_secret_encrypted", "site_id", "target_mobile_app_id",
                      "base_url")
    async with host.database.session() as session:
        integrations = {r.id: r for r in (await session.execute(select(DoorIntegration))).scalars()}
        credentials = {r.integration_id: r for r in (await session.execute(select(ResivoCredentials))).scalars()}
        mappings = {r.id: r for r in (await session.execute(select(DoorMapping))).scalars()}
        grants = {r.id: r for r in (await session.execute(select(AccessGrant))).scalars()}
        log = {r.id: r for r in (await session.execute(select(AccessCallLog))).scalars()}

    old = moved["resivo_integration"]
    assert set(integrations) == set(credentials) == set(old) == {DUINPARK_ID, OLD_ID}
    for ident, values in old.items():
        assert integrations[ident].backend == "resivo"
        assert {k: getattr(integrations[ident], k) for k in policy} == {k: values[k] for k in policy}
        assert {k: getattr(credentials[ident], k) for k in authentication} == {k: values[k] for k in authentication}
        assert credentials[ident].updated_at == values["updated_at"]
        assert secret_box(host).decrypt(credentials[ident].client_secret_encrypted) == "demo-secret"

    assert {ident: (m.integration_id, m.object_id, m.door_names, m.updated_at) for ident, m in mappings.items()} == {
        ident: (v["integration_id"], v["object_id"], v["component_names"], v["updated_at"])
        for ident, v in moved["resivo_door_mapping"].items()}

    old = moved["resivo_access_grant"]
    assert set(grants) == set(old)
    renamed = {"site_id": "location_id"}
    for ident, values in old.items():
        grant = grants[ident]
        # The replaced set moved into the journal (below).
        expected = {renamed.get(k, k): v for k, v in values.items() if k not in ("desired", "superseded_authorization_id")}
        assert {k: getattr(grant, k) for k in expected} == expected, ident
        assert grant.desired == values["desired"].upper()  # one vocabulary: the states' upper case
    assert (grants[ACTIVE_ID].desired, grants[ACTIVE_ID].state) == (Desired.ACTIVE, GrantState.ACTIVE)
    assert (grants[FAILED_ID].desired, grants[FAILED_ID].state) == (Desired.ACTIVE, GrantState.FAILED)
    assert (grants[REVOKING_ID].desired, grants[REVOKING_ID].state) == (Desired.REVOKED, GrantState.REVOKING)
    assert grants[ACTIVE_ID].location_id == "demo-site" and grants[FAILED_ID].location_id is None
    # Every set a grant knew of is in the journal: the live one is the grant's, the one being
    # revoked is still to settle (and keeps the grant from resting until it is).
    async with host.database.session() as session:
        journal = {(r.grant_id, r.set_id): (r.status, r.location_id)
                   for r in (await session.execute(select(AccessSetRecord))).scalars()}
    assert journal == {
        (ACTIVE_ID, grants[ACTIVE_ID].authorization_id): (SetStatus.CURRENT, "demo-site"),
        (REVOKING_ID, grants[REVOKING_ID].authorization_id): (SetStatus.LIVE, "demo-site"),
    }

    old = moved["resivo_call_log"]
    assert set(log) == set(old)
    for ident, values in old.items():
        assert {k: getattr(log[ident], k) for k in values} == values, ident


async def test_new_rows_get_ids_after_the_moved_ones(host, moved, clock):
    # On PostgreSQL the id sequences had to be moved on; reusing an id would fail (or worse, mix rows).
    async with host.database.session() as session:
        integration = DoorIntegration(name="New", backend="resivo", trigger_statuses=[], revoke_statuses=[])
        session.add(integration)
        await session.flush()
        mapping = DoorMapping(integration_id=integration.id, object_id=BUILDING, door_names=["Main entrance"])
        grant = AccessGrant(booking_id=ACTIVE_BOOKING, integration_id=integration.id, desired=Desired.ACTIVE,
                            state=GrantState.PENDING)
        entry = AccessCallLog(integration_id=integration.id, operation="token", method="POST", path="/oauth2/token",
                              duration_ms=1, outcome="ok", at=clock.now())
        session.add_all([mapping, grant, entry])
        await session.commit()
        assert (integration.id, mapping.id, grant.id, entry.id) == (OLD_ID + 1, 14, REVOKING_ID + 1, 35)


async def test_the_moved_access_still_works_through_the_api(api, host, wired_sandbox):
    gql = api
    by_id = {s["id"]: s for s in await wired_sandbox.sets()}
    assert [s["status"] for s in by_id.values()] == ["active", "active"]

    # The integration, its Authentication tab and its mapping on a sub-object.
    found = (await gql("query($id: ID!) { doorIntegration(id: $id) { name backend active authorizationIdField"
                       " resivo { siteOwnerId clientSecretSet siteId targetMobileAppId baseUrl }"
                       " doorMappings { object { id } doorNames warnings } } }", {"id": str(DUINPARK_ID)}))
    integration = found["doorIntegration"]
    assert (integration["name"], integration["backend"], integration["active"]) == ("Duinpark doors", "resivo", True)
    assert integration["resivo"] == {"siteOwnerId": "demo-owner", "clientSecretSet": True, "siteId": "demo-site",
                                     "targetMobileAppId": 4711, "baseUrl": SANDBOX_URL}
    assert {m["object"]["id"]: m["doorNames"] for m in integration["doorMappings"]} == {
        global_id("BookableObject", STUDIO_1): [d["name"] for d in STUDIO_DOORS],
        global_id("BookableObject", SAUNA): ["Old sauna door"]}
    report = (await gql("query($id: ID!) { testDoorConnection(integrationId: $id) { ok message } }",
                        {"id": str(DUINPARK_ID)}))["testDoorConnection"]
    assert report["ok"], report  # the moved secret decrypts and opens the sandbox

    # The grants answer in the new vocabulary; the FAILED one's error still renders from its template.
    booking_query = f"query($id: ID!) {{ booking(id: $id) {{ {BOOKING_FIELDS} }} }}"
    [active] = (await gql(booking_query, {"id": str(ACTIVE_BOOKING)}))["booking"]["access"]
    assert (active["state"], active["desired"], active["integration"]["id"]) == ("ACTIVE", "ACTIVE", global_id("DoorIntegration", DUINPARK_ID))
    assert active["doors"] == STUDIO_DOORS and active["authorizationId"] in by_id
    [failed] = (await gql(booking_query, {"id": str(FAILED_BOOKING)}))["booking"]["access"]
    assert (failed["state"], failed["lastError"]) == ("FAILED", FAILED_TEXT)

    # The ACTIVE booking still revokes at a revoke status.
    cancelled = await set_status(gql, str(ACTIVE_BOOKING), "cancelled")
    [access] = cancelled["access"]
    assert (access["state"], access["desired"]) == ("REVOKED", "REVOKED"), access
    assert {s["id"]: s["status"] for s in await wired_sandbox.sets()}[active["authorizationId"]] == "revoked"

    # The REVOKING one finishes its revoke; the FAILED one can be queued again.
    resynced = await gql("mutation($i: BookingAccessInput!) { resyncBookingAccess(input: $i) {"
                         f" booking {{ {BOOKING_FIELDS} }} errors {{ code }} }} }}",
                         {"i": {"bookingId": str(REVOKING_BOOKING)}})
    assert resynced["resyncBookingAccess"]["booking"]["access"][0]["state"] == "REVOKED"
    assert [s["status"] for s in await wired_sandbox.sets()] == ["revoked", "revoked"]
    retried = await gql("mutation($i: RetryFailedAccessInput!) { retryFailedAccess(input: $i)"
                        " { requeued errors { code } } }",
                        {"i": {"integrationId": str(DUINPARK_ID)}})
    assert retried["retryFailedAccess"] == {"requeued": 1, "errors": []}

    # A new booking on the sub-object gets access through the moved mapping; new ids follow the old.
    made = await create_booking(gql, str(STUDIO_1), "2099-07-10T15:00:00+02:00", "2099-07-12T10:00:00+02:00",
                                status="confirmed")
    assert made["access"][0]["state"] == "ACTIVE", made["access"]
    assert row_id(made["id"]) > REVOKING_BOOKING
    async with host.database.session() as session:
        new_grant = (await session.execute(
            select(AccessGrant).where(AccessGrant.booking_id == row_id(made["id"])))).scalar_one()
    assert new_grant.id > REVOKING_ID

    # The integration log shows the moved entries and the new ones after them.
    await call_log(host).flush()
    log = await gql("query($id: ID!) { integrationLog(integrationId: $id, first: 100)"
                    " { edges { node { id operation } } } }",
                    {"id": str(DUINPARK_ID)})
    ids = [row_id(e["node"]["id"]) for e in log["integrationLog"]["edges"]]
    assert {31, 32, 33} <= set(ids) and 34 not in ids
    assert ids == sorted(ids, reverse=True) and ids[0] > 34
