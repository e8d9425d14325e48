"""Wire-format-independent helpers for a vendor's HTTP client: its timeouts, ``Retry-After``,
hiding secrets from texts, and each call's record for the call log.

What a vendor's answers mean (paths, bodies, error codes) stays in its own client module.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

REDACTED = "***"

OUTCOME_OK = "ok"
OUTCOME_TRANSIENT = "transient"
OUTCOME_PERMANENT = "permanent"


def vendor_http_client(*, connect_timeout: float, read_timeout: float, transport: httpx.AsyncBaseTransport | None,
                       user_agent: str) -> httpx.AsyncClient:
    """The pooled client a vendor connector sends with: connect and read timeouts on every call,
    no redirects followed (a redirect could carry a bearer token elsewhere), JSON asked for."""
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
        follow_redirects=False,
        headers={"Accept": "application/json", "User-Agent": user_agent},
    )


def call_deadline(connect_timeout: float, read_timeout: float) -> float:
    """The longest one call may take in all: httpx's read timeout applies per socket read, so an
    overall deadline also bounds an answer that trickles in, and transports that ignore httpx's
    timeouts (ASGI in tests)."""
    return connect_timeout + read_timeout


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now; it may be a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def scrub_secrets(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret replaced, longest first so that a secret containing another one
    is hidden whole: what the vendor echoes back must not reach a log or an error."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True)
class VendorCallRecord:
    """One HTTP exchange with a vendor, for the call log. Never holds a secret."""

    operation: str
    method: str
    path: str
    http_status: int | None
    duration_ms: float
    outcome: str
    error: str | None = None
    context: Mapping[str, Any] | None = None


OnCall = Callable[[VendorCallRecord], Awaitable[None] | None]


def call_outcome(error: BaseException | None, transient: type[BaseException]) -> str:
    """How the call log sums a call up."""
    if error is None:
        return OUTCOME_OK
    return OUTCOME_TRANSIENT if isinstance(error, transient) else OUTCOME_PERMANENT


async def report_call(on_call: OnCall | None, logger: logging.Logger, vendor: str, *, operation: str, method: str,
                      path: str, status: int | None, started: float, error: BaseException | None,
                      context: Mapping[str, Any] | None, transient: type[BaseException]) -> None:
    """Sum up one call (``started`` is its ``time.perf_counter()``), log it at DEBUG only (the call
    log writes the one line each call gets) and hand it to ``on_call``."""
    record = VendorCallRecord(operation=operation, method=method, path=path, http_status=status,
                              duration_ms=round((time.perf_counter() - started) * 1000, 1),
                              outcome=call_outcome(error, transient), error=str(error) if error is not None else None,
                              context=dict(context) if context is not None else None)
    logger.debug("%s %s %s %s -> %s %s in %.1f ms%s", vendor, operation, method, path, status, record.outcome,
                 record.duration_ms, f": {record.error}" if record.error else "")
    await _deliver(on_call, record, logger, f"{vendor} {operation}")


async def _deliver(on_call: OnCall | None, record: VendorCallRecord, logger: logging.Logger, label: str) -> None:
    """Hand a call's record to the call log. A broken log must not turn a completed remote change
    into a failure: the caller would retry and, for a create, grant (or open) twice."""
    if on_call is None:
        return
    try:
        result = on_call(record)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("on_call callback failed for %s", label)
