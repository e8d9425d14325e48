"""Door access and the booking lifecycle: archived statuses, fields, objects and integrations,
erasing a guest's data (revoked at the lock first), and the call log's retention."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from addon.base.public import AuditEvent, audit, commit
from addon.door_access.call_log import CallEntry, call_log, prune_call_log
from addon.door_access.models import AccessCallLog
from addon.door_access.worker import Worker
from tests.door_access.helpers import (
    AUTH_FIELD,
    ERRORS,
    HOUSE_DOORS,
    booking,
    configured,
    create_booking,
    create_integration,
    future,
    set_active,
    set_mapping,
    set_status,
    update_integration,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

ARCHIVE_STATUS = f"mutation($i: ArchiveInput!) {{ archiveBookingStatus(input: $i) {{ {ERRORS} }} }}"
ARCHIVE_OBJECT = f"mutation($i: ArchiveInput!) {{ archiveObject(input: $i) {{ {ERRORS} }} }}"
ARCHIVE_FIELD = f"mutation($i: ArchiveInput!) {{ archiveBookingField(input: $i) {{ {ERRORS} }} }}"
ARCHIVE_INTEGRATION = f"""mutation($i: ArchiveDoorIntegrationInput!) {{
  archiveDoorIntegration(input: $i) {{ integration {{ id active archived }} grantsRevoked {ERRORS} }} }}"""
ERASE = f"""mutation($i: EraseCustomerInput!) {{
  eraseCustomer(input: $i) {{ customer {{ id name email phone language erasedAt }} {ERRORS} }} }}"""


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "1"}


async def status_id(gql, code: str) -> str:
    rows = (await gql("{ bookingStatuses(includeArchived: true) { id code } }"))["bookingStatuses"]
    return next(r["id"] for r in rows if r["code"] == code)


async def customer_id(gql, booking_id: str) -> str:
    return (await gql("query($id: ID!) { booking(id: $id) { customer { id } } }", {"id": booking_id}))["booking"][
        "customer"]["id"]


# -- archived statuses, fields and objects in the configuration ---------------------------------

async def test_archived_choices_are_refused_for_new_configuration_and_kept_where_used(gql, memory, vendor):
    integration_id, objects = await configured(gql)  # triggers confirmed, paid; revokes cancelled
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    await set_status(gql, made["id"], "paid")
    await gql(ARCHIVE_STATUS, {"i": {"id": await status_id(gql, "paid")}})
    # what the integration already names keeps working: edits and activation go on
    kept = await update_integration(gql, integration_id, name="Renamed", triggerStatuses=["paid", "confirmed"])
    assert kept["errors"] == [] and kept["integration"]["active"] is True
    made = await booking(gql, made["id"])
    assert made["status"]["code"] == "paid" and made["access"][0]["state"] == "ACTIVE"
    # a new choice of it is refused
    refused = await create_integration(gql, name="Second", triggerStatuses=["paid"])
    assert refused["errors"] == [{"field": "triggerStatuses", "code": "ARCHIVED",
                                  "message": "Archived statuses cannot be chosen: paid."}]
    field = (await gql("{ bookingFields { id code } }"))["bookingFields"][0]
    await gql(ARCHIVE_FIELD, {"i": {"id": field["id"]}})
    refused = await create_integration(gql, name="Third", authorizationIdField=AUTH_FIELD)
    assert refused["errors"][0]["code"] == "ARCHIVED"
    # the running integration still writes the authorisation id into its (archived) field
    assert made["fields"] == [{"code": AUTH_FIELD, "value": made["access"][0]["authorizationId"]}]

    await gql(ARCHIVE_OBJECT, {"i": {"id": objects["Meeting room"]}})
    refused = await set_mapping(gql, integration_id, objects["Meeting room"], HOUSE_DOORS[:1])
    assert refused["errors"][0]["code"] == "ARCHIVED"


# -- archiving an integration --------------------------------------------------------------------

async def test_archiving_an_integration_with_live_access_asks_what_to_do(gql, host, memory, vendor):
    integration_id, objects = await configured(gql)
    live = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert live["access"][0]["state"] == "ACTIVE"

    body = await gql(ARCHIVE_INTEGRATION, {"i": {"id": integration_id}})
    assert body["archiveDoorIntegration"]["errors"] == [{
        "field": "liveAccess", "code": "REQUIRED", "message":
        "Integration 'Duinpark doors' gives 1 bookings door access: choose whether it stays until each stay ends "
        "(KEEP_UNTIL_END) or is revoked now (REVOKE_NOW)."}]
    assert (await gql("{ doorIntegrations { id active } }"))["doorIntegrations"][0]["active"] is True

    body = await gql(ARCHIVE_INTEGRATION, {"i": {"id": integration_id, "liveAccess": "KEEP_UNTIL_END"}})
    answer = body["archiveDoorIntegration"]
    assert answer["errors"] == [] and answer["grantsRevoked"] == 0
    assert answer["integration"] == {"id": integration_id, "active": False, "archived": True}
    assert len(vendor.active_sets()) == 1, "kept until the stay ends"
    assert (await gql("{ doorIntegrations { id } }"))["doorIntegrations"] == []
    assert len((await gql("{ doorIntegrations(includeArchived: true) { id } }"))["doorIntegrations"]) == 1
    refused = await set_active(gql, integration_id)
    assert refused["errors"][0]["code"] == "ARCHIVED"
    # nothing new is granted through it
    other = await create_booking(gql, objects["Studio 2"], future(), future(11), status="confirmed")
    assert other["access"] == []


@pytest.mark.all_databases
async def test_archiving_with_revoke_now_has_the_worker_revoke_everything(gql, host, memory, vendor):
    integration_id, objects = await configured(gql)
    first = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    second = await create_booking(gql, objects["Studio 2"], future(), future(12), status="confirmed")
    assert len(vendor.active_sets()) == 2
    body = await gql(ARCHIVE_INTEGRATION, {"i": {"id": integration_id, "liveAccess": "REVOKE_NOW"}})
    assert body["archiveDoorIntegration"]["grantsRevoked"] == 2
    # the request only queues the revokes: the worker acts
    assert len(vendor.active_sets()) == 2
    assert [(await booking(gql, b["id"]))["access"][0]["state"] for b in (first, second)] == ["REVOKING", "REVOKING"]
    await Worker(host).run_until_idle()
    assert vendor.active_sets() == []
    assert [(await booking(gql, b["id"]))["access"][0]["state"] for b in (first, second)] == ["REVOKED", "REVOKED"]
    async with host.database.session() as session:
        event = (await session.execute(select(AuditEvent).where(AuditEvent.action == "integration.archive"))).scalar_one()
    assert event.changes["live_access"] == [None, "REVOKE_NOW"] and event.changes["grants_revoked"] == [None, 2]


# -- erasure ---------------------------------------------------------------------------------------

NAME, EMAIL, PHONE = "Quintessa Zébédée-Vanterpool", "q.zebedee@erasure.example", "+31 6 5550 1289"
SECOND_NAME = "Ximena Oberholtzer-Quaid"


async def rows_mentioning(host, needles: list[str]) -> list[tuple[str, str]]:
    """Every table, every column of the whole database, read back: (table, column) where a value
    contains one of ``needles`` (in any case)."""
    needles = [n.lower() for n in needles]

    def tables(connection):
        metadata = sa.MetaData()
        metadata.reflect(connection)
        return metadata

    found = []
    async with host.database.engine.connect() as connection:
        metadata = await connection.run_sync(tables)
        assert {"booking_customer", "door_access_grant", "door_call_log", "base_audit_event"} <= set(metadata.tables)
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = (value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)).lower()
                    if any(n in text for n in needles):
                        found.append((table.name, column))
    return found


@pytest.mark.all_databases
async def test_erasure_revokes_first_then_leaves_no_trace_anywhere(gql, host, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed", email=EMAIL,
                                phone=PHONE)
    await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { code } } }",
              {"i": {"id": made["id"], "customer": {"name": NAME, "email": EMAIL, "phone": PHONE, "language": "nl"}}})
    assert made["access"][0]["state"] == "ACTIVE"
    assert vendor.active_sets()[0].request.recipients[0].email == EMAIL
    await set_status(gql, made["id"], "paid")
    await gql('mutation { createBookingField(input: {code: "note", label: "Note"}) { errors { code } } }')
    await gql("mutation($i: SetBookingFieldInput!) { setBookingField(input: $i) { errors { code } } }",
              {"i": {"bookingId": made["id"], "field": "note", "value": f"Call {NAME} at {PHONE} on arrival"}})
    # Copies elsewhere: a vendor's answer quoting the recipient, an audit event with the e-mail
    # address (a sign-in attempt with it), a second booking of theirs whose grant failed by name.
    call_log(host).record(CallEntry(integration_id=None, booking_id=row_id(made["id"]), operation="create",
                                    method="POST", path="/sets", http_status=422, duration_ms=3, outcome="permanent",
                                    error=f"Recipient {NAME.upper()} <{EMAIL.upper()}> ({PHONE}) already has a set"))
    await call_log(host).flush()
    async with host.database.session() as session:
        await audit.record(session, "signin.failure", None, None, {"email": [None, EMAIL]})
        await audit.record(session, "note.add", "booking", row_id(made["id"]), {"text": [None, f"{NAME.upper()} called"]})
        await commit(session)
    assert {t for t, _ in await rows_mentioning(host, [NAME, EMAIL, PHONE])} == {
        "booking_customer", "booking_field_value", "door_call_log", "base_audit_event",
        "door_access_set"}  # where the set's link was sent

    body = await gql(ERASE, {"i": {"customerId": await customer_id(gql, made["id"])}})
    erased = body["eraseCustomer"]
    assert erased["errors"] == []
    assert erased["customer"]["name"] == "[erased]" and erased["customer"]["erasedAt"]
    assert [erased["customer"][k] for k in ("email", "phone", "language")] == [None, None, None]
    # the lock vendor got the revoke (while we still knew whom it was for)
    assert vendor.active_sets() == []
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "REVOKED" and after["access"][0]["locale"] is None
    assert await rows_mentioning(host, [NAME, EMAIL, PHONE]) == []
    async with host.database.session() as session:
        event = (await session.execute(select(AuditEvent).where(AuditEvent.action == "customer.erase"))).scalar_one()
    assert event.target_id == str(row_id(erased["customer"]["id"])) and event.actor_name == "test-admin"
    assert event.changes == {"bookings": [None, 1]}
    # asked again: nothing more to do
    again = await gql(ERASE, {"i": {"customerId": erased["customer"]["id"]}})
    assert again["eraseCustomer"]["errors"] == []


async def test_a_failed_grant_quoting_the_name_is_erased_too(gql, host, memory, vendor):
    _, objects = await configured(gql)
    data = await gql(
        "mutation($i: CreateBookingInput!) { createBooking(input: $i) { booking { id access { state lastError } } "
        "errors { code } } }",
        {"i": {"objectId": objects["Studio 1"], "start": future(), "end": future(11), "status": "confirmed",
               "customer": {"name": SECOND_NAME}}})
    made = data["createBooking"]["booking"]
    assert made["access"][0]["state"] == "FAILED" and SECOND_NAME in made["access"][0]["lastError"]
    body = await gql(ERASE, {"i": {"customerId": await customer_id(gql, made["id"])}})
    assert body["eraseCustomer"]["errors"] == []
    assert await rows_mentioning(host, [SECOND_NAME]) == []


async def test_erasure_waits_for_the_revoke_and_erases_nothing_meanwhile(gql, host, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed", email=EMAIL)
    customer = await customer_id(gql, made["id"])
    vendor.fail("revoke", kind="transient", times=1000)
    body = await gql(ERASE, {"i": {"customerId": customer}})
    assert body["eraseCustomer"]["customer"] is None
    [error] = body["eraseCustomer"]["errors"]
    assert error["code"] == "ACCESS_STILL_LIVE" and error["field"] == "customerId"
    assert "1 bookings" in error["message"]
    assert len(vendor.active_sets()) == 1
    assert sorted(t for t, _ in await rows_mentioning(host, [EMAIL])) == ["booking_customer", "door_access_set"]
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "REVOKING", "the revoke stays queued"

    vendor.clear_faults()
    clock.advance(5)
    await Worker(host).run_until_idle()
    assert vendor.active_sets() == []
    body = await gql(ERASE, {"i": {"customerId": customer}})
    assert body["eraseCustomer"]["errors"] == []
    assert await rows_mentioning(host, [EMAIL]) == []


async def test_only_admins_erase(gql, tokens, memory):
    body = await gql.raw(ERASE, {"i": {"customerId": "1"}}, token=tokens["staff"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- call log retention ------------------------------------------------------------------------------

@pytest.mark.all_databases
async def test_the_worker_prunes_call_log_entries_past_the_retention(host, clock):
    log = call_log(host)

    def entry(n: int) -> CallEntry:
        return CallEntry(integration_id=None, booking_id=None, operation=f"op{n}", method="GET", path="/doors",
                         http_status=200, duration_ms=1, outcome="ok")

    for n in range(5):
        log.record(entry(n))  # written at the clock's now
    await log.flush()
    clock.advance(timedelta(days=60).total_seconds())
    for n in range(5, 8):
        log.record(entry(n))
    await log.flush()

    async def operations() -> list[str]:
        async with host.database.session() as session:
            return list((await session.execute(select(AccessCallLog.operation).order_by(AccessCallLog.id))).scalars())

    worker = Worker(host)
    assert await worker.prune_if_due() == 0  # nothing is 90 days old yet
    clock.advance(timedelta(days=31).total_seconds())
    assert await worker.prune_if_due() == 5
    assert await operations() == ["op5", "op6", "op7"]
    clock.advance(timedelta(days=60).total_seconds())
    assert await prune_call_log(host, batch_size=2) == 3  # in batches until done
    async with host.database.session() as session:
        assert (await session.execute(select(func.count(AccessCallLog.id)))).scalar_one() == 0


async def test_the_worker_prunes_at_most_once_an_hour(host, clock):
    worker = Worker(host)
    assert await worker.prune_if_due() == 0

    async def add_old_entry() -> None:
        async with host.database.session() as session:
            session.add(AccessCallLog(at=clock.now() - timedelta(days=100), operation="old", method="GET", path="/",
                                      duration_ms=1, outcome="ok"))
            await session.commit()

    await add_old_entry()
    clock.advance(minutes=50)
    assert await worker.prune_if_due() == 0, "pruned less than an hour ago"
    clock.advance(minutes=11)
    assert await worker.prune_if_due() == 1
    await add_old_entry()
    assert await worker.prune_if_due() == 0
