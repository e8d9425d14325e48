"""Signing in with a browser: ``GET /admin/login`` (the page), ``POST /admin/login`` (the form),
``POST /admin/logout``.

A plain HTML page without scripts or external resources. A wrong password and an unknown e-mail
address get the same answer after the same work (a dummy hash is checked for an unknown one);
failed attempts are throttled per e-mail address and per client address (:mod:`.throttle`).
A successful sign-in starts a new server-side session (:mod:`.sessions`) and ends the one the
browser had; signing out deletes the session on the server.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from urllib.parse import parse_qs

from babel.dates import format_timedelta
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..core.db import is_lock_timeout
from ..core.errors import DatabaseBusy
from ..core.i18n import N_, Message, language_from_header, set_request_language
from ..core.text import control_character
from . import sessions, throttle
from .audit import Actor, record
from .models import User
from .passwords import hash_password, needs_rehash, verify_password
from .users import EMAIL_MAX, find_by_email, normalize_email

log = logging.getLogger(__name__)

LOGIN_PATH = "/admin/login"
LOGOUT_PATH = "/admin/logout"
MAX_FORM_BYTES = 8 * 1024
PASSWORD_MAX = 1024  # longer is no password of ours; refused before any hashing

WRONG = N_("Wrong e-mail address or password.")
TOO_MANY = N_("Too many failed sign-in attempts. Try again in {wait}.")
MISSING = N_("Enter your e-mail address and your password.")
CONTROL_CHARACTERS = N_("The e-mail address contains a control character; type it again.")
OTHER_SITE = N_("This request came from another site and was refused.")
SIGN_OUT_REFUSED = N_("Signing out needs the page's security token; reload the page and sign out again.")

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
}

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { display: block; width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
button { margin-top: 1.5rem; padding: .5rem 1.25rem; font-size: 1rem; }
.error { color: #a40000; border-left: 4px solid #a40000; padding-left: .75rem; }
:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
"""


# -- pages ---------------------------------------------------------------------------------------

def _t(template: str, **params) -> str:
    return escape(Message(template, params).text())


def _page(language: str, title: str, content: str, status: int = 200, headers: dict | None = None) -> HTMLResponse:
    html = (f'<!doctype html>\n<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{title} · ireserve</title>\n<style>{STYLE}</style>\n</head>\n'
            f'<body>\n<main>\n<h1>{title}</h1>\n{content}</main>\n</body>\n</html>\n')
    return HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def _form_page(language: str, *, email: str = "", next_path: str | None = None, error: str | None = None,
               status: int = 200, headers: dict | None = None) -> HTMLResponse:
    email_label, password_label, sign_in = _t(N_("Email")), _t(N_("Password")), _t(N_("Sign in"))
    described = ' aria-describedby="signin-error" aria-invalid="true"' if error else ""
    content = (f'<p id="signin-error" class="error" role="alert">{error}</p>\n' if error else "")
    content += (
        f'<form method="post" action="{LOGIN_PATH}">\n'
        f'<label for="email">{email_label}</label>\n'
        f'<input id="email" name="email" type="email" autocomplete="username" required'
        f' maxlength="{EMAIL_MAX}" value="{escape(email)}"{described}>\n'
        f'<label for="password">{password_label}</label>\n'
        f'<input id="password" name="password" type="password" autocomplete="current-password" required{described}>\n'
        + (f'<input type="hidden" name="next" value="{escape(next_path)}">\n' if next_path else "")
        + f'<button type="submit">{sign_in}</button>\n</form>\n')
    return _page(language, sign_in, content, status, headers)


def _signed_in_page(language: str, user, session_id: str) -> HTMLResponse:
    who = _t(N_("You are signed in as {name} ({email}) with the role {role}."),
             name=user.name, email=user.email, role=user.role)
    console, graphiql, sign_out = _t(N_("Open the admin console")), _t(N_("Open GraphiQL")), _t(N_("Sign out"))
    csrf = escape(sessions.csrf_token_for(session_id))
    content = (
        f'<p>{who}</p>\n'
        f'<p><a href="/admin">{console}</a></p>\n'
        f'<p><a href="/graphql">{graphiql}</a></p>\n'
        f'<form method="post" action="{LOGOUT_PATH}">\n'
        f'<input type="hidden" name="{sessions.CSRF_FIELD}" value="{csrf}">\n'
        f'<button type="submit">{sign_out}</button>\n</form>\n')
    return _page(language, _t(N_("Signed in")), content)


def _wait_text(seconds: float, language: str) -> str:
    """"2 seconds", "15 minutes", in the reader's language, rounded up."""
    wait = timedelta(seconds=math.ceil(seconds)) if seconds < 60 else timedelta(minutes=math.ceil(seconds / 60))
    return format_timedelta(wait, threshold=1, locale=language)


# -- requests --------------------------------------------------------------------------------------

class _BadForm(Exception):
    pass


async def _read_form(request: Request) -> dict[str, str]:
    """A urlencoded form body (what a browser's form sends), at most MAX_FORM_BYTES."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise _BadForm
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise _BadForm from None
    return {name: values[0] for name, values in parsed.items()}


def _safe_next(value: str | None) -> str | None:
    """Only a path of this site to go on to after signing in (no other host, no scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return None
    if any(ord(c) < 33 for c in value):
        return None
    return value


def _language(request: Request) -> str:
    language = language_from_header(request.headers.get("accept-language"))
    set_request_language(language)
    return language


def _address(request: Request) -> str:
    return (request.client.host if request.client else None) or "unknown"


@dataclass(frozen=True)
class _Candidate:
    """What the first transaction learnt of the user (nothing, for an unknown address)."""

    id: int | None = None
    name: str = ""
    role: str = ""
    active: bool = False
    password_hash: str | None = None


def routes(host) -> list[Route]:
    settings = sessions.sign_in_settings(host)

    async def current(request: Request):
        async with host.database.session(read_only=True) as session:
            found = await sessions.find(session, request.cookies.get(sessions.SESSION_COOKIE))
        if found is None or not found.user.active:
            return None
        if sessions.expiry_reason(found.row, settings, host.clock.now()) is not None:
            return None
        return found

    async def login_page(request: Request) -> Response:
        language = _language(request)
        found = await current(request)
        if found is not None:
            return _signed_in_page(language, found.user, request.cookies[sessions.SESSION_COOKIE])
        return _form_page(language, next_path=_safe_next(request.query_params.get("next")))

    async def login(request: Request) -> Response:
        language = _language(request)
        if sessions.from_other_origin(request):
            return _form_page(language, error=_t(OTHER_SITE), status=403)
        try:
            form = await _read_form(request)
        except _BadForm:
            return _form_page(language, error=_t(MISSING), status=400)
        email = normalize_email(form.get("email"))[:EMAIL_MAX]
        password = form.get("password") or ""
        next_path = _safe_next(form.get("next"))
        if not email or not password:
            return _form_page(language, email=email, next_path=next_path, error=_t(MISSING), status=400)
        if control_character(email):  # refused before it could reach the throttle or the audit trail
            return _form_page(language, next_path=next_path, error=_t(CONTROL_CHARACTERS), status=400)

        address = _address(request)
        keys = {throttle.ACCOUNT: email, throttle.ADDRESS: address}
        now = host.clock.now()
        async with host.database.session() as session:
            reservation = await throttle.reserve(session, keys, settings, now)
            user = await find_by_email(session, email) if reservation.blocked_until is None else None
            candidate = (_Candidate(user.id, user.name, user.role, user.active, user.password_hash) if user
                         else _Candidate())
            await session.commit()
        if reservation.blocked_until is not None:
            seconds = (reservation.blocked_until - now).total_seconds()
            return _form_page(language, email=email, next_path=next_path, status=429,
                              error=_t(TOO_MANY, wait=_wait_text(seconds, language)),
                              headers={"Retry-After": str(max(1, math.ceil(seconds)))})

        # Checked outside any transaction (it takes a while); an unknown address checks a dummy hash.
        right = len(password) <= PASSWORD_MAX and await verify_password(candidate.password_hash, password)
        if right and candidate.active:
            rehashed = await hash_password(password) if needs_rehash(candidate.password_hash) else None
            response = await _signed_in(request, candidate, keys, address, next_path, rehashed)
            if response is not None:
                return response
        async with host.database.session() as session:
            anonymous = Actor("anonymous", "anonymous", address=address)
            await record(session, "signin.failure", None, None, {"email": [None, email]}, actor=anonymous)
            for kind in throttle.locked_by(reservation, settings):
                what = {"email": [None, email]} if kind == throttle.ACCOUNT else {"address": [None, address]}
                await record(session, "signin.locked", None, None, what, actor=anonymous)
            await session.commit()
        return _form_page(language, email=email, next_path=next_path, error=_t(WRONG), status=401)

    async def _signed_in(request: Request, candidate: _Candidate, keys, address: str, next_path: str | None,
                         rehashed: str | None) -> Response | None:
        now = host.clock.now()
        async with host.database.session() as session:
            user = await session.get(User, candidate.id)
            if user is None or not user.active:
                return None  # disabled meanwhile: a failure like any other
            await throttle.succeeded(session, keys, now)
            # A new session id at every sign-in; the one the browser brought (if any) ends.
            await sessions.end(session, request.cookies.get(sessions.SESSION_COOKIE))
            session_id = await sessions.start(session, user, settings, now, address)
            user.last_signin_at = now
            if rehashed:
                user.password_hash = rehashed
            await record(session, "signin.success", "user", user.id, {},
                         actor=Actor("user", user.name, user.id, address))
            await sessions.forget_ended(session, settings, now)
            await throttle.forget_old(session, settings, now)
            await session.commit()
        log.info("user %s signed in", user.id)
        response = RedirectResponse(next_path or LOGIN_PATH, status_code=303, headers={"Cache-Control": "no-store"})
        sessions.set_cookies(response, request, session_id, settings)
        return response

    async def logout(request: Request) -> Response:
        language = _language(request)
        session_id = request.cookies.get(sessions.SESSION_COOKIE)
        async with host.database.session(read_only=True) as session:
            found = await sessions.find(session, session_id)
        if found is not None:
            try:
                form = await _read_form(request)
            except _BadForm:
                form = {}
            sent = request.headers.get(sessions.CSRF_HEADER) or form.get(sessions.CSRF_FIELD)
            if sessions.from_other_origin(request) or not sessions.csrf_token_matches(session_id, sent):
                refused = _t(SIGN_OUT_REFUSED)
                return _page(language, _t(N_("Sign out")), f'<p class="error" role="alert">{refused}</p>\n',
                             status=403)
            async with host.database.session() as session:
                if await sessions.end_by_row(session, found.row.id):
                    await record(session, "signout", "user", found.user.id, {},
                                 actor=Actor("user", found.user.name, found.user.id, _address(request)))
                await session.commit()
        response = RedirectResponse(LOGIN_PATH, status_code=303, headers={"Cache-Control": "no-store"})
        sessions.clear_cookies(response, request)
        return response

    return [
        Route(LOGIN_PATH, _busy_aware(login_page), methods=["GET"]),
        Route(LOGIN_PATH, _busy_aware(login), methods=["POST"]),
        Route(LOGOUT_PATH, _busy_aware(logout), methods=["POST"]),
    ]


def _busy_aware(handler):
    """A database that stays locked (SQLite) is a page asking to try again (503), not an error."""

    async def handle(request: Request) -> Response:
        try:
            return await handler(request)
        except OperationalError as exc:
            if not is_lock_timeout(exc):
                raise
            log.warning("database busy at %s: %s", request.url.path, exc)
            busy = _t(DatabaseBusy.TRY_AGAIN)
            return _page(_language(request), _t(N_("Sign in")), f'<p class="error" role="alert">{busy}</p>\n',
                         status=503, headers={"Retry-After": "1"})

    return handle

