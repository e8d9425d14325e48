"""Typed Resivo failures.

The split that matters to callers is transient (retry later, with backoff) versus permanent
(nothing changes until the configuration or the booking changes). No text that reaches these
classes may carry the client secret or a bearer token: the client scrubs it first.
"""

from __future__ import annotations

from addon.door_access.public import (
    BackendError,
    PermanentBackendError,
    TransientBackendError,
)


class ResivoError(BackendError):
    """Base of every failure raised by the Resivo client.

    ``str(error)`` is a full sentence for logs and admins. ``message`` is Resivo's own
    ``message`` from the error body when it sent one, else the same sentence. ``operation`` is
    the client operation ("create_remote_access", "token", ...) and ``status`` the HTTP status,
    or ``None`` when no answer arrived.
    """

    def __init__(
        self,
        text: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        message: str | None = None,
    ):
        super().__init__(text, status=status)
        self.operation = operation
        self.message = message if message is not None else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.text!r}, operation={self.operation!r}, "
            f"status={self.status!r})"
        )


class ResivoTransientError(ResivoError, TransientBackendError):
    """Timeout, connection failure, 429 or 5xx: the same call may succeed later.

    ``retry_after`` is Resivo's ``Retry-After`` in seconds when it sent one.
    """

    def __init__(
        self,
        text: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        message: str | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(text, operation=operation, status=status, message=message)
        self.retry_after = retry_after


class ResivoProtocolError(ResivoTransientError):
    """A 2xx answer whose body does not follow the contract.

    Transient on purpose: after a create whose answer we cannot read the set may exist, and
    the caller's retry adopts it by external reference instead of giving up.
    """


class ResivoPermanentError(ResivoError, PermanentBackendError):
    """400/403/404/409/422 (and any other 4xx): the same call will fail the same way."""


class ResivoAuthenticationError(ResivoPermanentError):
    """The client id or secret was rejected, or Resivo refused a freshly issued token."""
