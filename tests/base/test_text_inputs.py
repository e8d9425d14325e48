"""No NUL or other control character is stored from any text input: every text argument of every
query and mutation of the schema (the addons' too) is refused with BAD_USER_INPUT naming it, and
nothing changes; a single-line input (a name, a code, an e-mail address, a door name) refuses
line breaks as well, a multi-line one (a booking field's value) keeps them. The services refuse
the same for callers other than GraphQL (clean_text: the CLI)."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, select

from addon.base.core.errors import ValidationFailed
from addon.base.core.i18n import Message
from addon.base.identity.audit import AuditEvent
from addon.base.identity.models import SigninThrottle, User
from addon.base.identity.users import create_user
from addon.base.kit.basics import clean_text, multiline_inputs
from addon.base.server.schema import build_schema
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
)
from graphql.pyutils import Undefined

pytestmark = pytest.mark.anyio

NUL = "a\x00b"
LINE_BREAK = "a\nb"  # inside the text: around it, it is a blank its service trims
DUMMIES = {"Int": 1, "Float": 1.5, "Boolean": False, "DateTime": "2030-01-01T00:00:00+00:00", "Date": "2030-01-01",
           "Time": "12:00:00", "JSON": {}}


def _unwrap(type_):
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return type_


def _dummy(type_, depth: int = 0):
    """A value of ``type_`` that coerces (its required parts only)."""
    type_ = _unwrap(type_)
    if isinstance(type_, GraphQLList):
        return [_dummy(type_.of_type, depth + 1)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {name: _dummy(field.type, depth + 1) for name, field in type_.fields.items()
                if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined}
    return DUMMIES.get(type_.name, "1")


def _text_paths(type_, coordinate: str, depth: int = 0):
    """(path below the argument, schema coordinate) of every text the argument may hold."""
    type_ = _unwrap(type_)
    if depth > 4:
        return
    if isinstance(type_, GraphQLList):
        for path, where in _text_paths(type_.of_type, coordinate, depth + 1):
            yield ("0",) + path, where
    elif isinstance(type_, GraphQLInputObjectType):
        for name, field in type_.fields.items():
            for path, where in _text_paths(field.type, f"{type_.name}.{name}", depth + 1):
                yield (name,) + path, where
    elif isinstance(type_, GraphQLScalarType) and type_.name in ("String", "ID"):
        yield (), coordinate


def _with(value, type_, path: tuple[str, ...], text: str):
    """``value`` (a dummy of ``type_``) with ``text`` at ``path``."""
    type_ = _unwrap(type_)
    if not path:
        return text
    if isinstance(type_, GraphQLList):
        return [_with(_dummy(type_.of_type), type_.of_type, path[1:], text)]
    field = type_.fields[path[0]]
    return {**(value or {}), path[0]: _with((value or {}).get(path[0]) or _dummy(field.type), field.type, path[1:], text)}


def text_inputs(schema):
    """Every text input of every query and mutation: (operation, field, argument, path, coordinate)."""
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for field_name, field in root.fields.items():
            for argument_name, argument in field.args.items():
                for path, coordinate in _text_paths(argument.type, f"{root.name}.{field_name}({argument_name}:)"):
                    yield kind, field_name, field, argument_name, path, coordinate


def request_for(kind: str, field_name: str, field, argument_name: str, path: tuple[str, ...], text: str) -> dict:
    arguments = {name: argument for name, argument in field.args.items()
                 if isinstance(argument.type, GraphQLNonNull) or name == argument_name}
    variables = {name: _dummy(argument.type) for name, argument in arguments.items()}
    variables[argument_name] = _with(variables[argument_name], arguments[argument_name].type, path, text)
    declared = ", ".join(f"${name}: {argument.type}" for name, argument in arguments.items())
    passed = ", ".join(f"{name}: ${name}" for name in arguments)
    named = get_named_type(field.type)
    selection = " { __typename }" if not isinstance(named, GraphQLScalarType | GraphQLEnumType) else ""
    return {"query": f"{kind} T({declared}) {{ {field_name}({passed}){selection} }}", "variables": variables}


async def database_rows(host) -> dict[str, list]:
    """Every row of every table (the test database is small)."""
    async with host.database.session(read_only=True) as session:
        connection = await session.connection()
        metadata = MetaData()
        await connection.run_sync(lambda sync: metadata.reflect(sync))
        rows = {}
        for table in metadata.sorted_tables:
            rows[table.name] = [tuple(row) for row in (await session.execute(select(table))).all()]
        await session.rollback()
    return rows


@pytest.fixture(scope="module")
def schema_and_multiline(tmp_path_factory):
    from addon.base.core.host import load_host
    from tests.conftest import base_environ

    host = load_host(environ=base_environ(tmp_path_factory.mktemp("text-inputs")))
    return build_schema(host)._schema, multiline_inputs(host)


async def test_every_text_input_refuses_control_characters_and_nothing_changes(http, host, tokens,
                                                                              schema_and_multiline):
    schema, multiline = schema_and_multiline
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    await http.post("/graphql", json={"query": "{ viewer { name } }"}, headers=headers)  # the token's last use
    before = await database_rows(host)
    cases = list(text_inputs(schema))
    covered = {coordinate for *_, coordinate in cases}
    # The free-text inputs the issue names are among them (and refused like every other).
    for expected in ("CustomerInput.name", "CustomerInput.email", "CustomerInput.phone", "CreateObjectInput.code",
                     "CreateObjectInput.name", "CreateBookingInput.reference", "CreateBookingFieldInput.label",
                     "SetDoorMappingInput.doorNames", "CreateUserInput.email", "CreateApiTokenInput.name",
                     "SetBookingFieldInput.value", "Query.customers(search:)", "Query.auditTrail(action:)"):
        assert expected in covered, expected
    assert multiline == {"SetBookingFieldInput.value"}
    refused_wrongly = []
    for kind, field_name, field, argument_name, path, coordinate in cases:
        for text in (NUL, LINE_BREAK) if coordinate not in multiline else (NUL,):
            request = request_for(kind, field_name, field, argument_name, path, text)
            body = (await http.post("/graphql", json=request, headers=headers)).json()
            where = ".".join((argument_name, *path))
            expected = {"code": "BAD_USER_INPUT", "field": where}
            errors = body.get("errors") or [{}]
            if body.get("data") is not None or errors[0].get("extensions") != expected:
                refused_wrongly.append((field_name, where, repr(text), body))
    assert refused_wrongly == []
    assert len(cases) > 100, "every text input of the schema was tried"
    assert await database_rows(host) == before, "nothing was stored or changed"


async def test_blanks_around_a_single_line_are_trimmed_not_refused(gql):
    """A value pasted with a line break or tab around it is what its service trims, as before."""
    made = await gql('mutation($i: CreateObjectInput!) { createObject(input: $i) { object { code name } errors { code } } }',
                     {"i": {"code": "\tloft-2\n", "name": " Loft two\r\n"}})
    assert made["createObject"] == {"object": {"code": "loft-2", "name": "Loft two"}, "errors": []}
    inside = await gql.raw('mutation($i: CreateObjectInput!) { createObject(input: $i) { errors { code } } }',
                           {"i": {"code": "loft-3", "name": "Loft\tthree"}})
    assert inside["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}


async def test_the_message_names_the_input_and_the_character(http, tokens):
    body = (await http.post("/graphql", json={
        "query": "mutation($i: CreateObjectInput!) { createObject(input: $i) { errors { code } } }",
        "variables": {"i": {"code": "studio", "name": "Studio\x1b[31m"}}},
        headers={"Authorization": f"Bearer {tokens['admin']}", "Accept-Language": "en"})).json()
    [error] = body["errors"]
    assert body["data"] is None
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.name"}
    assert "input.name" in error["message"] and "U+001B" in error["message"]
    assert "\x1b" not in error["message"], "the text itself is not echoed"


@pytest.mark.parametrize("query, field", [
    ('{ bookingByReference(reference: "R\\u0000") { id } }', "reference"),
    ('mutation { createObject(input: {code: "c", name: "N\\u0007"}) { errors { code } } }', "input.name"),
    ('{ ...Q } fragment Q on Query { customers(search: "x\\ty") { totalCount } }', "search"),
    ('{ objects { subObjects(includeArchived: true) { id } } bookingByReference(reference: """line\none""") { id } }',
     "reference"),
    ('{ bookingByReference(reference: "raw\ttab") { id } }', "reference"),
], ids=["literal", "input literal", "in a fragment", "block string", "raw tab"])
async def test_text_written_in_the_document_is_checked_too(http, tokens, query, field):
    body = (await http.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {tokens['admin']}"})).json()
    assert body["data"] is None and body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_a_booking_field_value_may_have_lines_but_no_nul(gql):
    objects = (await gql("mutation { createObject(input: {code: \"s1\", name: \"Studio\"}) { object { id } } }"))
    object_id = objects["createObject"]["object"]["id"]
    await gql('mutation { createBookingField(input: {code: "note", label: "Note"}) { errors { code } } }')
    created = await gql("""mutation($o: ID!) { createBooking(input: {objectId: $o, customer: {name: "Anna"},
        start: "2030-01-01T14:00:00Z", end: "2030-01-03T10:00:00Z"}) { booking { id } errors { code } } }""",
                        {"o": object_id})
    booking_id = created["createBooking"]["booking"]["id"]
    set_value = "mutation($i: SetBookingFieldInput!) { setBookingField(input: $i) { booking { fields { code value } } errors { code } } }"
    note = "Arrives late.\r\n\tKey at the desk."
    answer = await gql(set_value, {"i": {"bookingId": booking_id, "field": "note", "value": note}})
    assert answer["setBookingField"]["booking"]["fields"] == [{"code": "note", "value": note}]
    refused = await gql.raw(set_value, {"i": {"bookingId": booking_id, "field": "note", "value": "x\x00y"}})
    assert refused["data"] is None and refused["errors"][0]["extensions"]["field"] == "input.value"
    fields = await gql("query($id: ID!) { booking(id: $id) { fields { value } } }", {"id": booking_id})
    assert fields["booking"]["fields"] == [{"value": note}]


# -- the services, for callers other than GraphQL -----------------------------------------------------

@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "tab\there", "a\x7fb", "a\x85b", "a\u2028b", "a\ud800b"])
def test_clean_text_refuses_control_characters_in_a_single_line(value):
    with pytest.raises(ValidationFailed) as refused:
        clean_text(value, "name", Message("Name"), 100)
    [problem] = refused.value.problems
    assert (problem.code, problem.field) == ("CONTROL_CHARACTER", "name")
    assert "U+" in problem.text("en")


def test_clean_text_keeps_lines_in_multiline_text_and_trims_as_before():
    assert clean_text("  line one\nline two\t ", "note", Message("Note"), 100, multiline=True) == "line one\nline two"
    assert clean_text("  Anna Smith\n", "name", Message("Name"), 100) == "Anna Smith", "surrounding blanks are trimmed"
    assert clean_text("Zoë Ångström – 北京", "name", Message("Name"), 100) == "Zoë Ångström – 北京"
    with pytest.raises(ValidationFailed):
        clean_text("line\x00", "note", Message("Note"), 100, multiline=True)


async def test_the_cli_path_refuses_a_nul_in_a_user_and_stores_nothing(host):
    for email, name in (("anna@example.com", "Anna\x00Admin"), ("an\x01na@example.com", "Anna Admin")):
        async with host.database.session() as session:
            with pytest.raises(ValidationFailed) as refused:
                await create_user(session, email=email, name=name, role="admin", password="a long enough passphrase 42")
            await session.rollback()
        assert "CONTROL_CHARACTER" in {p.code for p in refused.value.problems}
    async with host.database.session(read_only=True) as session:
        assert (await session.execute(select(User))).scalars().all() == []


async def test_the_sign_in_form_refuses_a_control_character_and_records_nothing(http, host):
    response = await http.post("/admin/login", data={"email": "anna\x00@example.com", "password": "whatever it is"},
                               headers={"Origin": "http://testserver"})
    assert response.status_code == 400
    assert "control character" in response.text
    async with host.database.session(read_only=True) as session:
        assert (await session.execute(select(SigninThrottle))).scalars().all() == []
        assert (await session.execute(select(AuditEvent))).scalars().all() == []
