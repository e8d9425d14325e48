"""Helpers of the door-access core's tests: admin set-up through the GraphQL API, bookings and
their access, against the in-memory lock vendor."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from addon.door_access.models import AccessGrant, AccessSetRecord

ERRORS = "errors { field code message }"
INTEGRATION_FIELDS = ("id name backend active triggerStatuses revokeStatuses timeBeforeMinutes authorizationIdField "
                      "defaultLanguage")
ACCESS_FIELDS = ("access { integration { id name } state desired authorizationId doors { id name } validFrom validTo "
                 "locale attempts lastError nextAttemptAt }")
BOOKING_FIELDS = f"id reference status {{ code }} fields {{ code value }} {ACCESS_FIELDS}"
HOUSE_DOORS = ["Main door", "Side door"]
AUTH_FIELD = "door_authorization_id"


def future(days: int = 10, hour: int = 15) -> str:
    """A local wall-clock time ``days`` ahead, in Amsterdam summer offset."""
    day = (datetime.now(timezone.utc) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:00:00+02:00"


async def create_booking_field(gql, code: str = AUTH_FIELD) -> None:
    await gql("mutation($i: CreateBookingFieldInput!) { createBookingField(input: $i) { errors { code } } }",
              {"i": {"code": code, "label": "Door authorisation id"}})


async def create_objects(gql) -> dict[str, str]:
    """Studio building (with Studio 1 and Studio 2), Meeting room; returns name → id."""
    ids = {}
    mutation = "mutation($i: CreateObjectInput!) { createObject(input: $i) { object { id name } errors { message } } }"
    building = await gql(mutation, {"i": {"code": "studio-building", "name": "Studio building",
                                          "timeZone": "Europe/Amsterdam"}})
    ids["Studio building"] = building["createObject"]["object"]["id"]
    for code, name in (("studio-1", "Studio 1"), ("studio-2", "Studio 2")):
        row = await gql(mutation, {"i": {"code": code, "name": name, "parentId": ids["Studio building"]}})
        ids[name] = row["createObject"]["object"]["id"]
    room = await gql(mutation, {"i": {"code": "meeting-room", "name": "Meeting room", "timeZone": "Europe/Amsterdam"}})
    ids["Meeting room"] = room["createObject"]["object"]["id"]
    return ids


async def create_integration(gql, **overrides) -> dict:
    values = {
        "backend": "memory",
        "name": "Duinpark doors",
        "triggerStatuses": ["confirmed", "paid"],
        "revokeStatuses": ["cancelled"],
        "timeBeforeMinutes": 30,
        "authorizationIdField": AUTH_FIELD,
        "defaultLanguage": "nl",
    }
    values.update(overrides)
    data = await gql(
        "mutation($input: CreateDoorIntegrationInput!) { createDoorIntegration(input: $input) {"
        f" integration {{ {INTEGRATION_FIELDS} }} {ERRORS} }} }}", {"input": values})
    return data["createDoorIntegration"]


async def update_integration(gql, integration_id, **changes) -> dict:
    data = await gql(
        "mutation($input: UpdateDoorIntegrationInput!) { updateDoorIntegration(input: $input) {"
        f" integration {{ {INTEGRATION_FIELDS} }} {ERRORS} }} }}", {"input": {"id": integration_id, **changes}})
    return data["updateDoorIntegration"]


async def set_mapping(gql, integration_id, object_id, names) -> dict:
    data = await gql(
        "mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) { mapping { doorNames doors { name id online }"
        f" warnings }} warnings {ERRORS} }} }}",
        {"i": {"integrationId": integration_id, "objectId": object_id, "doorNames": names}})
    return data["setDoorMapping"]


async def set_active(gql, integration_id, active: bool = True) -> dict:
    data = await gql(
        "mutation($i: SetDoorIntegrationActiveInput!) { setDoorIntegrationActive(input: $i) {"
        f" integration {{ active }} {ERRORS} }} }}", {"i": {"integrationId": integration_id, "active": active}})
    return data["setDoorIntegrationActive"]


async def configured(gql, **overrides) -> tuple[str, dict[str, str]]:
    """The set-up guide's acceptance set-up on the memory lock: trigger confirmed (and paid), revoke
    cancelled, 30 minutes before, the authorisation id field, default nl, Studio building → two
    doors; active."""
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql, **overrides)
    assert created["errors"] == [], created
    integration_id = created["integration"]["id"]
    mapped = await set_mapping(gql, integration_id, objects["Studio building"], HOUSE_DOORS)
    assert mapped["errors"] == [], mapped
    activated = await set_active(gql, integration_id)
    assert activated["errors"] == [], activated
    return integration_id, objects


async def create_booking(gql, object_id, start, end, language="de", email="guest@example.com", phone=None,
                         status="option", reference=None) -> dict:
    data = await gql(
        f"mutation($i: CreateBookingInput!) {{ createBooking(input: $i) {{ booking {{ {BOOKING_FIELDS} }} {ERRORS} }} }}",
        {"i": {"objectId": object_id, "start": start, "end": end, "status": status, "reference": reference,
               "customer": {"name": "Guest", "email": email, "phone": phone, "language": language}}})
    assert data["createBooking"]["errors"] == [], data
    return data["createBooking"]["booking"]


async def set_status(gql, booking_id, status, force: bool = False) -> dict:
    data = await gql(
        f"mutation($i: SetBookingStatusInput!) {{ setBookingStatus(input: $i) {{ booking {{ {BOOKING_FIELDS} }} {ERRORS} }} }}",
        {"i": {"bookingId": booking_id, "status": status, "force": force}})
    assert data["setBookingStatus"]["errors"] == [], data
    return data["setBookingStatus"]["booking"]


async def booking(gql, booking_id) -> dict:
    return (await gql(f"query($id: ID!) {{ booking(id: $id) {{ {BOOKING_FIELDS} }} }}", {"id": booking_id}))["booking"]


def field_value(booking_data: dict, code: str = AUTH_FIELD):
    return next((f["value"] for f in booking_data["fields"] if f["code"] == code), None)


async def grants(host) -> list[AccessGrant]:
    async with host.database.session() as session:
        return list((await session.execute(select(AccessGrant).order_by(AccessGrant.id))).scalars().all())


async def journal_of(host, grant_id: int) -> list[AccessSetRecord]:
    """Every access set the engine asked for on the grant's behalf, oldest first."""
    async with host.database.session() as session:
        return list((await session.execute(
            select(AccessSetRecord).where(AccessSetRecord.grant_id == grant_id).order_by(AccessSetRecord.id)
        )).scalars().all())
