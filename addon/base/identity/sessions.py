"""Browser sessions: a random id in an HttpOnly cookie, only its SHA-256 in ``base_session``.

A session ends at its absolute expiry (``IRESERVE_SESSION_HOURS`` after sign-in) or when it has
not been used for ``IRESERVE_SESSION_IDLE_MINUTES``, whichever comes first; sign-out deletes it.
Its use is written at most once a minute (``TOUCH_EVERY``), so the idle expiry is exact to a minute.

Requests authenticated by the cookie must prove they come from our own pages (CSRF): they send
the CSRF token — readable by our pages in the ``ireserve_csrf`` cookie, derived from the session
id so it needs no storage — in the ``X-CSRF-Token`` header, and an ``Origin`` (or ``Referer``)
of this server's own origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from ..core.settings import Env
from .models import User, UserSession

SESSION_COOKIE = "ireserve_session"
CSRF_COOKIE = "ireserve_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"  # the same token in a form (sign-out)
TOUCH_EVERY = timedelta(minutes=1)
LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class SignInSettings:
    """Browser sessions and the throttling of failed sign-ins (``signin.py``, ``throttle.py``)."""

    session_hours: int = 12  # absolute lifetime of a session, however active
    session_idle_minutes: int = 30  # a session unused this long ends
    free_failures: int = 3  # failed sign-ins (per e-mail address) before the delays start
    lockout_failures: int = 10  # failed sign-ins (per e-mail address) that lock it out
    lockout_minutes: int = 15  # how long a lock-out lasts; failures older than this are forgiven
    address_lockout_failures: int = 30  # failed sign-ins from one client address that lock it out

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "SignInSettings":
        env = Env(environ)
        free = env.int("IRESERVE_SIGNIN_FREE_FAILURES", cls.free_failures, minimum=1)
        lockout = env.int("IRESERVE_SIGNIN_LOCKOUT_FAILURES", cls.lockout_failures, minimum=free + 1)
        return cls(
            session_hours=env.int("IRESERVE_SESSION_HOURS", cls.session_hours, minimum=1),
            session_idle_minutes=env.int("IRESERVE_SESSION_IDLE_MINUTES", cls.session_idle_minutes, minimum=1),
            free_failures=free,
            lockout_failures=lockout,
            lockout_minutes=env.int("IRESERVE_SIGNIN_LOCKOUT_MINUTES", cls.lockout_minutes, minimum=1),
            address_lockout_failures=env.int("IRESERVE_SIGNIN_ADDRESS_LOCKOUT_FAILURES", cls.address_lockout_failures, minimum=lockout),
        )


def sign_in_settings(host) -> SignInSettings:
    """The host's session and throttling settings (declared by the base addon)."""
    return host.service(SignInSettings) or host.declare_settings(SignInSettings)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token_for(session_id: str) -> str:
    """The session's CSRF token: nobody without the (HttpOnly) session id can compute it, and it
    differs from the stored hash, so a copy of the database does not give it away either."""
    digest = hashlib.sha256(b"ireserve csrf\x00" + session_id.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def csrf_token_matches(session_id: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token_for(session_id).encode(), sent.strip().encode())


def csrf_token_of_request(request: Request) -> str | None:
    """The CSRF token for the session cookie the request carries (e.g. to put into a page we
    render for it), or ``None`` without one."""
    session_id = request.cookies.get(SESSION_COOKIE)
    return csrf_token_for(session_id) if session_id else None


# -- the session rows --------------------------------------------------------------------------

@dataclass(frozen=True)
class Found:
    row: UserSession
    user: User


async def find(session: AsyncSession, session_id: str | None) -> Found | None:
    """The session the cookie names and its user, live or not (see :func:`expired`)."""
    if not session_id or len(session_id) > 200:
        return None
    result = (await session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_session_id(session_id)))).first()
    return Found(result[0], result[1]) if result else None


def expiry_reason(row: UserSession, settings: SignInSettings, now: datetime) -> str | None:
    """Why the session has ended ("absolute" or "idle"), or ``None`` while it lives."""
    if now >= row.expires_at:
        return "absolute"
    if now - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes):
        return "idle"
    return None


def needs_touch(row: UserSession, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


async def start(session: AsyncSession, user: User, settings: SignInSettings, now: datetime,
                address: str | None) -> str:
    """Store a new session for ``user`` and return its id (for the cookie only)."""
    session_id = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=hash_session_id(session_id), user_id=user.id, created_at=now,
                            expires_at=now + timedelta(hours=settings.session_hours), last_seen_at=now,
                            address=address))
    await session.flush()
    return session_id


async def end(session: AsyncSession, session_id: str | None) -> None:
    if session_id:
        await session.execute(delete(UserSession).where(UserSession.token_hash == hash_session_id(session_id)))


async def end_by_row(session: AsyncSession, row_id: int) -> bool:
    """Delete one session; whether it was still there (another request may have ended it)."""
    result = await session.execute(delete(UserSession).where(UserSession.id == row_id))
    return bool(result.rowcount)


async def end_all_of(session: AsyncSession, user_id: int) -> None:
    """Sign the person out everywhere (disabled, or a new password)."""
    await session.execute(delete(UserSession).where(UserSession.user_id == user_id))


async def touch(session: AsyncSession, row_id: int, now: datetime) -> None:
    """Record a use, unless another request did within the last minute."""
    await session.execute(update(UserSession).where(UserSession.id == row_id,
                                                    UserSession.last_seen_at <= now - TOUCH_EVERY)
                          .values(last_seen_at=now))


async def forget_ended(session: AsyncSession, settings: SignInSettings, now: datetime) -> None:
    """Delete the sessions that have ended without anyone coming back to them."""
    idle_cutoff = now - timedelta(minutes=settings.session_idle_minutes)
    await session.execute(delete(UserSession).where(
        or_(UserSession.expires_at <= now, UserSession.last_seen_at <= idle_cutoff)))


# -- cookies and origins -----------------------------------------------------------------------

def is_loopback(request: Request) -> bool:
    """Whether the request was sent to this machine itself (http://127.0.0.1, localhost, [::1]):
    the only place where cookies go without ``Secure``."""
    host = (request.url.hostname or "").strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def set_cookies(response: Response, request: Request, session_id: str, settings: SignInSettings) -> None:
    common = {"max_age": settings.session_hours * 3600, "path": "/", "samesite": "lax",
              "secure": not is_loopback(request)}
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, **common)
    # Readable by our pages' scripts: they send it back in the X-CSRF-Token header.
    response.set_cookie(CSRF_COOKIE, csrf_token_for(session_id), httponly=False, **common)


def clear_cookies(response: Response, request: Request) -> None:
    secure = not is_loopback(request)
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="lax", secure=secure, httponly=True)
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="lax", secure=secure)


def _same_origin(url: str, request: Request) -> bool:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (a sandboxed frame, a file) and anything else unknown
    own_host = request.headers.get("host", "").strip().lower()
    if not own_host or parts.netloc.lower() != own_host:
        return False
    # TLS may end at a proxy in front of us: an https page of our own host is ours too.
    return parts.scheme == request.url.scheme or parts.scheme == "https"


def from_own_origin(request: Request) -> bool:
    """The request says it comes from a page of this server: its ``Origin``, or without one its
    ``Referer``, is our own origin. A request that says neither does not qualify."""
    origin = request.headers.get("origin")
    if origin is not None:
        return _same_origin(origin, request)
    referer = request.headers.get("referer")
    return referer is not None and _same_origin(referer, request)


def from_other_origin(request: Request) -> bool:
    """The request says it comes from another site (an ``Origin`` or ``Referer`` not ours)."""
    origin = request.headers.get("origin")
    if origin is not None:
        return not _same_origin(origin, request)
    referer = request.headers.get("referer")
    return referer is not None and not _same_origin(referer, request)
