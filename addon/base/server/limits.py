"""What one GraphQL request may ask of the server: refused before it runs when over a limit.

* **HTTP**: the body is read up to ``IRESERVE_MAX_BODY_BYTES`` (413 beyond, and at once when the
  ``Content-Length`` says so); JSON nested deeper than :data:`MAX_JSON_DEPTH` is a 400 (checked
  before parsing, so a deep body never reaches a recursive parser).
* **Document**: at most ``IRESERVE_MAX_DOCUMENT_LENGTH`` characters and ``IRESERVE_MAX_TOKENS``
  tokens (both while parsing), ``IRESERVE_MAX_ALIASES`` aliases and ``IRESERVE_MAX_QUERY_DEPTH``
  levels (while validating).
* **Cost**: :func:`addon.base.query_cost.query_cost` of the operation to run, with the request's
  variables, within the budget of the caller's role (``IRESERVE_COST_BUDGET_<ROLE>``); computed
  after parsing and before validation, so an expensive document is refused without being
  validated or run. So are fields repeated so often that validating them would take long.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql.language import Lexer
from starlette.responses import JSONResponse
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import count_fields_with_alias
from strawberry.extensions.query_depth_limiter import (
    determine_depth,
    get_fragments,
    get_queries_and_mutations,
)

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    ValidationContext,
    ValidationRule,
)

from ..core.errors import CodedError
from ..core.i18n import N_, Message
from ..core.principal import Role
from ..core.settings import Env
from ..identity.auth import RequestRefused
from .query_cost import query_cost

DEFAULT_PAGE_SIZE = 50  # what a connection answers without first/last (kit/connections.py)
MAX_JSON_DEPTH = 32  # of an HTTP request body; the API's own inputs nest 5 deep at most

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
TOO_COSTLY = N_("This query would cost {cost}, more than the {budget} a caller with the role {role} may spend on "
                "one request. Ask for smaller pages (first/last), fewer fields or fewer aliases, or split it.")

BODY_TOO_LARGE = "REQUEST_TOO_LARGE"
TOO_LARGE = N_("The request body is larger than {limit} bytes.")
BODY_TOO_DEEP = "REQUEST_TOO_DEEP"
TOO_DEEP = N_("The request body's JSON is nested more than {limit} levels deep.")
BAD_REQUEST = "BAD_REQUEST"
NOT_UTF8 = N_("The request body is not valid UTF-8 (at byte {position}): send JSON encoded as UTF-8.")
NOT_JSON = N_("The request body is not valid JSON: {reason} (line {line}, column {column}).")
NOT_AN_OBJECT = N_("The request body must be a JSON object, e.g. {example}.")


@dataclass(frozen=True)
class ApiLimits:
    """What one GraphQL request may ask of the server (this module): refused before
    anything runs when over, so no single request can hold the server up."""

    # The cost of a query (``query_cost.py``: fields, times the page sizes they ask
    # for) a caller of each role may spend on one request. Never unlimited.
    cost_budget_frontend: int = 5_000
    cost_budget_staff: int = 50_000
    cost_budget_admin: int = 100_000
    max_aliases: int = 30  # the shipped operations use none
    max_tokens: int = 2_000  # names, punctuation and values of a document; the shipped ones use < 100
    max_document_length: int = 50_000  # characters of a document, comments and blanks included
    max_body_bytes: int = 1_048_576  # of an HTTP request body (1 MiB); more is refused with 413
    trusted_documents: bool = False  # frontend callers may run only graphql/operations/ documents

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ApiLimits":
        env = Env(environ)
        frontend = env.int("IRESERVE_COST_BUDGET_FRONTEND", cls.cost_budget_frontend, minimum=1)
        staff = env.int("IRESERVE_COST_BUDGET_STAFF", cls.cost_budget_staff, minimum=frontend)
        return cls(
            cost_budget_frontend=frontend,
            cost_budget_staff=staff,
            cost_budget_admin=env.int("IRESERVE_COST_BUDGET_ADMIN", cls.cost_budget_admin, minimum=staff),
            max_aliases=env.int("IRESERVE_MAX_ALIASES", cls.max_aliases, minimum=0),
            max_tokens=env.int("IRESERVE_MAX_TOKENS", cls.max_tokens, minimum=100),
            max_document_length=env.int("IRESERVE_MAX_DOCUMENT_LENGTH", cls.max_document_length, minimum=1_000),
            max_body_bytes=env.int("IRESERVE_MAX_BODY_BYTES", cls.max_body_bytes, minimum=10_000),
            trusted_documents=env.bool("IRESERVE_TRUSTED_DOCUMENTS", cls.trusted_documents),
        )


def api_limits(host) -> ApiLimits:
    """The host's request limits (read from the environment once)."""
    return host.service(ApiLimits) or host.declare_settings(ApiLimits)


def budgets(limits: ApiLimits) -> dict[Role, int]:
    return {Role.FRONTEND: limits.cost_budget_frontend, Role.STAFF: limits.cost_budget_staff,
            Role.ADMIN: limits.cost_budget_admin}


# -- cost ------------------------------------------------------------------------------------------

class QueryCostLimiter(SchemaExtension):
    """Refuses an operation whose cost is over the caller's budget, before validation and
    execution. A caller without a token has the frontend budget."""

    def __init__(self, *, budgets: Mapping[Role, int], default_page_size: int = DEFAULT_PAGE_SIZE,
                 max_page_size: int | None = None) -> None:
        self.budgets = dict(budgets)
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            error = self.refusal(context)
            if error is not None:
                context.pre_execution_errors = [error]  # validation and execution are skipped
        yield

    def refusal(self, context) -> CodedError | None:
        principal = getattr(context.context, "principal", None)
        role = principal.role if principal is not None else Role.FRONTEND
        budget = self.budgets[role]
        variables = context.variables if isinstance(context.variables, dict) else None
        try:
            cost = query_cost(context.schema._schema, context.graphql_document, variables, context.operation_name,
                              default_page_size=self.default_page_size, max_page_size=self.max_page_size)
        except RecursionError:  # cannot happen within the token limit; refused all the same
            cost = budget + 1
        if cost <= budget:
            return None
        error = CodedError(TOO_COSTLY, QUERY_TOO_COSTLY, cost=cost, budget=budget, role=role.name.lower())
        error.extensions.update(cost=cost, budget=budget)
        return error


# -- repeated fields -----------------------------------------------------------------------------
#
# Validation checks that fields selected more than once under one parent (by copies, fragments or
# inline fragments) can be merged, comparing them pair by pair: 330 copies of `viewer { name }`
# (1,320 tokens, cost 660) take a second. So the pairs are counted first, on the document merged
# the way validation merges it, and a document with too many is refused before validation.

MAX_REPEAT_PAIRS = 2_000  # ~40 ms of validation at worst; a document with fragments has a few dozen

TOO_REPETITIVE = "TOO_MANY_REPEATED_FIELDS"
REPEATS = N_("The document selects the same fields over and over (e.g. {path}, {count} times); select each "
             "field once.")


class _TooRepetitive(Exception):
    pass


def repeated_fields(document: DocumentNode, max_pairs: int = MAX_REPEAT_PAIRS,
                    max_visits: int = 50_000) -> tuple[str, int] | None:
    """``None``, or (the path of the most repeated field, how often) when the pairs of repeated
    fields validation would compare pass ``max_pairs`` (or the document expands through its
    fragments into more than ``max_visits`` selections)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    visits = pairs = 0
    worst: tuple[str, int] = ("", 0)

    def collect(selection_sets: list[SelectionSetNode]) -> dict[str, list[SelectionSetNode | None]]:
        nonlocal visits
        groups: dict[str, list[SelectionSetNode | None]] = {}
        expanded: set[str] = set()
        stack = list(selection_sets)
        while stack:
            for selection in stack.pop().selections:
                visits += 1
                if visits > max_visits:
                    raise _TooRepetitive
                if isinstance(selection, FieldNode):
                    groups.setdefault((selection.alias or selection.name).value, []).append(selection.selection_set)
                elif isinstance(selection, InlineFragmentNode):
                    stack.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name not in expanded and name in fragments:
                        expanded.add(name)
                        stack.append(fragments[name].selection_set)
        return groups

    def walk(selection_sets: list[SelectionSetNode], path: str) -> None:
        nonlocal pairs, worst
        for key, subs in collect(selection_sets).items():
            where = f"{path}.{key}" if path else key
            pairs += len(subs) * (len(subs) - 1) // 2
            if len(subs) > worst[1]:
                worst = (where, len(subs))
            if pairs > max_pairs:
                raise _TooRepetitive
            children = [sub for sub in subs if sub is not None]
            if children:
                walk(children, where)

    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
                walk([definition.selection_set], "")
    except (_TooRepetitive, RecursionError):
        return worst[0][:100], worst[1]
    return None


class RepeatedFieldsLimiter(SchemaExtension):
    """Refuses, before validation, a document whose repeated fields would take validation long."""

    def __init__(self, *, max_pairs: int = MAX_REPEAT_PAIRS) -> None:
        self.max_pairs = max_pairs

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            found = repeated_fields(context.graphql_document, self.max_pairs)
            if found is not None:
                error = CodedError(REPEATS, TOO_REPETITIVE, path=found[0], count=found[1])
                error.extensions["limit"] = self.max_pairs
                context.pre_execution_errors = [error]
        yield


# -- document size and shape: strawberry's limiters, whose refusals carry our codes -----------------

DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"

TOO_MANY_TOKENS = N_("The document has more than {limit} tokens (names, punctuation, values); send a smaller one.")
TOO_LONG_DOCUMENT = N_("The document is longer than {limit} characters; send a smaller one.")
TOO_DEEP_QUERY = N_("The operation {name} nests fields more than {limit} levels deep.")
TOO_MANY_ALIASES_FOUND = N_("The document has {count} aliases; at most {limit} are allowed.")


def coded(error: GraphQLError, code: str, template: str | None = None, /, limit: int | None = None,
          **params) -> GraphQLError:
    """``error`` with ``extensions.code`` (and the limit it met), its message made from ``template``."""
    if limit is not None:
        params["limit"] = limit
    if template is not None:
        error.message = Message(template, params).text()
    error.extensions = {**(error.extensions or {}), "code": code, **({"limit": limit} if limit is not None else {})}
    return error


PARSE_FAILED = "GRAPHQL_PARSE_FAILED"


def _syntax_errors(context) -> list[GraphQLSyntaxError]:
    """The parse errors not coded yet, or coded only as a plain syntax error (the extensions'
    after-parse steps run in reverse order: ErrorCodes may have been first)."""
    return [e for e in context.pre_execution_errors or () if isinstance(e, GraphQLSyntaxError)
            and (e.extensions or {}).get("code") in (None, PARSE_FAILED)]


class DocumentLength(SchemaExtension):
    """Refuses a document longer than ``max_length`` characters before it is read token by token
    (the token limit alone would still let a megabyte of blanks or one huge string be scanned)."""

    def __init__(self, *, max_length: int) -> None:
        self.max_length = max_length

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_source_length"] = self.max_length  # type: ignore[typeddict-unknown-key]
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.query and len(context.query) > self.max_length:
            for error in _syntax_errors(context):
                coded(error, DOCUMENT_TOO_LARGE, TOO_LONG_DOCUMENT, limit=self.max_length)


def _more_tokens_than(text: str, limit: int) -> bool:
    """Whether the parser would count more than ``limit`` tokens in ``text`` (comments do not count)."""
    lexer = Lexer(Source(text))
    try:
        for _ in range(limit + 1):
            if lexer.advance().kind == TokenKind.EOF:
                return False
    except GraphQLSyntaxError:
        return False
    return True


class TokenLimit(MaxTokensLimiter):
    """strawberry's token limit; a document it stops is DOCUMENT_TOO_LARGE, with the limit."""

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        errors = _syntax_errors(context)
        too_long = len(context.query or "") > context.parse_options.get("max_source_length", float("inf"))
        if errors and context.query and not too_long and _more_tokens_than(context.query, self.max_token_count):
            for error in errors:
                coded(error, DOCUMENT_TOO_LARGE, TOO_MANY_TOKENS, limit=self.max_token_count)


class _Reporting:
    """A validation context whose reported errors pass through ``code`` first."""

    def __init__(self, context: ValidationContext, code: Callable[[GraphQLError], GraphQLError]) -> None:
        self._context, self._code = context, code

    def report_error(self, error: GraphQLError) -> None:
        self._context.report_error(self._code(error))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class DepthLimit(QueryDepthLimiter):
    """strawberry's depth limit, measured by its own walk; a refusal is QUERY_TOO_DEEP and names
    the operation and the limit."""

    def __init__(self, *, max_depth: int) -> None:
        super().__init__(max_depth=max_depth)

        class DepthRule(ValidationRule):
            def __init__(self, context: ValidationContext) -> None:
                definitions = context.document.definitions
                fragments = get_fragments(definitions)
                for name, operation in get_queries_and_mutations(definitions).items():
                    reporting = _Reporting(context, lambda error, name=name: coded(
                        error, QUERY_TOO_DEEP, TOO_DEEP_QUERY, limit=max_depth, name=name))
                    determine_depth(node=operation, fragments=fragments, depth_so_far=0, max_depth=max_depth,
                                    context=reporting, operation_name=name, should_ignore=None)
                super().__init__(context)

        self.validation_rules = [DepthRule]


class AliasLimit(MaxAliasesLimiter):
    """strawberry's alias limit, counted by its own walk; a refusal is TOO_MANY_ALIASES with the
    count and the limit."""

    def __init__(self, *, max_alias_count: int) -> None:
        super().__init__(max_alias_count=max_alias_count)

        class AliasRule(ValidationRule):
            def __init__(self, context: ValidationContext) -> None:
                definitions = context.document.definitions
                fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
                count = sum(count_fields_with_alias(d, fragments) for d in definitions
                            if isinstance(d, OperationDefinitionNode))
                if count > max_alias_count:
                    context.report_error(coded(GraphQLError(""), TOO_MANY_ALIASES, TOO_MANY_ALIASES_FOUND,
                                               limit=max_alias_count, count=count))
                super().__init__(context)

        self.validation_rules = [AliasRule]


# -- HTTP ------------------------------------------------------------------------------------------

class BodyRefused(RequestRefused):
    """An HTTP request body over a limit: answered GraphQL-shaped with its code and the limit."""

    def __init__(self, status: int, template: str, code: str, limit: int) -> None:
        super().__init__(status, template, code, limit=limit)
        self.limit = limit

    def response(self) -> JSONResponse:
        error = {"message": Message(self.template, self.params).text(),
                 "extensions": {"code": self.code, "limit": self.limit}}
        headers = {"Cache-Control": "no-store"}
        if self.status == 413:
            headers["Connection"] = "close"  # the rest of the body is not read
        return JSONResponse({"data": None, "errors": [error]}, status_code=self.status, headers=headers)


def body_too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, TOO_LARGE, BODY_TOO_LARGE, limit)


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def limited_receive(receive: Callable[[], Awaitable[dict]], limit: int) -> Callable[[], Awaitable[dict]]:
    """``receive`` that raises :func:`body_too_large` as soon as the body read so far passes
    ``limit``: a large body is never read whole, whatever its ``Content-Length`` claimed."""
    read = 0

    async def receive_limited() -> dict:
        nonlocal read
        message = await receive()
        if message["type"] == "http.request":
            read += len(message.get("body", b""))
            if read > limit:
                raise body_too_large(limit)
        return message

    return receive_limited


_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(range(256)).translate(None, _BRACKETS)  # every byte but the brackets
_ONE_KIND = bytes.maketrans(b"{}", b"[]")  # depth does not care which kind


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``body`` nests arrays and objects more than ``limit`` deep, found
    with byte operations only (no recursion, linear in the body's size). Malformed JSON may pass:
    the parser reports it."""
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"")  # escapes, so quotes delimit strings
    brackets = b"".join(text.split(b'"')[::2]).translate(_ONE_KIND, _NOT_BRACKETS)  # outside strings
    if b"[" * (limit + 1) in brackets:
        return True
    for _ in range(limit):  # each round removes the innermost level
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return False  # unbalanced: not JSON
        brackets = shorter
    return bool(brackets)


def parse_json_body(data: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """The request's JSON: :class:`BodyRefused` (400) when nested too deep, a 400 ``BAD_REQUEST``
    (:class:`RequestRefused`, answered as JSON) when it is not UTF-8 (RFC 8259 allows no other
    encoding) or not JSON — the caller's mistake, never a 500."""
    if isinstance(data, str):
        text, raw = data, data.encode("utf-8", "surrogatepass")
    else:
        raw = data
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestRefused(400, NOT_UTF8, BAD_REQUEST, position=exc.start) from None
    if json_too_deep(raw, limit):
        raise BodyRefused(400, TOO_DEEP, BODY_TOO_DEEP, limit)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestRefused(400, NOT_JSON, BAD_REQUEST, reason=exc.msg, line=exc.lineno, column=exc.colno) from None
    except RecursionError:  # not reached after the check above; never a 500 all the same
        raise BodyRefused(400, TOO_DEEP, BODY_TOO_DEEP, limit) from None


def parse_request_json(data: str | bytes) -> dict | list:
    """A GraphQL request body (or a GET request's ``variables``/``extensions``): JSON, and an
    object (or a batch's list) — strawberry would fail with a 500 on a bare string, number or null."""
    parsed = parse_json_body(data)
    if not isinstance(parsed, dict | list):
        raise RequestRefused(400, NOT_AN_OBJECT, BAD_REQUEST, example='{"query": "{ viewer { name } }"}')
    return parsed
