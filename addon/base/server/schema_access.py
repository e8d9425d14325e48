"""Who may read the schema: introspection (``__schema``, ``__type``) needs a signed-in user or an
API token, unless ``IRESERVE_PUBLIC_SCHEMA=true`` opens it (for development). ``__typename`` is
not introspection of the schema and stays open.

Refused as a validation error: nothing runs, ``data`` is null and the error's
``extensions.code`` is UNAUTHENTICATED.

Whoever may not read the schema gets no hints of it either: the "Did you mean …?" that
graphql-core adds to an unknown field, argument, type or enum value would let them rebuild it
name by name, so those suggestions are cut from their error messages (:func:`hide_suggestions`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql import FieldNode, GraphQLError, ValidationRule

from ..core.i18n import N_, Message

SCHEMA_FIELDS = frozenset({"__schema", "__type"})
NEEDS_SIGN_IN = N_("Reading the schema needs a signed-in user or an API token (header 'Authorization: Bearer <token>').")


# graphql-core appends " Did you mean 'a', 'b', or 'c'?" (names never hold a question mark).
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def may_read_schema(context: Any, public: bool) -> bool:
    """Whether the caller of a request with this GraphQL ``context`` may see the schema."""
    return public or getattr(context, "principal", None) is not None


def hide_suggestions(message: str) -> str:
    """``message`` without graphql-core's "Did you mean …?" hints."""
    return _SUGGESTION.sub("", message)


class IntrospectionNeedsSignIn(ValidationRule):
    """Reports the first introspection field of the document (once is enough)."""

    reported = False

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in SCHEMA_FIELDS and not self.reported:
            self.reported = True
            self.report_error(GraphQLError(Message(NEEDS_SIGN_IN).text(), node,
                                           extensions={"code": "UNAUTHENTICATED"}))


class SchemaAccess(SchemaExtension):
    def __init__(self, *, public: bool = False) -> None:
        self.public = public

    def on_operation(self) -> Iterator[None]:
        if not may_read_schema(self.execution_context.context, self.public):
            context = self.execution_context
            context.validation_rules = (*context.validation_rules, IntrospectionNeedsSignIn)
        yield
