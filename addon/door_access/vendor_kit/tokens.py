"""A bearer-token cache for a vendor client: one token per credential, trusted until shortly
before it expires, and one refresh at a time per credential whoever asks.

The vendor says how to fetch a token (its wire format); this module only decides when to, so
that N concurrent calls after an expiry, or while the vendor's token server is down, send one
token request rather than N.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from ..backend import BackendError

# How a vendor fetches a token: the token and its lifetime in seconds.
FetchToken = Callable[[], Awaitable[tuple[str, float]]]


@dataclass(eq=False)
class TokenEntry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    token: str | None = field(default=None, repr=False)
    refresh_at: float = 0.0
    # Bumped whenever a refresh ends, so that callers queued meanwhile share its outcome
    # instead of sending another token request each.
    generation: int = 0
    last_error: BackendError | None = None

    def fresh_token(self) -> str | None:
        if self.token is not None and time.monotonic() < self.refresh_at:
            return self.token
        return None


class TokenCache:
    """Tokens by credential key. The key must change when the secret does (a digest of it, never
    the secret itself), so that a changed secret never reuses the old one's token."""

    def __init__(self, refresh_margin: float = 30.0) -> None:
        self.refresh_margin = refresh_margin
        self.entries: dict[Hashable, TokenEntry] = {}

    async def token(self, key: Hashable, fetch: FetchToken) -> str:
        """A valid token for ``key``, fetched with ``fetch`` when there is none."""
        entry = self.entries.setdefault(key, TokenEntry())
        token = entry.fresh_token()
        if token is not None:
            return token
        seen_generation = entry.generation
        async with entry.lock:
            token = entry.fresh_token()
            if token is not None:
                return token
            if entry.generation != seen_generation and entry.last_error is not None:
                # Someone tried while we waited and failed: share that failure rather than
                # send more token requests to a server that just refused or failed.
                raise copy.copy(entry.last_error)
            entry.last_error = None
            requested_at = time.monotonic()  # the lifetime counts from the request, never later
            try:
                token, lifetime = await fetch()
            except BackendError as error:
                entry.last_error = error
                raise
            finally:
                entry.generation += 1
            entry.token = token
            entry.refresh_at = requested_at + lifetime - min(self.refresh_margin, lifetime * 0.1)
            return token

    def invalidate(self, key: Hashable, token: str) -> None:
        """Forget ``token`` after the vendor refused it, unless another caller replaced it already."""
        entry = self.entries.get(key)
        if entry is not None and entry.token == token:
            entry.token = None
            entry.refresh_at = 0.0


def oauth_token_answer(body: Any, default_lifetime: float = 300.0) -> tuple[str, float]:
    """The token and its lifetime from an OAuth 2 token answer (RFC 6749 §5.1). A missing
    ``expires_in`` is read as ``default_lifetime``, never as "for ever"."""
    token = body["access_token"]
    if not isinstance(token, str) or not token:
        raise ValueError("access_token is empty")
    lifetime = body.get("expires_in")
    return token, max(0.0, float(lifetime)) if lifetime is not None else default_lifetime
