"""GraphiQL's page, served from the package (no CDN: it works offline), the page a browser gets
instead before signing in, and the documented operations GraphiQL lists."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..core.i18n import Message, language_from_header, set_request_language
from ..identity import sessions
from ..identity.signin import LOGIN_PATH
from .trusted_documents import read_operations

GRAPHIQL_ASSETS = "/assets/base"


def graphiql_page(request: Request) -> str:
    """Our own GraphiQL page: GraphiQL and React from the files vendored in the package (no CDN, so
    it works offline), its queries carrying the session's CSRF token read from our cookie, and the
    documented operations at hand (see static/graphiql/graphiql.js)."""
    language = language_from_header(request.headers.get("accept-language"))
    set_request_language(language)
    operations = escape(Message("Documented operations").text())
    load = escape(Message("Load into the editor").text())
    console = escape(Message("Admin console").text())
    vendor = f"{GRAPHIQL_ASSETS}/vendor"
    return (
        f'<!doctype html>\n<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>GraphiQL · ireserve</title>\n'
        f'<link rel="stylesheet" href="{vendor}/graphiql.min.css">\n'
        f'<link rel="stylesheet" href="{GRAPHIQL_ASSETS}/graphiql/graphiql.css">\n</head>\n'
        f'<body id="graphiql-page" data-csrf-cookie="{sessions.CSRF_COOKIE}" data-csrf-header="{sessions.CSRF_HEADER}">\n'
        # Landmarks and a heading for assistive technology: our bar is the banner, GraphiQL the main part.
        f'<header id="operations-bar"><h1 class="visually-hidden">GraphiQL</h1><label for="operations">{operations}</label>'
        f'<select id="operations"></select><button type="button" id="load-operation">{load}</button>'
        f'<a href="/admin">{console}</a></header>\n'
        '<main id="graphiql">Loading…</main>\n'
        f'<script src="{vendor}/react.production.min.js"></script>\n'
        f'<script src="{vendor}/react-dom.production.min.js"></script>\n'
        f'<script src="{vendor}/graphiql.min.js"></script>\n'
        f'<script src="{GRAPHIQL_ASSETS}/graphiql/graphiql.js"></script>\n'
        '</body>\n</html>\n')


GRAPHIQL_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Only our own files; GraphiQL sets inline styles, and its fonts are data: URLs.
    "Content-Security-Policy": ("default-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
                                "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"),
}


def documented_operations() -> list[dict]:
    """Each operation file with its leading comment split into description, role and variables."""
    found = []
    for document in read_operations():
        description, role, variables = [], None, None
        for line in document.text.splitlines():
            if not line.startswith("#"):
                break
            text = line[1:].strip()
            if text.startswith("role:"):
                role = text[5:].strip()
            elif text.startswith("variables:"):
                variables = text[10:].strip()
            else:
                description.append(text)
        found.append({"file": document.file, "name": document.name, "kind": document.kind, "role": role,
                      "variables": variables, "description": " ".join(description), "text": document.text})
    return found


def sign_in_page(request: Request) -> HTMLResponse:
    """What a browser gets instead of GraphiQL before signing in: where to sign in (HTTP 401)."""
    language = language_from_header(request.headers.get("accept-language"))
    set_request_language(language)
    sign_in_url = escape(f"{LOGIN_PATH}?{urlencode({'next': request.url.path})}")
    title = escape(Message("Sign in to use GraphiQL").text())
    text = escape(Message(
        "GraphiQL shows the whole API, so it is open only to signed-in users and API tokens. Sign in at "
        "{path}; you come back here afterwards.", {"path": LOGIN_PATH}).text())
    link = escape(Message("Sign in").text())
    body = (f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body><main><h1>{title}</h1><p>{text}</p><p><a href="{sign_in_url}">{link}</a></p></main></body></html>')
    return HTMLResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"})
