"""Every documented operation in graphql/operations/ runs, without errors, on the demo data.

A file holds one named operation and says in its leading comment lines how to run it::

    # What the operation is for (free text).
    # role: staff                       (optional; frontend, staff or admin; default admin)
    # first: door_access_resync.graphql (optional; a documented operation run before this one)
    # then: door_access_resync.graphql  (optional, subscriptions that answer nothing at first: a
    #                                    documented operation whose change the first event shows)
    # variables: {"input": {"bookingId": "$BOOKING_ID_OF:DEMO-1001",
    #             "status": "confirmed"}}  (optional; JSON, may continue on further # lines)
    mutation SetBookingStatus($input: SetBookingStatusInput!) { ... }

Ids differ per database, so a variable's string value may name a demo row instead; it is replaced
by that row's global id (what a frontend holds, from an earlier answer):

* ``$OBJECT_ID_OF:<object code>``, ``$BOOKING_ID_OF:<booking reference>``,
  ``$FIELD_ID_OF:<booking field code>``;
* ``$ID_OF:<table>.<column>=<value>`` for any other addon's table (its GraphQL type is the one
  registered for ``node`` with that table).

Each file runs on a freshly migrated database loaded with fixtures/demo.json (through every
addon's seeder), with a token of its role; it must answer without GraphQL errors and with an
empty ``errors`` list in every mutation payload. There is no list to keep up to date: every
``*.graphql`` file in the folder is a test case.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from graphql.language import NonNullTypeNode
from sqlalchemy import text

from addon.base.core.host import load_host
from addon.base.core.settings import REPO_ROOT
from addon.base.kit.basics import global_id
from addon.base.kit.nodes import node_type_of_table
from addon.base.runtime.commands import DEMO_FILE, seed
from addon.base.runtime.web import create_app
from graphql import OperationDefinitionNode, parse
from tests.conftest import base_environ
from tests.support.live_server import LiveServer, open_socket

pytestmark = pytest.mark.anyio

GRAPHQL_DIR = REPO_ROOT / "graphql"
OPERATIONS_DIR = GRAPHQL_DIR / "operations"
OPERATION_FILES = sorted(OPERATIONS_DIR.glob("*.graphql"))
ROLES = ("frontend", "staff", "admin")
ALIASES = {
    "OBJECT": ("booking_object", "code"),
    "BOOKING": ("booking_booking", "reference"),
    "FIELD": ("booking_field", "code"),
}
PLACEHOLDER = re.compile(r"^\$(?:(?P<alias>[A-Z]+)_ID_OF:(?P<key>.+)|ID_OF:(?P<table>\w+)\.(?P<column>\w+)=(?P<value>.*))$")


@dataclass
class Operation:
    path: Path
    name: str
    kind: str
    role: str
    variables: dict
    declared: dict[str, bool]  # variable name -> required (non-null without default)
    first: str | None = None  # a documented operation to run before this one
    then: str | None = None  # a documented operation whose change a subscription's first event shows

    @classmethod
    def read(cls, path: Path) -> "Operation":
        source = path.read_text(encoding="utf-8")
        header = []
        for line in source.splitlines():
            if not line.startswith("#"):
                break
            header.append(line[1:].strip())
        role, variables_text, steps = "admin", None, {}
        for line in header:
            if variables_text is not None:
                variables_text += " " + line
            elif line.startswith("role:"):
                role = line.removeprefix("role:").strip()
            elif line.startswith(("first:", "then:")):
                key, _, name = line.partition(":")
                assert (OPERATIONS_DIR / name.strip()).is_file(), f"{path.name}: {key}: no operation {name.strip()!r}"
                steps[key] = name.strip()
            elif line.startswith("variables:"):
                variables_text = line.removeprefix("variables:")
        assert role in ROLES, f"{path.name}: role must be one of {', '.join(ROLES)}, not {role!r}"
        try:
            variables = json.loads(variables_text) if variables_text is not None else {}
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{path.name}: the '# variables:' header is not valid JSON ({exc})") from None
        assert isinstance(variables, dict), f"{path.name}: '# variables:' must be a JSON object"

        document = parse(source)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        assert len(operations) == 1, f"{path.name}: one operation per file, found {len(operations)}"
        [operation] = operations
        assert operation.name, f"{path.name}: the operation needs a name"
        declared = {
            v.variable.name.value: isinstance(v.type, NonNullTypeNode) and v.default_value is None
            for v in operation.variable_definitions or ()
        }
        return cls(path, operation.name.value, operation.operation.value, role, variables, declared,
                   steps.get("first"), steps.get("then"))


def test_there_are_documented_operations():
    assert OPERATIONS_DIR.is_dir()
    names = {path.name for path in OPERATION_FILES}
    for expected in ("objects", "object", "bookings", "booking", "booking_statuses", "booking_fields",
                     "object_create", "object_update", "booking_field_create", "booking_create",
                     "booking_update", "booking_set_status", "booking_set_field"):
        assert f"{expected}.graphql" in names


def test_the_graphql_folder_holds_only_graphql():
    """A .py file (above all __init__.py) in graphql/ would shadow graphql-core on import.

    The one other file allowed is the trusted-documents manifest built from the operations."""
    strays = [p.relative_to(REPO_ROOT) for p in GRAPHQL_DIR.rglob("*")
              if p.is_file() and p.suffix != ".graphql" and p.name != "trusted-documents.json"]
    assert strays == [], f"only .graphql files belong in graphql/: {strays}"


def test_operation_files_are_well_formed():
    operations = [Operation.read(path) for path in OPERATION_FILES]
    names = [op.name for op in operations]
    assert len(names) == len(set(names)), f"operation names must be unique across files: {sorted(names)}"
    for op in operations:
        unknown = set(op.variables) - set(op.declared)
        assert not unknown, f"{op.path.name}: '# variables:' sets undeclared variables {sorted(unknown)}"
        missing = {name for name, required in op.declared.items() if required} - set(op.variables)
        assert not missing, f"{op.path.name}: required variables without a value in '# variables:': {sorted(missing)}"


async def resolve(value, session, host):
    """Replace the ``$..._ID_OF:...`` placeholders by the global ids of the demo rows they name."""
    if isinstance(value, dict):
        return {key: await resolve(item, session, host) for key, item in value.items()}
    if isinstance(value, list):
        return [await resolve(item, session, host) for item in value]
    if not isinstance(value, str) or not value.startswith("$"):
        return value
    match = PLACEHOLDER.match(value)
    assert match, f"unknown placeholder {value!r}: use $OBJECT_ID_OF:, $BOOKING_ID_OF:, $FIELD_ID_OF: or $ID_OF:"
    if match["alias"]:
        assert match["alias"] in ALIASES, f"unknown placeholder {value!r}; known: {sorted(ALIASES)} or $ID_OF:"
        (table, column), key = ALIASES[match["alias"]], match["key"]
    else:
        table, column, key = match["table"], match["column"], match["value"]
    ids = (await session.execute(text(f'SELECT id FROM "{table}" WHERE "{column}" = :key'), {"key": key})).scalars().all()
    assert len(ids) == 1, f"{value!r} names {len(ids)} rows in the demo data, not one"
    type_name = node_type_of_table(host, table)
    assert type_name, f"{value!r}: no GraphQL type is registered for node(id) with the table {table!r}"
    return global_id(type_name, ids[0])


def payload_errors(data) -> list:
    """Every non-empty ``errors`` list anywhere in the answer (mutation payloads)."""
    found = []
    if isinstance(data, dict):
        for key, item in data.items():
            if key == "errors" and isinstance(item, list) and item:
                found.extend(item)
            else:
                found.extend(payload_errors(item))
    elif isinstance(data, list):
        for item in data:
            found.extend(payload_errors(item))
    return found


@pytest.fixture
def env_overrides():
    # The demo Resivo integration talks to the sandbox mounted in the app (as with `make run`).
    return {"IRESERVE_SANDBOX": "true"}


@pytest.fixture
async def demo(host, app):
    connector = None
    if "resivo" in host.addon_names:
        # Its base URL is the app's own /resivo-sandbox; send those calls to the app in-process.
        import httpx

        from addon.resivo.client import ResivoConnector
        from addon.resivo.connection import CallLogBridge

        connector = host.provide(ResivoConnector(transport=httpx.ASGITransport(app=app), on_call=CallLogBridge(host)))
    salto_ks = None
    if "salto_ks" in host.addon_names:
        # Its Acceptance environment is the app's own /salto-ks-sandbox: the same, in-process.
        import httpx

        from addon.salto_ks.client import SaltoKsConnector
        from addon.salto_ks.connection import CallLogBridge as SaltoKsCallLog

        salto_ks = host.provide(SaltoKsConnector(transport=httpx.ASGITransport(app=app), on_call=SaltoKsCallLog(host)))
    await seed(host, json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    yield host
    for opened in (connector, salto_ks):
        if opened is not None:
            await opened.aclose()


def _kind(path: Path) -> str:
    document = parse(path.read_text(encoding="utf-8"))
    return next(d.operation.value for d in document.definitions if isinstance(d, OperationDefinitionNode))


HTTP_FILES = [path for path in OPERATION_FILES if _kind(path) != "subscription"]
SUBSCRIPTION_FILES = [path for path in OPERATION_FILES if _kind(path) == "subscription"]


def test_subscriptions_are_documented_too():
    assert SUBSCRIPTION_FILES, "graphql/operations/ shows how to subscribe"


async def run_documented(path: Path, host, http, tokens) -> dict:
    """Run one documented operation over HTTP (``http``: a client of the app) with its role and
    variables; insist on no errors of any kind. Returns the answer's data."""
    operation = Operation.read(path)
    async with host.database.session() as session:
        variables = await resolve(operation.variables, session, host)
    response = await http.post(
        "/graphql",
        json={"query": path.read_text(encoding="utf-8"), "variables": variables, "operationName": operation.name},
        headers={"Authorization": f"Bearer {tokens[operation.role]}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), f"{path.name}: {body['errors']}"
    assert body["data"] and all(value is not None for value in body["data"].values()), body
    assert payload_errors(body["data"]) == [], f"{path.name} was refused: {payload_errors(body['data'])}"
    return body["data"]


@pytest.mark.parametrize("path", HTTP_FILES, ids=lambda path: path.stem)
async def test_operation_runs_on_the_demo_data(path, demo, http, tokens):
    operation = Operation.read(path)
    if operation.first:
        await run_documented(OPERATIONS_DIR / operation.first, demo, http, tokens)
    await run_documented(path, demo, http, tokens)


async def subscribe_once(query: str, variables: dict, token: str, tmp_path, database_url, clock,
                         operation_name: str | None = None, then=None) -> dict:
    """The first event of a subscription, sent as a frontend would: over graphql-transport-ws to a
    real uvicorn serving the test's database (its payload: data and errors). ``then(url)``, for a
    subscription that answers nothing at first, makes a change on that server; it is made again
    until an event comes (the subscription may not be listening yet the first time)."""
    served = load_host(environ=base_environ(tmp_path, database_url, IRESERVE_SANDBOX="true"), clock=clock)
    server = LiveServer(create_app(served)).start()
    try:
        async with open_socket(server.ws_url) as socket:
            ack = await socket.init({"Authorization": f"Bearer {token}"})
            assert ack["type"] == "connection_ack", ack
            await socket.send({"id": "1", "type": "subscribe", "payload": {
                "query": query, "variables": variables, "operationName": operation_name}})
            event = None
            for _ in range(1 if then is None else 10):
                if then is not None:
                    await then(server.url)
                try:
                    event = await socket.next("1", timeout=15 if then is None else 3)
                    break
                except TimeoutError:
                    continue
            assert event is not None and event["type"] == "next", event
            await socket.send({"id": "1", "type": "complete"})
            return event["payload"]
    finally:
        server.stop()


@pytest.mark.parametrize("path", SUBSCRIPTION_FILES, ids=lambda path: path.stem)
async def test_subscription_answers_over_a_websocket(path, demo, tokens, tmp_path, database_url, clock):
    """A documented subscription's first event (the current state) comes without errors."""
    operation = Operation.read(path)
    async with demo.database.session() as session:
        variables = await resolve(operation.variables, session, demo)
    then = None
    if operation.then:
        async def then(url: str) -> None:
            import httpx

            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                await run_documented(OPERATIONS_DIR / operation.then, demo, client, tokens)

    payload = await subscribe_once(path.read_text(encoding="utf-8"), variables, tokens[operation.role],
                                   tmp_path, database_url, clock, operation.name, then)
    assert not payload.get("errors"), f"{path.name}: {payload['errors']}"
    assert all(value is not None for value in payload["data"].values()), payload
