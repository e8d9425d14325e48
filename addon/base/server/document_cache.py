"""Parsed and validated documents, kept for the next request with the same text.

A frontend sends the same few documents over and over; parsing and validating one costs a
millisecond or two each time. Both results depend only on the text (and on the schema and the
limits, fixed for the life of the process), so they are kept, a bounded number of them:

* **parsing**: strawberry's own parser cache (:class:`ParseOnce`), keyed by the text and the parse
  limits (length, tokens). A document over a limit raises while parsing and is never kept.
* **validation**: only the fact that a document is valid, keyed by the text and the names of
  the rules it was validated with (introspection rules differ for an anonymous caller). A
  document with errors is validated again each time, so its messages are in the caller's
  language and carry no state from an earlier request (strawberry's validation cache would keep
  the errors too).

Put after the extensions that refuse a document before validation (cost, repeated fields): they
still run for every request, on the cached document, and a refused document skips validation.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import suppress
from typing import Any

from strawberry.extensions import ParserCache, SchemaExtension

from graphql import DocumentNode, GraphQLError

DEFAULT_SIZE = 256


class _Bounded:
    """A least-recently-used map of at most ``size`` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class ParseOnce(ParserCache):
    """strawberry's parser cache, except that a document it cannot parse is left to strawberry's own
    parsing step, which answers the syntax error (or the limit) as a GraphQL error, not a crash."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        super().__init__(maxsize=size)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            with suppress(GraphQLError):
                context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        yield


class ValidDocuments:
    """One schema's texts known to be valid."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.valid = _Bounded(size)

    def extension(self) -> "ValidationCacheExtension":
        return ValidationCacheExtension(self)


class ValidationCacheExtension(SchemaExtension):
    def __init__(self, cache: ValidDocuments) -> None:
        self.cache = cache

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key = None
        if context.pre_execution_errors is None and context.query and isinstance(context.graphql_document, DocumentNode):
            key = (context.query, tuple(rule.__name__ for rule in context.validation_rules))
            if self.cache.valid.get(key):
                context.pre_execution_errors = []  # known valid: strawberry skips validating
                key = None
        yield
        if key is not None and context.pre_execution_errors == []:
            self.cache.valid.put(key, True)
