"""Privacy by role: the frontend role (booking sites, guest portals) reads bookings without the
private fields. Each one answers null with a FORBIDDEN error at its own path, and the rest of the
query answers as usual; staff and admins read everything."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from addon.base.core.events import commit
from addon.base.core.i18n import Message
from addon.booking.public import hide_field_values_from_frontend
from addon.door_access.models import AccessGrant
from tests.booking.helpers import create_booking as create_plain_booking
from tests.booking.helpers import create_object
from tests.conftest import GraphQLClient, count_statements
from tests.door_access.conftest import memory, vendor  # noqa: F401  (fixtures: the in-memory lock vendor)
from tests.door_access.helpers import (
    AUTH_FIELD,
    configured,
    create_booking,
    create_booking_field,
    future,
    update_integration,
)

pytestmark = pytest.mark.anyio

NOTE_FIELD = "room_note"  # a booking field nobody declared private

EVERYTHING = """query($id: ID!) { booking(id: $id) {
  reference
  customer { name email phone language }
  status { code }
  fields { code value }
  history { to { code } at by }
  access { state doors { name } validFrom authorizationId lastError warnings revokeRequestedBy revokeRequestedAt
           integration { name backend } }
} }"""


def as_role(http, tokens, role: str) -> GraphQLClient:
    return GraphQLClient(http, tokens[role])


async def set_field(gql, booking_id, code, value) -> None:
    data = await gql("mutation($i: SetBookingFieldInput!) { setBookingField(input: $i) { errors { code } } }",
                     {"i": {"bookingId": booking_id, "field": code, "value": value}})
    assert data["setBookingField"]["errors"] == []


@pytest.fixture
async def booked(host, gql, http, tokens, memory):  # noqa: F811
    """A booking with every private field filled: confirmed by a staff token (history names it), door
    access given (the authorisation id in its booking field), then an error text, a warning and a
    revocation request stored on the grant."""
    await configured(gql)
    objects = (await gql("{ objects { id name subObjects { id name } } }"))["objects"]
    studio = next(s["id"] for o in objects for s in o["subObjects"] if s["name"] == "Studio 1")
    await gql("mutation($i: CreateBookingFieldInput!) { createBookingField(input: $i) { errors { code } } }",
              {"i": {"code": NOTE_FIELD, "label": "Room note"}})
    made = await create_booking(gql, studio, future(), future(11), email="anna@example.com", phone="+31 6 1234 5678")
    await set_field(gql, made["id"], NOTE_FIELD, "late arrival")
    staff = as_role(http, tokens, "staff")
    confirmed = await staff("mutation($i: SetBookingStatusInput!) { setBookingStatus(input: $i) { errors { code } } }",
                            {"i": {"bookingId": made["id"], "status": "confirmed"}})
    assert confirmed["setBookingStatus"]["errors"] == []
    async with host.database.session() as session:
        await session.execute(update(AccessGrant).values(
            last_error="vendor said: 500 internal", revoke_requested_by="token:test-staff",
            warnings=[Message("The door {door} is offline.", {"door": "Side door"}).as_json()]))
        await commit(session)
    return made["id"]


async def test_staff_and_admins_read_every_private_field(http, tokens, booked):
    for role in ("staff", "admin"):
        booking = (await as_role(http, tokens, role)(EVERYTHING, {"id": booked}))["booking"]
        assert booking["customer"]["email"] == "anna@example.com"
        assert booking["customer"]["phone"] == "+31 6 1234 5678"
        assert "token:test-staff" in [h["by"] for h in booking["history"]]
        values = {f["code"]: f["value"] for f in booking["fields"]}
        [grant] = booking["access"]
        assert grant["state"] == "ACTIVE" and grant["authorizationId"]
        assert values == {AUTH_FIELD: grant["authorizationId"], NOTE_FIELD: "late arrival"}
        assert grant["lastError"] == "vendor said: 500 internal"
        assert grant["warnings"] == ["The door Side door is offline."]
        assert grant["revokeRequestedBy"] == "token:test-staff"


async def test_the_frontend_gets_null_and_forbidden_for_each_private_field_and_everything_else(http, tokens, booked):
    staff_view = (await as_role(http, tokens, "staff")(EVERYTHING, {"id": booked}))["booking"]
    body = await as_role(http, tokens, "frontend").raw(EVERYTHING, {"id": booked})
    booking = body["data"]["booking"]

    # Every private field: null, with its own FORBIDDEN error naming its path.
    auth_index = [f["code"] for f in staff_view["fields"]].index(AUTH_FIELD)
    expected = {("booking", "customer", "email"), ("booking", "customer", "phone"),
                ("booking", "fields", auth_index, "value"),
                *(("booking", "history", i, "by") for i in range(len(staff_view["history"]))),
                *(("booking", "access", 0, name) for name in ("authorizationId", "lastError", "warnings",
                                                              "revokeRequestedBy"))}
    assert {tuple(e["path"]) for e in body["errors"]} == expected
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert all(e["message"] == "This needs the staff role." for e in body["errors"])
    assert booking["customer"]["email"] is None and booking["customer"]["phone"] is None
    assert all(h["by"] is None for h in booking["history"])
    [grant] = booking["access"]
    assert all(grant[name] is None for name in ("authorizationId", "lastError", "warnings", "revokeRequestedBy"))
    assert {f["code"]: f["value"] for f in booking["fields"]} == {AUTH_FIELD: None, NOTE_FIELD: "late arrival"}
    assert grant["authorizationId"] is None

    # The rest answers as for staff.
    def public(view: dict) -> dict:
        access = [{k: v for k, v in g.items() if k not in ("authorizationId", "lastError", "warnings",
                                                             "revokeRequestedBy")} for g in view["access"]]
        return {"reference": view["reference"], "customer": (view["customer"]["name"], view["customer"]["language"]),
                "status": view["status"], "history": [(h["to"], h["at"]) for h in view["history"]],
                "access": access}

    assert public(booking) == public(staff_view)
    assert grant["doors"] and grant["integration"]["name"] == "Duinpark doors"
    # No private value is anywhere in the answer, not even in an error text.
    text = str(body)
    for secret in ("anna@example.com", "1234 5678", "token:test-staff", staff_view["access"][0]["authorizationId"],
                   "500 internal", "Side door is offline"):
        assert secret not in text


async def test_the_rule_holds_on_every_booking_of_a_page(http, tokens, gql, booked):
    objects = (await gql("{ objects { id } }"))["objects"]
    await create_booking(gql, objects[0]["id"], future(20), future(21), email="ben@example.com")
    query = "{ bookings(first: 10) { edges { node { reference customer { name email } } } } }"
    body = await as_role(http, tokens, "frontend").raw(query)
    nodes = [e["node"] for e in body["data"]["bookings"]["edges"]]
    assert len(nodes) == 2 and all(n["customer"]["name"] == "Guest" and n["customer"]["email"] is None for n in nodes)
    assert sorted(tuple(e["path"]) for e in body["errors"]) == [
        ("bookings", "edges", i, "node", "customer", "email") for i in range(2)]
    assert "errors" not in await as_role(http, tokens, "staff").raw(query)


async def test_the_frontend_reads_the_public_part_without_errors(http, tokens, booked):
    query = """query($id: ID!) { booking(id: $id) { reference customer { name language } fields { code }
      history { to { code } at } access { state desired doors { name } validFrom validTo locale
      integration { name } } } }"""
    body = await as_role(http, tokens, "frontend").raw(query, {"id": booked})
    assert "errors" not in body
    assert body["data"]["booking"]["access"][0]["state"] == "ACTIVE"


async def test_booking_fields_say_which_values_are_private(http, tokens, booked):
    for role in ("frontend", "staff", "admin"):
        fields = (await as_role(http, tokens, role)("{ bookingFields { code staffOnly } }"))["bookingFields"]
        assert {f["code"]: f["staffOnly"] for f in fields} == {AUTH_FIELD: True, NOTE_FIELD: False}


async def test_the_private_field_follows_the_integration_active_or_not(http, tokens, gql, booked):
    frontend = as_role(http, tokens, "frontend")
    query = "query($id: ID!) { booking(id: $id) { fields { code value } } }"
    integration_id = (await gql("{ doorIntegrations { id } }"))["doorIntegrations"][0]["id"]
    # Deactivated: the ids it wrote are still there, and still private.
    await gql("mutation($i: SetDoorIntegrationActiveInput!) { setDoorIntegrationActive(input: $i) { errors { code } } }",
              {"i": {"integrationId": integration_id, "active": False}})
    body = await frontend.raw(query, {"id": booked})
    assert {f["code"]: f["value"] for f in body["data"]["booking"]["fields"]} == {AUTH_FIELD: None,
                                                                                 NOTE_FIELD: "late arrival"}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    # An integration that writes its ids into the note field makes that one private too.
    changed = await update_integration(gql, integration_id, authorizationIdField=NOTE_FIELD)
    assert changed["errors"] == []
    body = await frontend.raw(query, {"id": booked})
    values = {f["code"]: f["value"] for f in body["data"]["booking"]["fields"]}
    assert values[NOTE_FIELD] is None and len(body["errors"]) == 1


async def test_private_field_codes_are_read_once_per_request(host, http, tokens, booked):
    frontend = as_role(http, tokens, "frontend")
    query = "query($n: Int!) { bookings(first: $n) { edges { node { fields { code value } } } } }"
    objects = (await as_role(http, tokens, "admin")("{ objects { id } }"))["objects"]
    for day in range(5):
        await create_booking(as_role(http, tokens, "admin"), objects[0]["id"], future(30 + day), future(31 + day))
    await frontend.raw(query, {"n": 1})  # the token's first use is written down; not counted
    with count_statements(host) as one:
        await frontend.raw(query, {"n": 1})
    with count_statements(host) as six:
        body = await frontend.raw(query, {"n": 6})
    assert len(body["data"]["bookings"]["edges"]) == 6
    assert six["n"] == one["n"]


async def test_booking_offers_the_hook_to_any_addon(host, http, tokens, gql):
    """Booking knows nothing of door access: any addon may name fields whose values are private."""
    await create_booking_field(gql, "passport_number")
    await create_booking_field(gql, "arrival_time")
    made = await create_plain_booking(gql, (await create_object(gql, "room", "Room"))["id"])
    await set_field(gql, made["id"], "passport_number", "X1234567")
    await set_field(gql, made["id"], "arrival_time", "18:00")

    async def passport_fields(session):
        return ["passport_number"]

    hide_field_values_from_frontend(host, passport_fields)
    query = "query($id: ID!) { booking(id: $id) { fields { code value } } }"
    body = await as_role(http, tokens, "frontend").raw(query, {"id": made["id"]})
    assert body["data"]["booking"]["fields"] == [{"code": "arrival_time", "value": "18:00"},
                                                 {"code": "passport_number", "value": None}]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["booking", "fields", 1, "value"], "FORBIDDEN")]
    staff = await as_role(http, tokens, "staff")(query, {"id": made["id"]})
    assert {"code": "passport_number", "value": "X1234567"} in staff["booking"]["fields"]


async def test_the_refusal_is_in_the_callers_language(http, tokens, booked):
    body = await as_role(http, tokens, "frontend").raw(
        "query($id: ID!) { booking(id: $id) { customer { email } } }", {"id": booked},
        headers={"Accept-Language": "nl"})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and error["message"] != "This needs the staff role."
    assert "staff" in error["message"]


# -- every field the frontend role can reach is a decision ----------------------------------------

STAFF_ONLY_FIELDS = {
    "Customer.email", "Customer.phone", "StatusChange.by", "BookingFieldValue.value",
    "AccessGrant.authorizationId", "AccessGrant.lastError", "AccessGrant.warnings", "AccessGrant.revokeRequestedBy",
    "AccessGrant.deliveries", "AccessGrant.openLink", "AccessGrant.openings",
}
PUBLIC_FIELDS = {
    "Viewer.kind", "Viewer.name", "Viewer.role", "Viewer.email",
    "BookableObject.id", "BookableObject.code", "BookableObject.name", "BookableObject.timeZone",
    "BookableObject.parent", "BookableObject.subObjects",
    "BookingConnection.edges", "BookingConnection.pageInfo", "BookingConnection.totalCount", "BookingEdge.cursor",
    "BookingEdge.node", "PageInfo.hasNextPage", "PageInfo.hasPreviousPage", "PageInfo.startCursor", "PageInfo.endCursor",
    "Node.id",
    "Booking.id", "Booking.reference", "Booking.start", "Booking.end", "Booking.object", "Booking.customer",
    "Booking.status", "Booking.fields", "Booking.history", "Booking.access",
    "Customer.id", "Customer.name", "Customer.language",
    "BookingStatus.id", "BookingStatus.code", "BookingStatus.name", "BookingField.id", "BookingField.code", "BookingField.label",
    "BookingField.staffOnly", "BookingFieldValue.code", "StatusChange.at", "StatusChange.from", "StatusChange.to",
    # the lifecycle: archiving, allowed moves, names per language, forced moves, erasure (no personal data)
    "BookableObject.archived", "BookableObject.archivedAt", "BookingField.archived", "BookingField.archivedAt",
    "BookingStatus.archived", "BookingStatus.archivedAt", "BookingStatus.defaultName", "BookingStatus.names",
    "BookingStatus.nextStatuses", "BookingStatus.sequence", "LocalizedName.language", "LocalizedName.name",
    "StatusChange.forced", "Customer.erasedAt",
    "AccessGrant.id", "AccessGrant.state", "AccessGrant.desired", "AccessGrant.doors", "AccessGrant.validFrom", "AccessGrant.validTo",
    "AccessGrant.locale", "AccessGrant.attempts", "AccessGrant.nextAttemptAt", "AccessGrant.revokeRequestedAt",
    "AccessGrant.updatedAt", "AccessGrant.lastVerifiedAt", "AccessGrant.integration",
    "AccessIntegration.id", "AccessIntegration.name", "AccessIntegration.active", "AccessIntegration.backend",
    "AccessDoor.id", "AccessDoor.name",
    # reached only through the staff-only AccessGrant.deliveries (null for the frontend)
    "AccessDelivery.setId", "AccessDelivery.status", "AccessDelivery.resolution", "AccessDelivery.sentAt",
    "AccessDelivery.recipients", "AccessDelivery.locale", "AccessDelivery.observedAt",
    "AccessRecipient.email", "AccessRecipient.phoneNumber",
    # which model a grant follows (a credential, or a lock that opens on request)
    "AccessGrant.accessModel",
    # reached only through the staff-only AccessGrant.openLink and AccessGrant.openings
    "OpenLink.url", "OpenLink.delivery", "OpenLink.sentTo", "OpenLink.deliveryError", "OpenLink.language",
    "OpenLink.createdAt", "OpenLink.revokedAt",
    "DoorOpening.id", "DoorOpening.requestedAt", "DoorOpening.requestedBy", "DoorOpening.door", "DoorOpening.result",
    "DoorOpening.confirmed", "DoorOpening.refusal", "DoorOpening.message", "DoorOpening.checkedIn",
    "DoorOpening.checkinError",
}


def frontend_reachable_fields(schema, node_loaders=None) -> dict[str, list[str]]:
    """``Type.field`` → its permission classes, for every field a frontend token can query. Through
    an interface (``node``) it reaches the types whose node loader lets the frontend role read them
    (``node_loaders``: the host's registry; without it, interfaces are not followed)."""
    from addon.base.core.principal import Role
    from graphql import GraphQLInterfaceType, GraphQLObjectType, get_named_type

    graphql_schema, names = schema._schema, schema.config.name_converter

    def permissions(type_name: str) -> dict[str, list[str]]:
        return {names.get_graphql_name(f): [p.__name__ for p in f.permission_classes]
                for f in schema.get_fields(schema.get_type_by_name(type_name))}  # with the fields other addons add

    root = permissions("Query")
    pending = [get_named_type(f.type) for name, f in graphql_schema.query_type.fields.items()
               if root[name] == ["RequiresFrontend"]]
    found, seen = {}, set()
    while pending:
        kind = pending.pop()
        if kind.name in seen:
            continue
        if isinstance(kind, GraphQLInterfaceType) and node_loaders is not None:
            seen.add(kind.name)
            found.update({f"{kind.name}.{name}": [] for name in kind.fields})
            pending.extend(t for t in graphql_schema.get_possible_types(kind)
                           if node_loaders[t.name].role <= Role.FRONTEND)
            continue
        if not isinstance(kind, GraphQLObjectType):
            continue
        seen.add(kind.name)
        declared = permissions(kind.name)
        for name, field in kind.fields.items():
            found[f"{kind.name}.{name}"] = declared[name]
            pending.append(get_named_type(field.type))
    return found


async def test_every_field_the_frontend_can_reach_is_public_or_staff_only(host):
    """A new field reachable by the frontend role fails here until someone decides: public, or
    ``permission_classes=[StaffOnlyField]`` (and a line in the README's role table)."""
    from addon.base.server.schema import build_schema

    reachable = frontend_reachable_fields(build_schema(host), host.registry.node_loaders)
    assert set(reachable) == PUBLIC_FIELDS | STAFF_ONLY_FIELDS, (
        f"unclassified: {sorted(set(reachable) - PUBLIC_FIELDS - STAFF_ONLY_FIELDS)}, "
        f"gone: {sorted(PUBLIC_FIELDS | STAFF_ONLY_FIELDS - set(reachable))}")
    assert {name for name, permissions in reachable.items() if "StaffOnlyField" in permissions} == STAFF_ONLY_FIELDS
