"""Signing in with a browser: ``GET /admin/login`` (the page), ``POST /admin/login`` (the form),
``POST /admin/logout``.

A plain HTML page without scripts or external resources, in the reader's language: the one chosen
on the page (``?lang=``, kept in the ``ireserve_language`` cookie the admin console shares), else the
browser's. A wrong password and an unknown e-mail
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
from urllib.parse import parse_qs, urlencode

from babel.dates import format_timedelta
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..core.db import is_lock_timeout
from ..core.errors import DatabaseBusy
from ..core.i18n import (
    N_,
    Message,
    available_languages,
    language_from_header,
    match_language,
    set_request_language,
)
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
# The reader's own choice of language, shared with the admin console (readable by its scripts).
LANGUAGE_COOKIE = "ireserve_language"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Each language by its own name: whoever cannot read the current one still finds theirs.
LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands", "de": "Deutsch", "fr": "Français"}

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

# The admin console's look (its colours and type), inline: the page loads nothing else.
STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1c2430; background: #f6f7f9;
  line-height: 1.5; }
header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1.5rem;
  padding: .6rem 1.25rem; background: #22324a; color: #fff; }
.brand { font-weight: 700; font-size: 1.1rem; }
header nav ul { display: flex; flex-wrap: wrap; gap: .25rem .9rem; list-style: none; margin: 0; padding: 0; }
header nav a { color: #fff; text-decoration: none; padding: .2rem .1rem; border-bottom: 3px solid transparent; }
header nav a[aria-current] { border-bottom-color: #9cc3ff; font-weight: 600; }
header nav span.label { margin-right: .5rem; color: #c9d6ea; }
main { display: flex; justify-content: center; padding: 3rem 1rem; }
.card { background: #fff; border: 1px solid #d4d9e1; border-radius: 8px; padding: 1.5rem 2rem 2rem; width: 100%;
  max-width: 26rem; box-shadow: 0 2px 10px rgba(20, 30, 45, .08); }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { display: block; width: 100%; padding: .55rem .6rem; font: inherit; border: 1px solid #8a93a3; border-radius: 4px;
  margin-top: .25rem; }
button { margin-top: 1.5rem; padding: .55rem 1.4rem; font: inherit; font-weight: 600; color: #fff; background: #1a5fb4;
  border: 1px solid #1a5fb4; border-radius: 4px; cursor: pointer; }
button:hover { filter: brightness(1.1); }
a { color: #1a5fb4; }
.error { color: #a40000; background: #fbe5e5; border-left: 5px solid #a40000; padding: .5rem .75rem; border-radius: 4px; }
[aria-invalid] { border-color: #a40000; border-width: 2px; }
:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
header :focus-visible { outline-color: #9cc3ff; }
"""


# -- pages ---------------------------------------------------------------------------------------

def _t(template: str, **params) -> str:
    return escape(Message(template, params).text())


def _language_links(language: str, next_path: str | None) -> str:
    """The language choice: a link per language, each named in its own language."""
    links = []
    for code in available_languages():
        query = urlencode({"lang": code, **({"next": next_path} if next_path else {})})
        current = ' aria-current="true"' if code == language else ""
        links.append(f'<li><a href="{LOGIN_PATH}?{escape(query)}" lang="{escape(code)}" hreflang="{escape(code)}"'
                     f'{current}>{escape(LANGUAGE_NAMES.get(code, code))}</a></li>')
    label = _t(N_("Language"))
    return (f'<nav aria-labelledby="language-label"><span class="label" id="language-label">{label}</span>'
            f'<ul>{"".join(links)}</ul></nav>')


def _page(language: str, title: str, content: str, status: int = 200, headers: dict | None = None,
          next_path: str | None = None, chosen: str | None = None) -> HTMLResponse:
    html = (f'<!doctype html>\n<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{title} · ireserve</title>\n<style>{STYLE}</style>\n</head>\n'
            f'<body>\n<header>\n<span class="brand">ireserve</span>\n{_language_links(language, next_path)}\n'
            f'</header>\n<main>\n<div class="card">\n<h1>{title}</h1>\n{content}</div>\n</main>\n</body>\n</html>\n')
    response = HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
    if chosen:  # kept for the next visit, and for the console
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=LANGUAGE_COOKIE_SECONDS, path="/", samesite="lax")
    return response


def _form_page(language: str, *, email: str = "", next_path: str | None = None, error: str | None = None,
               status: int = 200, headers: dict | None = None, chosen: str | None = None) -> HTMLResponse:
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
    return _page(language, sign_in, content, status, headers, next_path=next_path, chosen=chosen)


def _signed_in_page(language: str, user, session_id: str, chosen: str | None = None) -> HTMLResponse:
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
    return _page(language, _t(N_("Signed in")), content, chosen=chosen)


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


def _chosen_language(request: Request) -> str | None:
    """A language the reader picks on the page (``?lang=``)."""
    return match_language(request.query_params.get("lang"))


def _language(request: Request) -> str:
    """The page's language: picked on the page, else chosen before (the cookie), else the browser's."""
    language = (_chosen_language(request) or match_language(request.cookies.get(LANGUAGE_COOKIE))
                or language_from_header(request.headers.get("accept-language")))
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
        chosen = _chosen_language(request)
        found = await current(request)
        if found is not None:
            return _signed_in_page(language, found.user, request.cookies[sessions.SESSION_COOKIE], chosen)
        return _form_page(language, next_path=_safe_next(request.query_params.get("next")), chosen=chosen)

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

