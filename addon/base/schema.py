"""One GraphQL schema assembled from the Query/Mutation parts of the loaded addons."""

from __future__ import annotations

import logging
import re

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, QueryDepthLimiter
from strawberry.tools import merge_types

from .db import is_lock_timeout
from .errors import DatabaseBusy
from .host import Host
from .schema_access import SchemaAccess


def _is_unexpected(error: GraphQLError) -> bool:
    # Our own coded errors are meant for the caller, and so is a busy database (see
    # process_errors); anything else is a bug whose details (stack, SQL, internals) stay in the
    # server log.
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError) and not is_lock_timeout(original)


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
    """The application schema: errors are logged and answered without echoing input values."""

    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        for error in errors:
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
            elif _is_unexpected(error):
                log.error("internal error at %s", error.path, exc_info=error.original_error)
            else:
                # Only the message: the full error text would quote the request's source.
                log.info("GraphQL error at %s: %s", error.path, error.message)


def _ask_to_retry(execution_context) -> None:
    response = getattr(getattr(execution_context, "context", None), "response", None)
    if response is not None and hasattr(response, "headers"):
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)


def build_schema(host: Host) -> strawberry.Schema:
    parts = [build() for build in host.registry.graphql_parts]
    queries = tuple(p.query for p in parts if p.query)
    mutations = tuple(p.mutation for p in parts if p.mutation)
    query = merge_types("Query", queries)
    mutation = merge_types("Mutation", mutations) if mutations else None
    depth = host.settings.max_query_depth
    public_schema = host.settings.public_schema
    return Schema(
        query=query,
        mutation=mutation,
        types=[t for p in parts for t in p.types],
        extensions=[
            lambda: SchemaAccess(public=public_schema),
            lambda: QueryDepthLimiter(max_depth=depth),
            lambda: MaskErrors(should_mask_error=_is_unexpected, error_message="Internal error; see the server log."),
        ],
    )


def print_sdl(host: Host) -> str:
    return str(build_schema(host)).rstrip() + "\n"
