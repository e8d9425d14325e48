"""A short-lived memory of API tokens already looked up, so that a client's every request does
not read its token row again.

* An entry lives ``IRESERVE_TOKEN_CACHE_SECONDS`` (default 10 s, 0: off), measured on the
  host's clock; expiry (``expires_at``) is checked at every use all the same.
* Any write to a token or a user through the host's database (revoking, replacing, a role or an
  owner deactivated, even the note of a token's last use) empties the host's cache at once, so a
  revocation holds from the next request on in the process that made it. Another process (a
  second server, the CLI) — or another host — learns of it when its entry runs out: at most the
  cache lifetime later. The cache listens to its own database's sessions only.
"""

from __future__ import annotations

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
_WATCHED = (ApiToken, User)
_WATCHED_TABLES = frozenset(model.__table__.name for model in _WATCHED)


def token_cache(host) -> TokenCache:
    """The host's cache of token lookups, emptied by every write to a token or a user made through
    the host's database."""
    return host.service(TokenCache, lambda: _watching(host.database.session_class, TokenCache()))


def _watching(session_class: type[Session], cache: TokenCache) -> TokenCache:
    def forget_after_flush(session: Session, _context) -> None:
        if any(isinstance(obj, _WATCHED) for obj in (*session.new, *session.dirty, *session.deleted)):
            cache.clear()

    def forget_after_bulk_write(state) -> None:
        if (state.is_update or state.is_delete) and _WATCHED_TABLES & {t.name for t in _tables(state.statement)}:
            cache.clear()

    event.listen(session_class, "after_flush", forget_after_flush)
    event.listen(session_class, "do_orm_execute", forget_after_bulk_write)
    return cache


def _tables(statement) -> list:
    table = getattr(statement, "table", None)
    return [table] if table is not None else []
