"""An erasure leaves no copy behind: not in the sign-in throttle (which keeps only a hash of an
e-mail address typed at the sign-in page, and forgets it), not in the bytes of the SQLite files a
file backup would copy (the database and its -wal), and not with a second customer of the same
guest (eraseCustomersByEmail erases every customer with the address, and says how many)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from addon.base.public import AuditEvent
from tests.booking.helpers import UPDATE_BOOKING, create_booking, create_object, local

pytestmark = pytest.mark.anyio

NAME, EMAIL, PHONE = "Wilhelmina Quastenberg-Oyelaran", "W.Quastenberg@Erasure.example", "+31 6 4441 9087"
OTHER = {"name": "Bartholomew Ngata", "email": "b.ngata@erasure.example", "phone": "+64 21 555 0134"}
CUSTOMER = {"name": NAME, "email": EMAIL, "phone": PHONE, "language": "nl"}

ERASE = """mutation($i: EraseCustomerInput!) { eraseCustomer(input: $i) {
  customer { id name email erasedAt } errors { field code message } } }"""
ERASE_BY_EMAIL = """mutation($i: EraseCustomersByEmailInput!) { eraseCustomersByEmail(input: $i) {
  erased customers { id name email phone language erasedAt } errors { field code message } } }"""
CUSTOMERS = "query($e: String) { customers(email: $e) { totalCount edges { node { id name email } } } }"


def account_key(email: str) -> str:
    """How the sign-in throttle keys an e-mail address (README, Throttling): its SHA-256."""
    return "sha256:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def needles() -> list[bytes]:
    """The erased values as the files may hold them (as typed, and folded)."""
    values = [NAME, EMAIL, PHONE, EMAIL.lower(), "Quastenberg", "4441 9087"]
    return sorted({v.encode("utf-8") for v in values})


def database_files(host) -> list[Path]:
    path = Path(make_url(host.database.url).database)
    return [p for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")) if p.exists()]


def found_in_files(host) -> dict[str, list[bytes]]:
    found = {}
    for path in database_files(host):
        content = path.read_bytes()
        hits = [needle for needle in needles() if needle in content or needle.lower() in content.lower()]
        if hits:
            found[path.name] = hits
    return found


async def a_guest_with_history(gql) -> dict:
    """A booking whose customer was written several times (old versions of the pages exist)."""
    studio = await create_object(gql, "studio-9", "Studio 9")
    made = await create_booking(gql, studio["id"], local(3), customer={**CUSTOMER, "name": NAME + " Sr"})
    for name in (NAME + " Jr", NAME):
        answer = await gql(UPDATE_BOOKING, {"input": {"id": made["id"], "customer": {**CUSTOMER, "name": name}}})
        assert answer["updateBooking"]["errors"] == []
    return made


async def failed_sign_in(http, email: str) -> None:
    response = await http.post("/admin/login", data={"email": email, "password": "not the password at all"},
                               headers={"Origin": "http://testserver"})
    assert response.status_code == 401


async def throttle_keys(host) -> list[str]:
    async with host.database.session(read_only=True) as session:
        return list((await session.execute(text("SELECT key FROM base_signin_throttle"))).scalars())


async def test_the_sign_in_throttle_keeps_no_address_and_the_erasure_forgets_its_count(gql, http, host):
    made = await a_guest_with_history(gql)
    await failed_sign_in(http, EMAIL.upper())  # someone tried the guest's address at the sign-in page
    await failed_sign_in(http, OTHER["email"])
    keys = await throttle_keys(host)
    assert account_key(EMAIL) in keys and account_key(OTHER["email"]) in keys
    assert not [k for k in keys if "@" in k], "only hashes of e-mail addresses are kept"

    body = await gql(ERASE, {"i": {"customerId": made["customer"]["id"]}})
    assert body["eraseCustomer"]["errors"] == []
    keys = await throttle_keys(host)
    assert account_key(EMAIL) not in keys, "the erased guest's count is gone"
    assert account_key(OTHER["email"]) in keys, "nobody else's"


async def test_after_an_erasure_the_sqlite_files_hold_none_of_the_values(gql, host):
    """What a file backup taken right after the erasure would copy: the database file and its WAL."""
    if not host.database.is_sqlite:
        pytest.skip("SQLite's files")  # never reached: this module runs on SQLite only
    made = await a_guest_with_history(gql)
    assert found_in_files(host), "before the erasure the files hold the values (else this test proves nothing)"

    body = await gql(ERASE, {"i": {"customerId": made["customer"]["id"]}})
    assert body["eraseCustomer"]["errors"] == [] and body["eraseCustomer"]["customer"]["name"] == "[erased]"
    assert found_in_files(host) == {}
    # The database still works as before, with the placeholder.
    answer = await gql("query($id: ID!) { booking(id: $id) { customer { name } } }", {"id": made["id"]})
    assert answer["booking"]["customer"]["name"] == "[erased]"


async def test_every_sqlite_connection_zeroes_what_it_deletes(host):
    """secure_delete is per connection: each one the engine opens sets it (SQLite builds differ in
    their default; Debian's has it on, others off)."""
    async with host.database.engine.connect() as first, host.database.engine.connect() as second:
        for connection in (first, second):  # two connections of the pool, each asked without a transaction
            raw = (await connection.get_raw_connection()).driver_connection
            cursor = await raw.execute("PRAGMA secure_delete")
            assert (await cursor.fetchone())[0] == 1


async def test_every_customer_with_the_address_is_found_and_erased_at_once(gql, http, host):
    studio = await create_object(gql, "studio-8", "Studio 8")
    first = await create_booking(gql, studio["id"], local(3), customer=CUSTOMER)
    # The same guest again, the address typed otherwise: a second customer.
    second = await create_booking(gql, studio["id"], local(9), customer={**CUSTOMER, "email": f"  {EMAIL.lower()} "})
    other = await create_booking(gql, studio["id"], local(15), customer=OTHER)
    assert first["customer"]["id"] != second["customer"]["id"]

    listed = (await gql(CUSTOMERS, {"e": EMAIL.upper()}))["customers"]
    assert listed["totalCount"] == 2
    assert {edge["node"]["id"] for edge in listed["edges"]} == {first["customer"]["id"], second["customer"]["id"]}
    assert (await gql(CUSTOMERS, {"e": "quastenberg@erasure.example"}))["customers"]["totalCount"] == 0, \
        "the whole address, not a part of it"

    await failed_sign_in(http, EMAIL)
    answer = (await gql(ERASE_BY_EMAIL, {"i": {"email": EMAIL.lower()}}))["eraseCustomersByEmail"]
    assert answer["errors"] == [] and answer["erased"] == 2
    assert sorted(c["id"] for c in answer["customers"]) == sorted([first["customer"]["id"], second["customer"]["id"]])
    assert all(c["name"] == "[erased]" and c["erasedAt"] and c["email"] is None for c in answer["customers"])
    assert (await gql(CUSTOMERS, {"e": EMAIL}))["customers"]["totalCount"] == 0
    assert account_key(EMAIL) not in await throttle_keys(host)
    kept = await gql("query($id: ID!) { booking(id: $id) { customer { name email phone } } }", {"id": other["id"]})
    assert kept["booking"]["customer"] == OTHER
    async with host.database.session(read_only=True) as session:
        events = (await session.execute(select(AuditEvent).where(AuditEvent.action == "customer.erase"))).scalars().all()
    assert len(events) == 2, "each customer's erasure is recorded"
    assert found_in_files(host) == {}

    # Nobody has it (any more): nothing to do, and the answer says so.
    again = (await gql(ERASE_BY_EMAIL, {"i": {"email": EMAIL}}))["eraseCustomersByEmail"]
    assert again == {"erased": 0, "customers": [], "errors": []}


async def test_erasing_by_email_checks_its_input_and_is_for_admins(gql, tokens):
    blank = (await gql(ERASE_BY_EMAIL, {"i": {"email": "   "}}))["eraseCustomersByEmail"]
    assert blank["erased"] == 0 and blank["errors"][0]["field"] == "email" and blank["errors"][0]["code"] == "REQUIRED"
    refused = await gql.raw(ERASE_BY_EMAIL, {"i": {"email": EMAIL}}, token=tokens["staff"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listed = await gql.raw(CUSTOMERS, {"e": EMAIL}, token=tokens["staff"])
    assert "errors" not in listed, "staff find them"
