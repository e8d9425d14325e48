"""``/admin`` (the console's page), ``/admin/assets/`` (its scripts and styles),
``/admin/messages.json`` (its texts in the reader's language), and the parts backends add to it:
``/admin/parts.json`` lists them, ``/admin/parts/<backend>/`` serves each one's files.

The page is a shell: everything it shows comes from the GraphQL API. Its texts are the msgids of
``t("…")`` calls in ``static/js`` and in the backends' parts, and the pairs of ``tn("…", "…", n)``
(extracted by ``make i18n`` like every other message), served translated as one JSON object per
language: plain texts by msgid, and each plural text's forms by plural category ("one", "other" …),
which the browser picks with ``Intl.PluralRules``.

The language is the reader's choice (the cookie ``ireserve_language`` the console and the sign-in
page set), else the browser's Accept-Language.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from babel.messages.extract import extract_from_dir
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from addon.base.public import (
    LANGUAGE_COOKIE,
    LOGIN_PATH,
    authenticate_request,
    available_languages,
    language_from_header,
    match_language,
    plural_forms,
    translate,
)
from addon.door_access.public import console_parts

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONSOLE_PATH = "/admin"
ASSETS_PATH = "/admin/assets"
PARTS_PATH = "/admin/parts"

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    # Our own files only; the live board's socket goes to this same origin.
    "Content-Security-Policy": ("default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
}


@lru_cache(maxsize=32)
def _msgids_in(folder: Path) -> frozenset[str | tuple[str, str]]:
    """The first argument of each ``t("…")`` call in the scripts of ``folder``, and the
    (singular, plural) pair of each ``tn("…", "…", n)``."""
    found = extract_from_dir(str(folder), method_map=[("**.js", "javascript")],
                             keywords={"t": None, "tn": (1, 2)}, strip_comment_tags=True)
    return frozenset(message for _file, _line, message, _comments, _context in found
                     if (isinstance(message, str) and message)
                     or (isinstance(message, tuple) and len(message) == 2 and all(message)))


def _all_msgids(part_folders: tuple[Path, ...]) -> frozenset:
    return frozenset().union(_msgids_in(STATIC_DIR / "js"), *map(_msgids_in, part_folders))


def console_msgids(part_folders: tuple[Path, ...] = ()) -> tuple[str, ...]:
    """Every plain text the console's scripts show, and those of the backends' parts in ``part_folders``."""
    return tuple(sorted(m for m in _all_msgids(part_folders) if isinstance(m, str)))


def console_plural_msgids(part_folders: tuple[Path, ...] = ()) -> tuple[tuple[str, str], ...]:
    """Every (singular, plural) text the console's scripts show."""
    return tuple(sorted(m for m in _all_msgids(part_folders) if isinstance(m, tuple)))


def console_messages(language: str, part_folders: tuple[Path, ...] = ()) -> dict[str, str]:
    return {msgid: translate(language, msgid) for msgid in console_msgids(part_folders)}


def console_plurals(language: str, part_folders: tuple[Path, ...] = ()) -> dict[str, dict[str, str]]:
    """Each plural text's forms in ``language``, keyed by its singular msgid."""
    return {singular: plural_forms(language, singular, plural)
            for singular, plural in console_plural_msgids(part_folders)}


def reader_language(request: Request) -> str:
    """The reader's own choice (a cookie), else the language their browser asks for."""
    chosen = match_language(request.cookies.get(LANGUAGE_COOKIE))
    return chosen or language_from_header(request.headers.get("accept-language"))


def _shell(language: str) -> str:
    languages = " ".join(available_languages())
    return (
        f'<!doctype html>\n<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<title>ireserve</title>\n'
        f'<link rel="stylesheet" href="{ASSETS_PATH}/console.css">\n'
        f'<script type="module" src="{ASSETS_PATH}/js/app.js"></script>\n</head>\n'
        f'<body data-language="{escape(language)}" data-languages="{escape(languages)}">\n'
        '<div id="app" aria-live="polite">…</div>\n</body>\n</html>\n')


def console_routes(host):
    parts = console_parts(host).all()
    part_folders = tuple(Path(part.static_dir) for part in parts)
    listed = [{"backend": part.backend, "script": f"{PARTS_PATH}/{part.backend}/{part.script}", "fields": part.fields}
              for part in parts]

    async def page(request: Request) -> Response:
        async with host.database.session(read_only=True) as session:
            principal = await authenticate_request(host, session, request, csrf=False)
        if principal is None:
            return RedirectResponse(f"{LOGIN_PATH}?{urlencode({'next': CONSOLE_PATH})}", status_code=303,
                                    headers={"Cache-Control": "no-store"})
        return HTMLResponse(_shell(reader_language(request)), headers=PAGE_HEADERS)

    async def messages(request: Request) -> Response:
        asked = request.query_params.get("lang")
        language = (match_language(asked) if asked else None) or reader_language(request)
        return JSONResponse({"language": language, "messages": console_messages(language, part_folders),
                             "plurals": console_plurals(language, part_folders)},
                            headers={"Cache-Control": "no-cache"})

    async def parts_list(_request: Request) -> Response:
        return JSONResponse({"parts": listed}, headers={"Cache-Control": "no-cache"})

    return [
        Route(CONSOLE_PATH, page, methods=["GET"]),
        Route(f"{CONSOLE_PATH}/", page, methods=["GET"]),
        Route(f"{CONSOLE_PATH}/messages.json", messages, methods=["GET"]),
        Route(f"{CONSOLE_PATH}/parts.json", parts_list, methods=["GET"]),
        Mount(ASSETS_PATH, app=StaticFiles(directory=STATIC_DIR), name="console-assets"),
        *(Mount(f"{PARTS_PATH}/{part.backend}", app=StaticFiles(directory=part.static_dir),
                name=f"console-part-{part.backend}") for part in parts),
    ]
