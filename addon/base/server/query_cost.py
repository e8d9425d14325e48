"""What a GraphQL operation would cost, computed from the document before anything runs.

The price follows the work the server does, not only what the answer shows. Every field costs 1.
A field that returns a list multiplies the cost of what it selects by how many items it may
answer: for a connection its page size (``first``/``last``, else the default page size), for
another list an estimate (``LIST_SIZE``, or the number of ``ids`` it is given). A connection
also pays for the rows of its page, whether or not ``edges`` are selected: the page is read all
the same (``pageInfo`` needs it). ``totalCount`` counts every row the filters match, however many
pages that is, so it has a price of its own (:data:`TOTAL_COUNT_COST`). Aliases are fields like
any other: a hundred aliased ``bookings(first: 500)`` cost a hundred times one. Fragments are expanded (each counted once per place and page, so a document that spreads
fragments into each other is counted in time proportional to its size). Variables that are not
given count with their default value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

LIST_SIZE = 10  # what a plain list (the doors of a grant, the statuses) is assumed to hold
PAGE_ARGUMENTS = ("first", "last")
IDS_ARGUMENT = "ids"  # a list field fetching given ids (``nodes(ids: …)``) answers that many items
TOTAL_COUNT = "totalCount"
# A count reads every row its filters match, not one page: the list's size is not known before it
# runs, so a count is priced as if it read this many rows (four of the largest pages by default).
TOTAL_COUNT_COST = 2_000


def _is_list(type_) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _is_connection(type_) -> bool:
    named = get_named_type(type_)
    return isinstance(named, GraphQLObjectType) and "edges" in named.fields and "pageInfo" in named.fields


class CostCounter:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None,
                 default_page_size: int, stop_at: int | None = None, max_page_size: int | None = None) -> None:
        self.schema = schema
        self.max_page_size = max_page_size
        self.variables = dict(variables or {})
        self.default_page_size = default_page_size
        self.stop_at = stop_at
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.given = self.variables
        self._fragment_costs: dict[tuple[str, str, int | None], int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        defaults = {d.variable.name.value: value_from_ast_untyped(d.default_value)
                    for d in operation.variable_definitions or () if d.default_value is not None}
        self.variables = {**defaults, **self.given}
        self._fragment_costs.clear()  # they depend on the operation's variables
        return self._selection(root, operation.selection_set, (), None) if root is not None else 0

    def _argument(self, field: FieldNode, names: tuple[str, ...]) -> Any:
        for argument in field.arguments or ():
            if argument.name.value in names:
                node = argument.value
                return self.variables.get(node.name.value) if isinstance(node, VariableNode) \
                    else value_from_ast_untyped(node, self.variables)
        return None

    def _page_size(self, field: FieldNode) -> int:
        value = self._argument(field, PAGE_ARGUMENTS)
        size = value if isinstance(value, int) and value > 0 else self.default_page_size
        # A page over the maximum is refused by its resolver (naming the maximum) before any work.
        return min(size, self.max_page_size) if self.max_page_size else size

    def _list_size(self, field: FieldNode) -> int:
        ids = self._argument(field, (IDS_ARGUMENT,))
        return max(len(ids), 1) if isinstance(ids, list) else LIST_SIZE

    def _selection(self, parent, selection_set: SelectionSetNode | None, seen: tuple[str, ...],
                   page: int | None) -> int:
        """``page``: inside a connection, how many items its lists (edges, nodes) hold."""
        if selection_set is None:
            return 0
        total = 0
        parent = get_named_type(parent)
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection, seen, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self._selection(target or parent, selection.selection_set, seen, page)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # unknown or cyclic: validation reports it
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                key = (name, get_named_type(target).name, page)
                if key not in self._fragment_costs:
                    self._fragment_costs[key] = self._selection(target, fragment.selection_set, seen + (name,), page)
                total += self._fragment_costs[key]
            if self.stop_at is not None and total > self.stop_at:
                return total  # already over budget: no need to count the rest
        return total

    def _field(self, parent, field: FieldNode, seen: tuple[str, ...], page: int | None) -> int:
        fields = getattr(parent, "fields", None) or {}
        definition = fields.get(field.name.value)
        if definition is None:  # __typename, introspection, or unknown (validation reports it)
            return 1
        if field.name.value == TOTAL_COUNT and _is_connection(parent):
            return TOTAL_COUNT_COST
        if _is_connection(definition.type):
            # The page's rows are read whatever is selected; its own fields (pageInfo, totalCount)
            # count once, its edges once per item of the page.
            page = self._page_size(field)
            return 1 + page + self._selection(definition.type, field.selection_set, seen, page)
        inner = self._selection(definition.type, field.selection_set, seen, None)
        if _is_list(definition.type):
            return 1 + (page or self._list_size(field)) * max(inner, 1)
        return 1 + inner


def query_cost(schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None = None,
               operation_name: str | None = None, default_page_size: int = 50, stop_at: int | None = None,
               max_page_size: int | None = None) -> int:
    """The cost of the operation that would run (``operation_name``, or the only one)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if not operations:
        return 0
    counter = CostCounter(schema, document, variables, default_page_size, stop_at, max_page_size)
    return max(counter.operation(o) for o in operations)
