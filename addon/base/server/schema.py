"""One GraphQL schema assembled from the Query/Mutation parts of the loaded addons."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import strawberry
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.tools import merge_types

from graphql import GraphQLError, GraphQLSyntaxError

from ..core.db import is_lock_timeout
from ..core.errors import DatabaseBusy, DatabaseUnavailable
from ..core.host import Host
from ..core.i18n import N_, Message
from ..core.outage import is_database_unavailable
from ..kit.basics import multiline_inputs
from ..kit.extend import extensions_of
from ..kit.preload import declared_loads
from .document_cache import ParseOnce, ValidDocuments
from .limits import (
    PARSE_FAILED,
    AliasLimit,
    DepthLimit,
    DocumentLength,
    QueryCostLimiter,
    RepeatedFieldsLimiter,
    TokenLimit,
    api_limits,
    budgets,
    coded,
)
from .request_log import note_database_unavailable, operation_facts
from .schema_access import SchemaAccess, hide_suggestions, may_read_schema
from .text_inputs import ControlCharacters
from .trusted_documents import TrustedDocumentsGate, published
from .unavailable import RETRY_AFTER_SECONDS as UNAVAILABLE_RETRY_AFTER_SECONDS


def _is_unexpected(error: GraphQLError) -> bool:
    # Our own coded errors are meant for the caller, and so is a busy or unreachable database (see
    # process_errors); anything else is a bug whose details (stack, SQL, internals) stay in the
    # server log.
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError) and not is_lock_timeout(original) \
        and not is_database_unavailable(original)


# -- error codes -----------------------------------------------------------------------------------
#
# Every error answered carries ``extensions.code``. Resolvers raise coded errors (CodedError:
# UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, DATABASE_BUSY …); the limits theirs
# (QUERY_TOO_COSTLY, PERSISTED_QUERY_NOT_FOUND, DOCUMENT_NOT_TRUSTED …); the rest get theirs here:
# by the step that found them (ErrorCodes; the limits on a document's size and shape are strawberry's
# limiters, subclassed in limits.py to code their own refusals) and, for what graphql-core reports during execution,
# in Schema.process_errors; a masked error is INTERNAL_SERVER_ERROR.

VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL_SERVER_ERROR"
BAD_REQUEST = "BAD_REQUEST"

INTERNAL_ERROR = N_("Internal error; see the server log.")
NOT_A_VALUE = N_("{where} is not a valid {type}.")
NOT_A_DATE_TIME = N_("{where} is not a valid {type}: send an ISO 8601 date and time with its offset, e.g. "
                     "2026-06-12T14:00:00+02:00.")
NOT_A_DATE = N_("{where} is not a valid {type}: send an ISO 8601 date, e.g. 2026-06-12.")
NOT_A_TIME = N_("{where} is not a valid {type}: send an ISO 8601 time, e.g. 14:00:00.")
A_VALUE = N_("A value")
A_VARIABLE = N_("Variable ${name}")

_VARIABLE = re.compile(r"^Variable '\$(\w+)' has invalid value")
_SCALAR = re.compile(r"Value cannot represent an? (\w+)")
_SCALAR_HINTS = {"DateTime": NOT_A_DATE_TIME, "Date": NOT_A_DATE, "Time": NOT_A_TIME}


def _has_code(error: GraphQLError) -> bool:
    return bool(error.extensions and error.extensions.get("code"))


def code_parse_error(error: GraphQLError) -> None:
    if not _has_code(error):  # the size limits code their own (limits.py)
        coded(error, PARSE_FAILED)


def code_validation_error(error: GraphQLError) -> None:
    if not _has_code(error) and not code_bad_value(error):  # depth and aliases code their own (limits.py)
        coded(error, VALIDATION_FAILED)


def code_bad_value(error: GraphQLError) -> bool:
    """A value that does not fit its type (a variable's, or a literal a scalar cannot read):
    BAD_USER_INPUT, with a message that says what is expected and does not quote the value."""
    variable = _VARIABLE.match(error.message)
    scalar = _SCALAR.search(error.message)
    if scalar is None and variable is None:
        return False
    if scalar is not None:
        where = Message(A_VARIABLE, {"name": variable.group(1)}) if variable else Message(A_VALUE)
        coded(error, BAD_USER_INPUT, _SCALAR_HINTS.get(scalar.group(1), NOT_A_VALUE), where=where,
               type=scalar.group(1))
    else:
        coded(error, BAD_USER_INPUT)
    error.original_error = None  # answered as the caller's mistake, not masked as ours
    return True


class ErrorCodes(SchemaExtension):
    """Codes the errors of parsing and validation, once their step is over."""

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            code_parse_error(error)

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            code_validation_error(error)


class MaskInternalErrors(MaskErrors):
    """An unexpected error is answered as INTERNAL_SERVER_ERROR, in the caller's language; what
    happened is in the server log (Schema.process_errors)."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.message = Message(INTERNAL_ERROR).text()
        masked.extensions = {"code": INTERNAL}
        return masked


log = logging.getLogger("addon.base.graphql")

# Seconds a client is asked to wait before sending again a request that met a busy database.
RETRY_AFTER_SECONDS = 1

# graphql-core quotes the offending input back ("... found: {'clientSecret': ...}", "String cannot
# represent a non string value: ..."). Inputs may carry secrets, so the quote is cut off.
_FOUND = re.compile(r"[,.]?\s*[Ff]ound: .*$", re.S)
_REPRESENTED = re.compile(r"(cannot represent [^:]*value): .*$", re.S)


def scrub_echoed_input(message: str) -> str:
    return _REPRESENTED.sub(r"\1.", _FOUND.sub(".", message))


class Schema(strawberry.Schema):
    """The application schema: errors are logged and answered without echoing input values. A
    type has the fields its addon declared plus those the host's other addons add to it
    (kit/extend.py)."""

    def __init__(self, *args, registry=None, public_schema: bool = False, **kwargs) -> None:
        self._registry = registry  # before strawberry converts the types (get_fields)
        self._public_schema = public_schema
        super().__init__(*args, **kwargs)

    def get_fields(self, type_definition):
        fields = super().get_fields(type_definition)
        added = extensions_of(self._registry, type_definition.name) if self._registry is not None else []
        if not added:
            return fields
        # After what the type inherits (Node's id), before what it declares itself.
        inherited = [f for f in fields if f.origin is not type_definition.origin]
        return [*inherited, *added, *(f for f in fields if f.origin is type_definition.origin)]

    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        # Who may not read the schema gets no "Did you mean …?" to rebuild it from.
        hints = may_read_schema(getattr(execution_context, "context", None), self._public_schema)
        for error in errors:
            if not hints:
                error.message = hide_suggestions(error.message)
            if isinstance(error, GraphQLSyntaxError):
                code_parse_error(error)  # a parse error not seen by ErrorCodes (a subscription's)
            elif not _has_code(error) and error.path is None:
                code_bad_value(error)  # the variables, checked when execution starts
            error.message = scrub_echoed_input(error.message)
            if is_lock_timeout(error.original_error):
                # A lock wait that timed out anywhere (a read, a DataLoader): retryable, not a bug.
                log.warning("database busy at %s: %s", error.path, error.original_error)
                busy = DatabaseBusy()
                error.message, error.extensions = busy.message, busy.extensions
                _ask_to_retry(execution_context)
            elif isinstance(error.original_error, DatabaseBusy):
                log.warning("database busy at %s", error.path)
                _ask_to_retry(execution_context)
            elif isinstance(error.original_error, DatabaseUnavailable) or is_database_unavailable(error.original_error):
                # Restarting, failing over, the network away: told once per outage, retryable.
                _report_outage(execution_context, error.original_error)
                if not isinstance(error.original_error, DatabaseUnavailable):
                    unavailable = DatabaseUnavailable()
                    error.message, error.extensions = unavailable.message, unavailable.extensions
                _ask_to_retry(execution_context, UNAVAILABLE_RETRY_AFTER_SECONDS)
            elif _is_unexpected(error):
                log.error("internal error at %s", error.path, exc_info=error.original_error)
            else:
                # Only the message: the full error text would quote the request's source.
                log.info("GraphQL error at %s: %s", error.path, error.message)
                if not _has_code(error):
                    # graphql-core's own: about the request as a whole (no operation to run), or
                    # a field that broke its type (a bug).
                    coded(error, BAD_REQUEST if error.path is None else INTERNAL)


def _ask_to_retry(execution_context, seconds: int = RETRY_AFTER_SECONDS) -> None:
    response = getattr(getattr(execution_context, "context", None), "response", None)
    if response is not None and hasattr(response, "headers"):
        response.headers["Retry-After"] = str(seconds)


def _report_outage(execution_context, error: BaseException) -> None:
    context = getattr(execution_context, "context", None)
    host = getattr(context, "host", None)
    if host is not None:
        # Our coded error says "try again"; what it was raised from says why.
        cause = (error.__cause__ or error) if isinstance(error, DatabaseUnavailable) else error
        host.database.outage.failed(cause, during="request")
    request = getattr(context, "request", None)
    note_database_unavailable(getattr(request, "scope", None))


def build_schema(host: Host) -> strawberry.Schema:
    parts = [build() for build in host.registry.graphql_parts]
    queries = tuple(p.query for p in parts if p.query)
    mutations = tuple(p.mutation for p in parts if p.mutation)
    query = merge_types("Query", queries)
    mutation = merge_types("Mutation", mutations) if mutations else None
    subscriptions = tuple(p.subscription for p in parts if p.subscription)
    subscription = merge_types("Subscription", subscriptions) if subscriptions else None
    depth = host.settings.max_query_depth
    public_schema = host.settings.public_schema
    limits = api_limits(host)
    trusted = published()
    documents = ValidDocuments()
    schema = Schema(
        registry=host.registry,
        public_schema=public_schema,
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=[t for p in parts for t in p.types],
        # Factories, not instances: an extension keeps per-operation state, so each operation
        # gets its own. In this order: what a document may be (trusted, length, tokens) before it
        # is parsed, its cost before it is validated, the rest while validating.
        extensions=[
            lambda: TrustedDocumentsGate(documents=trusted, enforce=limits.trusted_documents),
            lambda: DocumentLength(max_length=limits.max_document_length),
            lambda: TokenLimit(max_token_count=limits.max_tokens),
            lambda: QueryCostLimiter(budgets=budgets(limits), max_page_size=host.settings.max_page_size),
            RepeatedFieldsLimiter,
            lambda: ControlCharacters(multiline=multiline_inputs(host)),  # no NUL in any text it runs with
            ParseOnce,  # strawberry's parser cache
            documents.extension,  # after the refusals above: they run on every request, cached or not
            lambda: SchemaAccess(public=public_schema),
            lambda: DepthLimit(max_depth=depth),
            lambda: AliasLimit(max_alias_count=limits.max_aliases),
            ErrorCodes,
            lambda: MaskInternalErrors(should_mask_error=_is_unexpected),
            operation_facts(frozenset(d.name for d in trusted.by_hash.values())),  # for the request's log line
        ],
    )
    # Fields declared with loaded_by(): lists preload them without a plan (kit/preload.py).
    name_of = schema.config.name_converter.get_graphql_name
    host.registry.declared_loads = {
        name: found for name, concrete in schema.schema_converter.type_map.items()
        if hasattr(concrete.definition, "fields") and (found := declared_loads(concrete.definition, name_of))}
    return schema


def print_sdl(host: Host) -> str:
    return str(build_schema(host)).rstrip() + "\n"
