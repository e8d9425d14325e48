"""No control characters in any text a GraphQL request sends, whatever the field.

Before an operation runs, every text it gives — its arguments at any depth, from variables or
written in the document, read as execution will read them — is checked: a NUL, an escape, a
lone surrogate, or a line break or tab in a single-line input (a name, a code, an e-mail address,
a door name) refuses the whole request with BAD_USER_INPUT naming the input (``extensions.field``,
e.g. ``input.customer.name``), so nothing runs and nothing is stored. Inputs whose text may have
lines (a booking field's value: a note) are named by their addon with
:func:`addon.base.kit.basics.allow_line_breaks`; they keep tab and line breaks.

One check for every input, the inputs of addons to come included; services check their own
inputs as well (``clean_text``), for callers other than GraphQL (the CLI).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_operation_ast,
    visit,
)
from graphql.execution.values import get_argument_values, get_variable_values

from ..core.i18n import N_, Message
from ..core.text import control_character

CODE = "BAD_USER_INPUT"
CONTROL_CHARACTER = N_("{field} contains a control character ({character}), which is not allowed; only a "
                       "multi-line text may hold line breaks and tabs.")

_ABSENT = object()

# The quick look first (most requests hold no such character): what any text may not hold, or a
# single line may not (tab, line breaks, Unicode's separators), anywhere in a value.
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _suspect_value(value: Any) -> bool:
    if isinstance(value, str):
        return _SUSPECT.search(value) is not None
    if isinstance(value, dict):
        return any(_suspect_value(item) for item in value.values())
    if isinstance(value, list):
        return any(_suspect_value(item) for item in value)
    return False


def _suspect_source(query: str) -> bool:
    """Whether a string literal of the document may hold such a character: only through an
    escape, a block string (which may span lines) or a raw tab or control character (a regular
    string cannot hold a raw line break)."""
    return "\\" in query or '"""' in query or _SUSPECT.search(query.replace("\n", "").replace("\r", "")) is not None


class _Found(Exception):
    def __init__(self, path: str, character: str) -> None:
        super().__init__(path)
        self.path, self.character = path, character


def _member(value: Any, name: str) -> Any:
    return value.get(name, _ABSENT) if isinstance(value, Mapping) else getattr(value, name, _ABSENT)


def _check(value: Any, type_, coordinate: str, path: str, multiline: frozenset[str]) -> None:
    """Raise :class:`_Found` at the first text in ``value`` (of input type ``type_``) it may not hold."""
    if value is None or value is _ABSENT:
        return
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        for index, item in enumerate(value if isinstance(value, list | tuple) else [value]):
            _check(item, type_.of_type, coordinate, f"{path}.{index}", multiline)
    elif isinstance(type_, GraphQLInputObjectType):
        for name, field in type_.fields.items():
            found = _member(value, field.out_name or name)
            _check(found, field.type, f"{type_.name}.{name}", f"{path}.{name}", multiline)
    elif isinstance(value, str):
        character = control_character(value, multiline=coordinate in multiline)
        if character is not None:
            raise _Found(path, character)


class _Arguments(Visitor):
    """Checks the arguments of every field of the operation (and of its fragments)."""

    def __init__(self, type_info: TypeInfo, variables: Any, multiline: frozenset[str]) -> None:
        super().__init__()
        self.type_info, self.variables, self.multiline = type_info, variables, multiline

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        definition, parent = self.type_info.get_field_def(), self.type_info.get_parent_type()
        if definition is None or parent is None or not definition.args or not node.arguments:
            return
        try:
            values = get_argument_values(definition, node, self.variables)
        except GraphQLError:
            return  # execution reports it, and runs nothing
        for name, argument in definition.args.items():
            _check(values.get(argument.out_name or name, _ABSENT), argument.type,
                   f"{parent.name}.{node.name.value}({name}:)", name, self.multiline)


def find_control_character(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                           variables: Mapping[str, Any] | None, multiline: frozenset[str] = frozenset(),
                           source: str | None = None) -> tuple[str, str] | None:
    """(the input, the character as ``U+XXXX``) of the first text of the operation that would run
    with a character it may not hold; ``None`` when every text is clean. ``source``: the
    document's text, for the quick look that spares reading the arguments of a clean request."""
    if source is not None and not _suspect_source(source) and not _suspect_value(dict(variables or {})):
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
    if isinstance(coerced, list):
        return None  # variables that do not fit their types: execution refuses them, running nothing
    # (coerced: graphql-core's VariableValues, which reading the arguments takes as it is)
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    reachable = DocumentNode(definitions=(operation, *fragments))
    type_info = TypeInfo(schema)
    try:
        visit(reachable, TypeInfoVisitor(type_info, _Arguments(type_info, coerced, multiline)))
    except _Found as found:
        return found.path, found.character
    return None


class ControlCharacters(SchemaExtension):
    """Answers a query or mutation whose text holds a character it may not hold with
    BAD_USER_INPUT, instead of running it."""

    def __init__(self, *, multiline: frozenset[str] = frozenset()) -> None:
        self.multiline = multiline

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if not context.result and isinstance(document, DocumentNode) and any(
                isinstance(d, OperationDefinitionNode) for d in document.definitions):
            found = find_control_character(context.schema._schema, document, context.operation_name,
                                           context.variables if isinstance(context.variables, dict) else None,
                                           self.multiline, context.query)
            if found is not None:
                path, character = found
                message = Message(CONTROL_CHARACTER, {"field": path[:200], "character": character}).text()
                context.result = ExecutionResult(data=None, errors=[GraphQLError(
                    message, extensions={"code": CODE, "field": path[:200]})])
        yield
