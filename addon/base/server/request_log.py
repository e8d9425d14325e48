"""Every HTTP request: an id (the caller's ``X-Request-ID`` or a new one, echoed back), one log
line when it ends (method, path without the query string, status, duration, and for GraphQL the
operation, the caller's role and the outcome), and its duration in the metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from strawberry.extensions import SchemaExtension

from ..core.logs import log_fields, request_id_from
from .metrics import REQUEST_DURATION

log = logging.getLogger("addon.base.request")

FACTS_SCOPE_KEY = "ireserve.request_facts"
REQUEST_ID_HEADER = b"x-request-id"
# Paths probed every few seconds: no line each time (their duration still counts).
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


# The outcome of a request that met an unavailable database (answered 503 or DATABASE_UNAVAILABLE).
DATABASE_UNAVAILABLE = "database_unavailable"


def request_facts(scope) -> dict[str, Any] | None:
    """Where the GraphQL layer notes what the request was (operation, role, outcome)."""
    return scope.get(FACTS_SCOPE_KEY)


def note_database_unavailable(scope) -> None:
    """The request met an unavailable database: its line and metric say so, whatever else it did."""
    facts = request_facts(scope) if scope is not None else None
    if facts is not None:
        facts["database_unavailable"] = True


class RequestLog:
    """ASGI middleware, outermost: it sees every request and what it answered."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_from(headers.get(REQUEST_ID_HEADER, b"").decode("latin-1"))
        facts: dict[str, Any] = {}
        scope[FACTS_SCOPE_KEY] = facts
        status = {"code": None}

        async def send_with_id(message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                   (REQUEST_ID_HEADER, request_id.encode("latin-1"))]}
            elif kind == "websocket.accept":
                status["code"] = 101
            elif kind == "websocket.close" and status["code"] is None:
                status["code"] = 403  # closed before it was accepted
            await send(message)

        started = time.perf_counter()
        with log_fields(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                status["code"] = status["code"] or 500
                raise
            finally:
                self._finish(scope, facts, status["code"], time.perf_counter() - started)

    def _finish(self, scope, facts: dict[str, Any], status: int | None, seconds: float) -> None:
        path = scope.get("path", "")
        if facts.get("database_unavailable"):
            outcome = DATABASE_UNAVAILABLE
        else:
            outcome = facts.get("outcome") or _outcome(status)
        operation = facts.get("metric_operation") or _route_label(path)
        REQUEST_DURATION.labels(operation=operation, outcome=outcome).observe(seconds)
        if path in QUIET_PATHS and outcome == "ok":
            return
        log.info("%s %s %s", scope.get("method", "WS"), path, status or "-", extra={
            "http_method": scope.get("method", "WS"), "path": path, "status": status,
            "duration_ms": round(seconds * 1000, 1), "operation": facts.get("operation"),
            "operation_type": facts.get("operation_type"), "role": facts.get("role"), "outcome": outcome})


def _outcome(status: int | None) -> str:
    if status is None or status >= 500:
        return "server_error"
    return "client_error" if status >= 400 else "ok"


def _route_label(path: str) -> str:
    # A bounded set of labels: the first path segment only (ids and tokens never become labels).
    first = path.strip("/").split("/", 1)[0]
    return f"/{first}" if first in {"graphql", "healthz", "readyz", "metrics", "admin"} else "other"


class OperationFacts(SchemaExtension):
    """Notes the operation's name and type, and whether it answered errors, for the request line."""

    known_names: frozenset[str] = frozenset()

    def on_operation(self):
        yield
        context = self.execution_context
        request = getattr(context.context, "request", None)
        facts = request_facts(request.scope) if request is not None else None
        if facts is None:
            return
        name = context.operation_name
        try:
            operation = context.operation_type
        except RuntimeError:  # no document: it did not parse
            operation = None
        facts["operation"] = name[:100] if name else None
        facts["operation_type"] = getattr(operation, "value", None)
        # Metric labels must stay few: only the names of the shipped operations become labels.
        facts["metric_operation"] = name if name in self.known_names else ("anonymous" if not name else "other")
        result = context.result
        failed = (result is not None and getattr(result, "errors", None)) or getattr(context, "errors", None)
        facts["outcome"] = "graphql_error" if failed else "ok"


def operation_facts(known_names: frozenset[str]):
    """The extension (a class per schema: it keeps no state between operations)."""
    return type("OperationFacts", (OperationFacts,), {"known_names": known_names})
