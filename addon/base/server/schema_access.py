"""Who may read the schema: introspection (``__schema``, ``__type``) needs a signed-in user or an
API token, unless ``IRESERVE_PUBLIC_SCHEMA=true`` opens it (for development). ``__typename`` is
not introspection of the schema and stays open.

Refused as a validation error: nothing runs, ``data`` is null and the error's
``extensions.code`` is UNAUTHENTICATED.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql import FieldNode, GraphQLError, ValidationRule

from ..core.i18n import N_, Message

SCHEMA_FIELDS = frozenset({"__schema", "__type"})
NEEDS_SIGN_IN = N_("Reading the schema needs a signed-in user or an API token (header 'Authorization: Bearer <token>').")


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
        if not self.public and getattr(self.execution_context.context, "principal", None) is None:
            context = self.execution_context
            context.validation_rules = (*context.validation_rules, IntrospectionNeedsSignIn)
        yield
