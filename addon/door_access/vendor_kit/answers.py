"""Reading a vendor's JSON answer into its value objects. A body that is not JSON, or not of the
shape the vendor's builder expects, becomes the vendor's protocol error (a proxy's error page or a
half-deployed API answers so) rather than a crash in the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

_T = TypeVar("_T")

# The vendor's protocol error: ``protocol_error(text, operation=…, status=…)``.
ProtocolError = Callable[..., Exception]


def parse_answer(operation: str, response: httpx.Response, build: Callable[[Any], _T], *, vendor: str,
                 protocol_error: ProtocolError) -> _T:
    """``build`` applied to the answer's JSON body; ``vendor`` names the vendor in the message."""
    try:
        body = response.json()
    except ValueError:
        raise protocol_error(f"{vendor} answered {operation} with a body that is not JSON",
                             operation=operation, status=response.status_code) from None
    try:
        return build(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise protocol_error(f"{vendor} answered {operation} with an unexpected body ({type(exc).__name__}: {exc})",
                             operation=operation, status=response.status_code) from None


def list_of(build: Callable[[Any], _T]) -> Callable[[Any], list[_T]]:
    """A builder for a JSON list of what ``build`` builds."""
    def build_list(body: Any) -> list[_T]:
        if not isinstance(body, list):
            raise TypeError(f"expected a list, got {type(body).__name__}")
        return [build(item) for item in body]

    return build_list
