"""API tokens and roles: UNAUTHENTICATED without a valid token, FORBIDDEN below the role."""

import pytest
from sqlalchemy import select

from addon.base.core.events import commit
from addon.base.core.principal import Role
from addon.base.identity.auth import authenticate, create_token, hash_token
from addon.base.identity.models import ApiToken
from addon.booking.public import BookableObject, Booking
from tests.booking.helpers import (
    CREATE_OBJECT,
    SET_STATUS,
    count,
    create_booking,
    create_object,
    history_count,
    local,
)

pytestmark = pytest.mark.anyio

READ = "{ bookingStatuses { code } }"
VIEWER = "{ viewer { name role } }"


def only_error(body: dict, code: str) -> dict:
    assert body["data"] is None, "no data without permission"
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    return error


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer irs_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "irs_just-the-token"},
    ],
)
async def test_missing_or_wrong_token_is_unauthenticated(http, tokens, headers):
    response = await http.post("/graphql", json={"query": READ}, headers=headers)
    assert response.status_code == 200
    error = only_error(response.json(), "UNAUTHENTICATED")
    assert "Authorization: Bearer" in error["message"]


async def test_token_with_another_scheme_spelling_works(http, tokens):
    response = await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"bearer  {tokens['staff']}"})
    assert response.json()["data"]["viewer"] == {"name": "test-staff", "role": "STAFF"}


async def test_every_role_reads(gql, tokens):
    for role in ("frontend", "staff", "admin"):
        data = await gql(VIEWER + " ", token=tokens[role])
        assert data["viewer"] == {"name": f"test-{role}", "role": role.upper()}
        assert (await gql("{ objects { id } bookings(first: 1) { edges { cursor } } }", token=tokens[role]))


async def test_unauthenticated_mutation_changes_nothing(gql, host):
    body = await gql.raw(CREATE_OBJECT, {"input": {"code": "x", "name": "X"}}, token=None)
    only_error(body, "UNAUTHENTICATED")
    assert await count(host, BookableObject) == 0


async def test_frontend_cannot_change_a_booking_status(gql, host, tokens):
    obj = await create_object(gql, "room", "Room")
    booking = await create_booking(gql, obj["id"])
    body = await gql.raw(SET_STATUS, {"input": {"bookingId": booking["id"], "status": "cancelled"}},
                         token=tokens["frontend"])
    error = only_error(body, "FORBIDDEN")
    assert "staff" in error["message"]
    assert (await gql("query($id: ID!) { booking(id: $id) { status { code } } }", {"id": booking["id"]}))[
        "booking"]["status"]["code"] == "option"
    assert await history_count(host, booking["id"]) == 1


async def test_frontend_cannot_create_a_booking(gql, host, tokens):
    obj = await create_object(gql, "room", "Room")
    body = await gql.raw("""
        mutation($input: CreateBookingInput!) { createBooking(input: $input) { booking { id } errors { code } } }""",
        {"input": {"objectId": obj["id"], "customer": {"name": "G"}, "start": local(1).isoformat(),
                   "end": local(2).isoformat()}}, token=tokens["frontend"])
    only_error(body, "FORBIDDEN")
    assert await count(host, Booking) == 0


async def test_staff_cannot_create_objects(gql, host, tokens):
    body = await gql.raw(CREATE_OBJECT, {"input": {"code": "x", "name": "X"}}, token=tokens["staff"])
    error = only_error(body, "FORBIDDEN")
    assert "admin" in error["message"]
    assert await count(host, BookableObject) == 0


async def test_staff_may_create_bookings_and_change_statuses(gql, tokens):
    obj = await create_object(gql, "room", "Room")
    staff = type(gql)(gql.http, tokens["staff"])
    booking = await create_booking(staff, obj["id"])
    data = await staff(SET_STATUS, {"input": {"bookingId": booking["id"], "status": "confirmed"}})
    assert data["setBookingStatus"]["errors"] == []


async def test_replaced_token_stops_working(host, gql):
    async with host.database.session() as session:
        old = await create_token(session, "planner", Role.STAFF)
        other = await create_token(session, "other-app", Role.STAFF)
        await commit(session)
    assert (await gql(VIEWER, token=old))["viewer"]["name"] == "planner"

    async with host.database.session() as session:
        new = await create_token(session, "planner", Role.STAFF, replace=True)
        await commit(session)
    assert new != old
    only_error(await gql.raw(VIEWER, token=old), "UNAUTHENTICATED")
    assert (await gql(VIEWER, token=new))["viewer"] == {"name": "planner", "role": "STAFF"}
    assert (await gql(VIEWER, token=other))["viewer"]["name"] == "other-app", "other names are untouched"


async def test_only_a_hash_of_the_token_is_stored(host, tokens):
    async with host.database.session() as session:
        rows = (await session.execute(select(ApiToken))).scalars().all()
        stored = " ".join(str(value) for row in rows for value in row.model_dump().values())
        assert {row.token_hash for row in rows} == {hash_token(t) for t in tokens.values()}
        for token in tokens.values():
            assert token.startswith("irs_") and len(token) > 40
            assert token not in stored
            assert token[4:] not in stored
        principal = await authenticate(session, f"Bearer {tokens['admin']}")
        assert (principal.name, principal.role) == ("test-admin", Role.ADMIN)


async def test_token_needs_a_name(host):
    async with host.database.session() as session:
        with pytest.raises(ValueError, match="needs a name"):
            await create_token(session, "  ", Role.ADMIN)


def test_roles_are_ordered():
    assert Role.parse("Admin") is Role.ADMIN
    with pytest.raises(ValueError, match="unknown role 'root'"):
        Role.parse("root")
    assert Role.ADMIN > Role.STAFF > Role.FRONTEND
