"""Who makes a request: an API token (``Authorization: Bearer <token>``) or a person signed in
in a browser (the session cookie, with its CSRF token and our own Origin).

Only hashes are stored: SHA-256 of tokens and session ids, argon2id of passwords. A bearer token
decides alone: when the header is sent, the cookie is not looked at.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import replace
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse

from ..core.db import is_lock_timeout, release, utcnow
from ..core.i18n import N_, Message
from ..core.principal import Principal, Role
from . import sessions
from .audit import Actor, record
from .models import ApiToken, User
from .token_cache import KnownToken, token_cache

log = logging.getLogger(__name__)

TOKEN_PREFIX = "irs_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(session: AsyncSession, name: str, role: Role, replace: bool = False, *,
                       owner_user_id: int | None = None, owner_app: str | None = None,
                       expires_at: datetime | None = None) -> str:
    """Store a new token and return it; it is shown once and cannot be recovered.

    The rules of who may own which token are in :func:`addon.base.tokens.issue_token`; without an
    owner the token belongs to the app it is named after."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name")
    if replace:
        await session.execute(
            update(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    if owner_user_id is None and not owner_app:
        owner_app = name
    session.add(ApiToken(name=name, role=role.name.lower(), token_hash=hash_token(token), owner_user_id=owner_user_id,
                         owner_app=owner_app if owner_user_id is None else None, expires_at=expires_at))
    await session.flush()
    return token


def bearer_token(authorization_header: str | None) -> str | None:
    if not authorization_header:
        return None
    scheme, _, token = authorization_header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


async def _token_row(session: AsyncSession, token: str, now: datetime) -> ApiToken | None:
    """The token's row while it may be used: not revoked, not expired, its owner not disabled."""
    found = (await session.execute(
        select(ApiToken, User.active).outerjoin(User, User.id == ApiToken.owner_user_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)))).first()
    if found is None:
        return None
    row, owner_active = found
    if row.expires_at is not None and now >= row.expires_at:
        return None
    if row.owner_user_id is not None and not owner_active:
        return None
    return row


async def _known_token(host, session: AsyncSession, token: str, now: datetime) -> KnownToken | None:
    """The token as a request needs it: from the short-lived cache (token_cache.py), else read."""
    lifetime = host.settings.token_cache_seconds
    digest = hash_token(token)
    known_tokens = token_cache(host)
    generation = known_tokens.generation
    known = known_tokens.get(digest, now, lifetime) if lifetime > 0 else None
    if known is not None and known.expires_at is not None and now >= known.expires_at:
        return None
    kept = known is not None
    if known is None:
        row = await _token_row(session, token, now)
        await release(session)  # ends the read transaction and keeps what it loaded
        if row is None:
            return None
        known = KnownToken.of(row)
    if known.last_used_at is None or now - known.last_used_at >= sessions.TOUCH_EVERY:
        await _write_quietly(host, _touch_token, known.id, now)  # our own write: not a reason to forget
        known = replace(known, last_used_at=now)
        generation += 1
    # Kept from the time the row was read (never longer), if nothing was revoked meanwhile.
    if lifetime > 0 and not kept and known_tokens.generation == generation:
        known_tokens.put(digest, known, now)
    return known


def _token_principal(row: ApiToken | KnownToken) -> Principal:
    return Principal(kind="token", id=row.id, name=row.name, role=Role.parse(row.role))


async def authenticate(session: AsyncSession, authorization_header: str | None,
                       now: datetime | None = None) -> Principal | None:
    """The API token of an ``Authorization: Bearer`` header, or ``None`` (read only)."""
    token = bearer_token(authorization_header)
    if token is None:
        return None
    row = await _token_row(session, token, now or utcnow())
    return _token_principal(row) if row is not None else None


# -- requests: a bearer token or the browser's session ------------------------------------------

class RequestRefused(Exception):
    """A request refused before anything runs, answered GraphQL-shaped with a code."""

    def __init__(self, status: int, template: str, code: str, /, **params) -> None:
        super().__init__(code)
        self.status, self.template, self.code, self.params = status, template, code, params

    def response(self) -> JSONResponse:
        error = {"message": Message(self.template, self.params).text(), "extensions": {"code": self.code}}
        return JSONResponse({"data": None, "errors": [error]}, status_code=self.status,
                            headers={"Cache-Control": "no-store"})


CSRF_CODE = "CSRF_REFUSED"
NO_CSRF_TOKEN = N_("A request signed in with the session cookie must send the page's CSRF token in the "
                   "X-CSRF-Token header.")
NOT_OUR_ORIGIN = N_("A request signed in with the session cookie must come from this site's own pages "
                    "(its Origin or Referer header does not match).")


async def authenticate_request(host, session: AsyncSession, request, *, csrf: bool = True) -> Principal | None:
    """Who sends ``request``: its bearer token, else the person its session cookie signs in.

    A cookie counts only with the session's CSRF token (header ``X-CSRF-Token``) and our own
    ``Origin``/``Referer``; without them the request is refused (:class:`RequestRefused`), since a
    browser sends the cookie for whichever page makes it send the request. ``csrf=False`` is for
    pages a browser navigates to, which change nothing and whose answer no other site can read.

    Reads on ``session`` and ends its transaction; the rare writes (last use, an ended session)
    go through a session of their own."""
    now = host.clock.now()
    header = request.headers.get("authorization")
    if header:
        token = bearer_token(header)
        known = await _known_token(host, session, token, now) if token else None
        return _token_principal(known) if known is not None else None

    session_id = request.cookies.get(sessions.SESSION_COOKIE)
    found = await sessions.find(session, session_id) if session_id else None
    await release(session)
    if found is None or not found.user.active:
        return None
    settings = sessions.sign_in_settings(host)
    reason = sessions.expiry_reason(found.row, settings, now)
    if reason is not None:
        await _write_quietly(host, _expire_session, found, reason, _address(request))
        return None
    if csrf:
        if not sessions.csrf_token_matches(session_id, request.headers.get(sessions.CSRF_HEADER)):
            raise RequestRefused(403, NO_CSRF_TOKEN, CSRF_CODE)
        if not sessions.from_own_origin(request):
            raise RequestRefused(403, NOT_OUR_ORIGIN, CSRF_CODE)
    if sessions.needs_touch(found.row, now):
        await _write_quietly(host, sessions.touch, found.row.id, now)
    return user_principal(found.user)


def user_principal(user: User) -> Principal:
    return Principal(kind="user", id=user.id, name=user.name, role=Role.parse(user.role))


async def _touch_token(session: AsyncSession, token_id: int, now: datetime) -> None:
    stale = now - sessions.TOUCH_EVERY
    await session.execute(update(ApiToken).where(
        ApiToken.id == token_id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= stale))
        .values(last_used_at=now))


async def _expire_session(session: AsyncSession, found: "sessions.Found", reason: str, address: str | None) -> None:
    if await sessions.end_by_row(session, found.row.id):
        await record(session, "session.expired", "user", found.user.id, {"reason": [None, reason]},
                     actor=Actor("user", found.user.name, found.user.id, address))


async def _write_quietly(host, work, *args) -> None:
    """Bookkeeping a request does on the side; a busy database skips it rather than fail the request."""
    try:
        async with host.database.session() as session:
            await work(session, *args)
            await session.commit()
    except OperationalError as exc:
        if not is_lock_timeout(exc):
            raise
        log.warning("database busy: skipped %s", getattr(work, "__name__", work))


def _address(request) -> str | None:
    return request.client.host if request is not None and request.client else None


def actor_of(principal: Principal | None, request=None) -> Actor:
    """The audit trail's name for the caller of a request (and where it came from)."""
    address = _address(request)
    if principal is None:
        return Actor("anonymous", "anonymous", address=address)
    return Actor(principal.kind, principal.name, principal.id, address)
