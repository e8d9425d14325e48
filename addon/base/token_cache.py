"""A short-lived memory of API tokens already looked up, so that a client's every request does
not read its token row again.

* An entry lives ``IRESERVE_TOKEN_CACHE_SECONDS`` (default 10 s, 0: off), measured on the
  host's clock; expiry (``expires_at``) is checked at every use all the same.
* Any write to a token or a user in this process (revoking, replacing, a role or an owner
  deactivated, even the note of a token's last use) empties the cache at once, so a revocation
  holds from the next request on in the process that made it. Another process (a second
  server, the CLI) learns of it when its entry runs out: at most the cache lifetime later.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session

from .models import ApiToken, User


@dataclass(frozen=True)
class KnownToken:
    """What a request needs of a token row."""

    id: int
    name: str
    role: str
    expires_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> "KnownToken":
        return cls(row.id, row.name, row.role, row.expires_at, row.last_used_at)


class TokenCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[KnownToken, datetime]] = {}
        self.generation = 0  # times emptied: a lookup that began before is not kept
        _live_caches.add(self)

    def get(self, digest: str, now: datetime, lifetime: float) -> KnownToken | None:
        found = self._entries.get(digest)
        if found is None:
            return None
        known, stored_at = found
        if now - stored_at >= timedelta(seconds=lifetime) or now < stored_at:
            del self._entries[digest]
            return None
        return known

    def put(self, digest: str, known: KnownToken, now: datetime) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # many distinct tokens at once: start over rather than grow
        self._entries[digest] = (known, now)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1

    def __len__(self) -> int:
        return len(self._entries)


MAX_ENTRIES = 10_000
# One per host (its database); whichever host or session of the process writes a token or a
# user, every cache of the process is emptied.
_live_caches: "weakref.WeakSet[TokenCache]" = weakref.WeakSet()


def token_cache(host) -> TokenCache:
    """The host's cache of token lookups."""
    return host.service(TokenCache, TokenCache)


def _forget_everywhere() -> None:
    for cache in list(_live_caches):
        cache.clear()

_WATCHED = (ApiToken, User)
_WATCHED_TABLES = frozenset(model.__table__.name for model in _WATCHED)


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session: Session, _context) -> None:
    if any(isinstance(obj, _WATCHED) for obj in (*session.new, *session.dirty, *session.deleted)):
        _forget_everywhere()


@event.listens_for(Session, "do_orm_execute")
def _forget_after_bulk_write(state) -> None:
    if (state.is_update or state.is_delete) and _WATCHED_TABLES & {t.name for t in _tables(state.statement)}:
        _forget_everywhere()


def _tables(statement) -> list:
    table = getattr(statement, "table", None)
    return [table] if table is not None else []
