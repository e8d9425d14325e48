"""HTTP face of the sandbox: the Salto KS contract plus ``/_sandbox/`` views and scripting.

Every contract route runs through ``_operation``, which counts the call, adds latency and applies
scripted faults before (or, for ``drop_answer`` and ``slow``, after) the work in ``SandboxState``.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .faults import Fault, FaultSpecError
from .state import SandboxError, SandboxState, load_seed

Handler = Callable[[Request, SandboxState, "str | None"], Awaitable[Response]]


def _error(status: int, body: dict[str, Any], retry_after: float | None = None) -> JSONResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return JSONResponse(body, status_code=status, headers=headers)


def _sandbox_error(exc: SandboxError) -> JSONResponse:
    return _error(exc.status, exc.body())


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise SandboxError(400, "invalid_request", "the body is not valid JSON") from None


def _operation(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sandbox: SandboxState = request.app.state.sandbox
        sandbox.calls[name] += 1
        if sandbox.latency_ms:
            await asyncio.sleep(sandbox.latency_ms / 1000)
        fault: Fault | None = sandbox.faults.take(name)
        if fault is not None and fault.mode == "status":
            retry_after = fault.retry_after
            if retry_after is None and fault.status in (429, 503):
                retry_after = 1.0
            return _error(fault.status, {"code": "sandbox_fault", "message": f"sandbox fault: {fault.status} for {name}"},
                          retry_after)
        if fault is not None and fault.mode == "hang":
            await asyncio.sleep(fault.seconds)  # outlast the client's timeout; nothing is done
            return _error(504, {"code": "sandbox_fault", "message": f"sandbox fault: {name} hung for {fault.seconds:g} s"})
        if fault is not None and fault.mode == "pin_changed":
            iq = sandbox.iq_of_call(request.path_params.get("iq_id"), request.path_params.get("lock_id"))
            if iq is not None:
                sandbox.change_pin_elsewhere(iq.id, None)
        force = fault.mode if fault is not None and fault.mode in ("iq_offline", "otp_rejected") else None
        try:
            response = await handler(request, sandbox, force)
        except SandboxError as exc:
            response = _sandbox_error(exc)
        if fault is not None and fault.mode == "drop_answer":
            # Done (a lock may have opened), but the caller only sees a gateway timeout.
            return _error(504, {"code": "sandbox_fault", "message": f"sandbox fault: the answer to {name} was lost"})
        if fault is not None and fault.mode == "slow":
            await asyncio.sleep(fault.seconds)  # done already; the answer comes late (or never)
        return response

    endpoint.__name__ = f"salto_ks_{name}"
    return endpoint


# --------------------------------------------------------------------------- the contract


async def _token(request: Request, sandbox: SandboxState, force: str | None) -> Response:
    # Parsed by hand so the sandbox does not need python-multipart.
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise SandboxError(400, "invalid_request", "the token request must be form-encoded", oauth=True)
    form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    return JSONResponse(sandbox.issue_token(form), headers={"Cache-Control": "no-store"})


def _account(request: Request, sandbox: SandboxState):
    return sandbox.authenticate(request.headers.get("authorization"))


async def _resolve_site(request: Request, sandbox: SandboxState, force: str | None) -> Response:
    account = _account(request, sandbox)
    return JSONResponse(sandbox.resolve_sites(account, request.query_params.get("uid")))


async def _list_locks(request: Request, sandbox: SandboxState, force: str | None) -> Response:
    account = _account(request, sandbox)
    return JSONResponse(sandbox.list_locks(account, request.path_params["site_id"]))


async def _get_iq(request: Request, sandbox: SandboxState, force: str | None) -> Response:
    account = _account(request, sandbox)
    return JSONResponse(sandbox.get_iq(account, request.path_params["site_id"], request.path_params["iq_id"]))


async def _get_pin(request: Request, sandbox: SandboxState, force: str | None) -> Response:
    account = _account(request, sandbox)
    params = request.path_params
    return JSONResponse(sandbox.get_pin(account, params["site_id"], params["iq_id"], force),
                        headers={"Cache-Control": "no-store"})


async def _set_pin(request: Request, sandbox: SandboxState, force: str | None) -> Response:
    account = _account(request, sandbox)
    params = request.path_params
    return JSONResponse(sandbox.set_pin(account, params["site_id"], params["iq_id"], await _json_body(request), force))


async def _open_lock(request: Request, sandbox: SandboxState, force: str | None) -> Response:
    account = _account(request, sandbox)
    params = request.path_params
    accepted = sandbox.open_lock(account, params["site_id"], params["lock_id"], await _json_body(request), force)
    return JSONResponse(accepted, status_code=202)


async def _list_entries(request: Request, sandbox: SandboxState, force: str | None) -> Response:
    account = _account(request, sandbox)
    query = request.query_params
    return JSONResponse(sandbox.list_entries(account, request.path_params["site_id"], query.get("since"),
                                             query.get("lockId")))


# --------------------------------------------------------------------------- /_sandbox/


def _admin(handler: Callable[[Request, SandboxState], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, request.app.state.sandbox)
        except SandboxError as exc:
            return _sandbox_error(exc)
        except FaultSpecError as exc:
            return _error(400, {"code": "invalid_request", "message": str(exc)})

    endpoint.__name__ = handler.__name__.lstrip("_")
    return endpoint


async def _overview(request: Request, sandbox: SandboxState) -> Response:
    """A page for people: the IQs, the locks and every open command, newest first."""
    e = html.escape
    rows = []
    for site in sandbox.inspect_sites():
        iqs = "".join(f"<li>{e(iq['name'])} <code>{e(iq['id'])}</code>: {'online' if iq['online'] else 'offline'}, "
                      f"{'activated' if iq['activated'] else 'not activated'}, PIN <code>{e(iq['pin'])}</code></li>"
                      for iq in site["iqs"])
        locks = "".join(f"<li>{e(lock['name'])} <code>{e(lock['id'])}</code>: "
                        f"{'online' if lock['online'] else 'offline'}</li>" for lock in site["locks"])
        rows.append(f"<h2>{e(site['name'])} <small>Site UID {e(site['uid'])}, Site ID <code>{e(site['id'])}</code>"
                    f"</small></h2><h3>IQs</h3><ul>{iqs}</ul><h3>Locks</h3><ul>{locks}</ul>")
    openings = "".join(
        f"<tr><td>{e(o['at'])}</td><td>{e(o['lockName'] or o['lockId'])}</td><td>{e(o['outcome'])}</td>"
        f"<td><code>{e(o['reference'] or '')}</code></td><td>{e(o['username'])}</td></tr>"
        for o in reversed(sandbox.inspect_openings()))
    page = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Salto KS sandbox</title>"
        "<style>body{font:15px system-ui,sans-serif;margin:2em;max-width:70em}td,th{padding:.2em .8em;"
        "text-align:left;border-bottom:1px solid #ddd}code{font-size:90%}</style>"
        f"<h1>Salto KS sandbox ({e(sandbox.environment)})</h1>{''.join(rows)}"
        "<h2>Openings</h2><table><tr><th>at (UTC)</th><th>lock</th><th>outcome</th><th>reference</th>"
        f"<th>account</th></tr>{openings or '<tr><td colspan=5>none yet</td></tr>'}</table>"
        "<p>JSON: <a href=openings>openings</a>, <a href=entries>entries</a>, <a href=sites>sites</a>, "
        "<a href=stats>stats</a>, <a href=faults>faults</a></p></html>")
    return HTMLResponse(page)


async def _inspect_openings(request: Request, sandbox: SandboxState) -> Response:
    query = request.query_params
    return JSONResponse(sandbox.inspect_openings(query.get("lockId"), query.get("reference")))


async def _inspect_entries(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse([{**e.wire(), "siteId": e.site_id} for e in sandbox.entries])


async def _inspect_sites(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse(sandbox.inspect_sites())


async def _stats(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse(sandbox.stats())


async def _reset(request: Request, sandbox: SandboxState) -> Response:
    sandbox.reset()
    return JSONResponse({"reset": True})


async def _add_fault(request: Request, sandbox: SandboxState) -> Response:
    sandbox.faults.add(await _json_body(request))
    return JSONResponse({"faults": sandbox.faults.describe()}, status_code=201)


async def _list_faults(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse({"faults": sandbox.faults.describe()})


async def _clear_faults(request: Request, sandbox: SandboxState) -> Response:
    sandbox.faults.clear()
    return JSONResponse({"faults": []})


async def _latency(request: Request, sandbox: SandboxState) -> Response:
    body = await _json_body(request)
    ms = body.get("ms") if isinstance(body, dict) else None
    if isinstance(ms, bool) or not isinstance(ms, int | float) or ms < 0:
        raise SandboxError(400, "invalid_request", 'latency needs {"ms": <non-negative number>}')
    sandbox.latency_ms = float(ms)
    return JSONResponse({"ms": sandbox.latency_ms})


async def _expire_tokens(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse({"expired": sandbox.expire_tokens()})


async def _clock(request: Request, sandbox: SandboxState) -> Response:
    body = await _json_body(request)
    seconds = body.get("advanceSeconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise SandboxError(400, "invalid_request", 'clock needs {"advanceSeconds": <number>}')
    sandbox.advance_clock(seconds)
    return JSONResponse({"now": sandbox.now().isoformat().replace("+00:00", "Z")})


async def _update_iq(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse(sandbox.update_iq(request.path_params["iq_id"], await _json_body(request)))


async def _change_pin(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse(sandbox.change_pin_elsewhere(request.path_params["iq_id"], await _json_body(request)))


async def _update_lock(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse(sandbox.update_lock(request.path_params["lock_id"], await _json_body(request)))


async def _not_found(request: Request, exc: HTTPException) -> Response:
    return _error(exc.status_code, {"code": "not_found", "message": exc.detail or "not found"})


# --------------------------------------------------------------------------- app


def create_sandbox_app(seed: dict[str, Any] | None = None, *, token_ttl_seconds: int = 3600,
                       wall_clock: Callable[[], Any] | None = None) -> Starlette:
    """A Starlette app that behaves like Salto KS; its state is ``app.state.sandbox``."""
    site = "/v1.1/sites/{site_id}"
    routes = [
        Route("/_sandbox/", _admin(_overview), methods=["GET"]),
        Route("/_sandbox/openings", _admin(_inspect_openings), methods=["GET"]),
        Route("/_sandbox/entries", _admin(_inspect_entries), methods=["GET"]),
        Route("/_sandbox/sites", _admin(_inspect_sites), methods=["GET"]),
        Route("/_sandbox/stats", _admin(_stats), methods=["GET"]),
        Route("/_sandbox/reset", _admin(_reset), methods=["POST"]),
        Route("/_sandbox/faults", _admin(_add_fault), methods=["POST"]),
        Route("/_sandbox/faults", _admin(_list_faults), methods=["GET"]),
        Route("/_sandbox/faults", _admin(_clear_faults), methods=["DELETE"]),
        Route("/_sandbox/latency", _admin(_latency), methods=["POST"]),
        Route("/_sandbox/expire-tokens", _admin(_expire_tokens), methods=["POST"]),
        Route("/_sandbox/clock", _admin(_clock), methods=["POST"]),
        Route("/_sandbox/iqs/{iq_id}", _admin(_update_iq), methods=["POST"]),
        Route("/_sandbox/iqs/{iq_id}/pin", _admin(_change_pin), methods=["POST"]),
        Route("/_sandbox/locks/{lock_id}", _admin(_update_lock), methods=["PATCH"]),
        Route("/connect/token", _operation("token", _token), methods=["POST"]),
        Route("/v1.1/sites", _operation("resolve_site", _resolve_site), methods=["GET"]),
        Route(site + "/locks", _operation("list_locks", _list_locks), methods=["GET"]),
        Route(site + "/iqs/{iq_id}", _operation("get_iq", _get_iq), methods=["GET"]),
        Route(site + "/iqs/{iq_id}/pin", _operation("get_pin", _get_pin), methods=["GET"]),
        Route(site + "/iqs/{iq_id}/pin", _operation("set_pin", _set_pin), methods=["PUT"]),
        Route(site + "/locks/{lock_id}/locking", _operation("open_lock", _open_lock), methods=["PATCH"]),
        Route(site + "/entries", _operation("list_entries", _list_entries), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _not_found})
    app.state.sandbox = SandboxState(seed if seed is not None else load_seed(), token_ttl_seconds=token_ttl_seconds,
                                     wall_clock=wall_clock)
    return app


def run_sandbox(host: str = "127.0.0.1", port: int = 8200, *, seed: dict[str, Any] | None = None,
                token_ttl_seconds: int = 3600) -> None:
    """Serve the sandbox with uvicorn until interrupted (``ireserve salto-sandbox --port 8200``)."""
    import uvicorn

    uvicorn.run(create_sandbox_app(seed, token_ttl_seconds=token_ttl_seconds), host=host, port=port, log_level="info")
