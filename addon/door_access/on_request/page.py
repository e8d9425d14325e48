"""The guest open page: ``/open/{token}`` — mobile-first, in the guest's language, one button per
door of the booking; it opens a door when pressed (POST) if the booking entitles the guest at that
moment, and says clearly why not otherwise ("The doors open from 14:30", "This booking is
cancelled"). The token is the credential: the page sends it nowhere else (no referrer, nothing
cached, no third-party asset), and openings through it are rate-limited (``opening``)."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from addon.base.public import Host, Message, translate

from .models import OpeningResult
from .opening import OpenOutcome, link_view, open_door

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
}
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;padding:1.25rem;max-width:28rem;margin-inline:auto;
color:#1c2430;background:#f6f7f9;line-height:1.45}
h1{font-size:1.35rem;margin:.2rem 0 .2rem}p.window{margin:0 0 1.2rem;color:#4a5563}
.note{padding:.8rem 1rem;border-radius:.6rem;margin:0 0 1rem;background:#fff;border:1px solid #d6dbe2}
.note.ok{border-color:#2f8f4e;background:#eaf7ee}.note.refused{border-color:#b3261e;background:#fdeceb}
form{margin:0 0 .8rem}button{width:100%;font-size:1.15rem;padding:1rem;border-radius:.7rem;border:0;
background:#1d4ed8;color:#fff;cursor:pointer}button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
button[disabled]{background:#9aa4b2;cursor:not-allowed}
"""


def _page(language: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>")
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _note(outcome: OpenOutcome, language: str) -> str:
    kind = "ok" if outcome.result == OpeningResult.CONFIRMED else "refused" if outcome.refusal else ""
    return f'<p class="note {kind}" role="status">{escape(outcome.message.text(language))}</p>'


async def _render(host: Host, token: str, outcome: OpenOutcome | None = None, status: int = 200) -> HTMLResponse:
    view = await link_view(host, token)
    if view is None:
        return _page("en", "Door access", f"<h1>{escape(translate('en', 'Door access'))}</h1><p class=\"note refused\">"
                     f"{escape(translate('en', 'This link is not known.'))}</p>", status=404)
    language = view.language
    parts = [f"<h1>{escape(view.object_name)}</h1>"]
    if view.window:
        parts.append(f'<p class="window">{escape(view.window)}</p>')
    if outcome is not None:
        parts.append(_note(outcome, language))
    if view.refusal is not None and (outcome is None or outcome.refusal != view.refusal.refusal):
        parts.append(_note(view.refusal, language))
    disabled = " disabled" if view.refusal is not None else ""
    for door in view.doors:
        label = Message("Open {door}", {"door": door}).text(language)
        parts.append(f'<form method="post"><input type="hidden" name="door" value="{escape(door)}">'
                     f"<button type=\"submit\"{disabled}>{escape(label)}</button></form>")
    return _page(language, translate(language, "Door access"), "".join(parts), status)


def guest_page_route(host: Host) -> Mount:
    async def show(request: Request) -> HTMLResponse:
        return await _render(host, request.path_params["token"])

    async def press(request: Request) -> HTMLResponse:
        token = request.path_params["token"]
        form = await request.body()
        door = _form_value(form, "door")
        if door is None:
            return await _render(host, token, status=400)
        outcome = await open_door(host, door=door, token=token)
        status = 429 if outcome.retry_after and outcome.refusal else 200
        response = await _render(host, token, outcome, status)
        if outcome.retry_after:
            response.headers["Retry-After"] = str(int(outcome.retry_after))
        return response

    return Mount("/open", routes=[Route("/{token}", show, methods=["GET"]), Route("/{token}", press, methods=["POST"])])


def _form_value(body: bytes, name: str) -> str | None:
    """One field of a urlencoded form (the page's own), parsed without python-multipart."""
    from urllib.parse import parse_qs

    try:
        values = parse_qs(body.decode("utf-8"), max_num_fields=5).get(name)
    except (UnicodeDecodeError, ValueError):
        return None
    return values[0][:200] if values else None
