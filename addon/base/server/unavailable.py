"""HTTP answers while the database cannot be reached: 503 with ``Retry-After`` and a JSON body
(``code: DATABASE_UNAVAILABLE``, ``retryable: true``), for every route — instead of a plain-text
500 and a traceback. The outage itself is logged once per episode (``core/outage.py``)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..core.errors import DatabaseUnavailable
from ..core.i18n import language_from_header, set_request_language
from ..core.outage import is_database_unavailable
from .request_log import note_database_unavailable

log = logging.getLogger(__name__)

# Seconds a client is asked to wait before sending again what met an unavailable database: a
# restart or a failover takes seconds.
RETRY_AFTER_SECONDS = 2
RETRY_HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def unavailable_error(template: str = DatabaseUnavailable.TRY_AGAIN) -> dict:
    """The GraphQL error of an unavailable database, in the request's language."""
    return DatabaseUnavailable(template).formatted


def graphql_unavailable_response(request: Request) -> JSONResponse:
    """A GraphQL-shaped answer for an outage met before execution (the token check): nothing ran."""
    set_request_language(language_from_header(request.headers.get("accept-language")))
    return JSONResponse({"data": None, "errors": [unavailable_error(DatabaseUnavailable.NOTHING_CHANGED)]},
                        status_code=503, headers=RETRY_HEADERS)


def unavailable_response(request: Request) -> JSONResponse:
    set_request_language(language_from_header(request.headers.get("accept-language")))
    error = unavailable_error()
    return JSONResponse({"error": error["message"], **error["extensions"]}, status_code=503, headers=RETRY_HEADERS)


class DatabaseOutageAnswers:
    """ASGI middleware (inside the request log): whatever route meets an unavailable database
    answers 503 to retry; the outage is reported to the database's outage log."""

    def __init__(self, app, host) -> None:
        self.app = app
        self.host = host

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            self.host.database.outage.failed(exc, during="request")
            note_database_unavailable(scope)
            if started:  # the answer went out already (e.g. closing the request's session failed)
                return
            await unavailable_response(Request(scope))(scope, receive, send)
