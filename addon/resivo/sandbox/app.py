"""HTTP face of the sandbox: Resivo's routes plus ``/_sandbox/`` inspection and scripting.

Every Resivo route runs through ``_operation``, which counts the call, adds latency and applies
scripted faults before (or, for ``drop_answer``, after) the real work in ``SandboxState``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import FaultSpecError
from .state import SandboxError, SandboxState, load_seed

API_VERSIONS = frozenset({"v5", "v6", "v7", "v8"})

Handler = Callable[[Request, SandboxState], Awaitable[Response]]


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {}
    if "retry_after" in extra:
        retry_after = extra.pop("retry_after")
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
    return JSONResponse({**extra, "message": message}, status_code=status, headers=headers)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise SandboxError(400, "the body is not valid JSON") from None


def _operation(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sandbox: SandboxState = request.app.state.sandbox
        sandbox.calls[name] += 1
        if sandbox.latency_ms:
            await asyncio.sleep(sandbox.latency_ms / 1000)
        version = request.path_params.get("version")
        if version is not None and version not in API_VERSIONS:
            return _error(404, f"unknown API version {version}")

        fault = sandbox.faults.take(name)
        if fault is not None and fault.mode == "status":
            retry_after = fault.retry_after
            if retry_after is None and fault.status == 429:
                retry_after = 1.0
            return _error(
                fault.status, f"sandbox fault: {fault.status} for {name}", retry_after=retry_after
            )
        if fault is not None and fault.mode == "hang":
            # Outlast the client's timeout; the operation itself is not performed.
            await asyncio.sleep(fault.seconds)
            return _error(504, f"sandbox fault: {name} hung for {fault.seconds:g} s")

        try:
            response = await handler(request, sandbox)
        except SandboxError as exc:
            response = _error(exc.status, exc.message, **exc.extra)
        if fault is not None and fault.mode == "drop_answer":
            # The work is done (a set may now exist) but the caller only sees a gateway
            # timeout: what adoption by external reference is for.
            return _error(504, f"sandbox fault: the answer to {name} was lost")
        return response

    endpoint.__name__ = f"resivo_{name}"
    return endpoint


# --------------------------------------------------------------------------- Resivo API


async def _token(request: Request, sandbox: SandboxState) -> Response:
    # Parsed by hand so the sandbox does not need python-multipart.
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise SandboxError(
            400, "the token request must be form-encoded", extra={"error": "invalid_request"}
        )
    form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    return JSONResponse(sandbox.issue_token(form), headers={"Cache-Control": "no-store"})


def _credential(request: Request, sandbox: SandboxState):
    return sandbox.authenticate(request.headers.get("authorization"))


async def _list_sites(request: Request, sandbox: SandboxState) -> Response:
    credential = _credential(request, sandbox)
    return JSONResponse(sandbox.list_sites(credential, request.path_params["site_owner_id"]))


async def _get_site(request: Request, sandbox: SandboxState) -> Response:
    credential = _credential(request, sandbox)
    return JSONResponse(sandbox.get_site(credential, request.path_params["site_id"]))


async def _list_components(request: Request, sandbox: SandboxState) -> Response:
    credential = _credential(request, sandbox)
    return JSONResponse(sandbox.list_components(credential, request.path_params["site_id"]))


async def _create_remote_access(request: Request, sandbox: SandboxState) -> Response:
    credential = _credential(request, sandbox)
    body = await _json_body(request)
    created = sandbox.create_remote_access(credential, request.path_params["site_id"], body)
    return JSONResponse(created, status_code=201)


async def _find_by_reference(request: Request, sandbox: SandboxState) -> Response:
    credential = _credential(request, sandbox)
    reference = request.query_params.get("externalReference")
    return JSONResponse(
        sandbox.find_by_reference(credential, request.path_params["site_id"], reference)
    )


async def _get_authorization(request: Request, sandbox: SandboxState) -> Response:
    credential = _credential(request, sandbox)
    params = request.path_params
    return JSONResponse(
        sandbox.get_authorization(credential, params["site_id"], params["authorization_id"])
    )


async def _revoke(request: Request, sandbox: SandboxState) -> Response:
    credential = _credential(request, sandbox)
    params = request.path_params
    sandbox.revoke(credential, params["site_id"], params["authorization_id"])
    return Response(status_code=204)


# --------------------------------------------------------------------------- /_sandbox/


def _admin(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, request.app.state.sandbox)
        except SandboxError as exc:
            return _error(exc.status, exc.message, **exc.extra)
        except FaultSpecError as exc:
            return _error(400, str(exc))

    endpoint.__name__ = handler.__name__.lstrip("_")
    return endpoint


async def _inspect_authorizations(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse(
        sandbox.inspect_authorizations(
            site_id=request.query_params.get("siteId"),
            external_reference=request.query_params.get("externalReference"),
        )
    )


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
        raise SandboxError(400, 'latency needs {"ms": <non-negative number>}')
    sandbox.latency_ms = float(ms)
    return JSONResponse({"ms": sandbox.latency_ms})


async def _expire_tokens(request: Request, sandbox: SandboxState) -> Response:
    return JSONResponse({"expired": sandbox.expire_tokens()})


async def _clock(request: Request, sandbox: SandboxState) -> Response:
    body = await _json_body(request)
    seconds = body.get("advanceSeconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise SandboxError(400, 'clock needs {"advanceSeconds": <number>}')
    sandbox.advance_clock(seconds)
    return JSONResponse({"now": sandbox.now().isoformat().replace("+00:00", "Z")})


async def _upsert_component(request: Request, sandbox: SandboxState) -> Response:
    component, created = sandbox.upsert_component(
        request.path_params["site_id"], await _json_body(request)
    )
    return JSONResponse(component, status_code=201 if created else 200)


async def _update_component(request: Request, sandbox: SandboxState) -> Response:
    params = request.path_params
    return JSONResponse(
        sandbox.update_component(
            params["site_id"], params["component_id"], await _json_body(request)
        )
    )


async def _delete_component(request: Request, sandbox: SandboxState) -> Response:
    params = request.path_params
    sandbox.delete_component(params["site_id"], params["component_id"])
    return Response(status_code=204)


async def _reassign_component_id(request: Request, sandbox: SandboxState) -> Response:
    params = request.path_params
    return JSONResponse(sandbox.reassign_component_id(params["site_id"], params["component_id"]))


async def _not_found(request: Request, exc: HTTPException) -> Response:
    return _error(exc.status_code, exc.detail or "not found")


# --------------------------------------------------------------------------- app


def create_sandbox_app(
    seed: dict[str, Any] | None = None, *, token_ttl_seconds: int = 3600
) -> Starlette:
    """A Starlette app that behaves like Resivo; its state is ``app.state.sandbox``."""
    site = "/{version}/sites/{site_id}"
    admin_site = "/_sandbox/sites/{site_id}/components"
    routes = [
        # Inspection and scripting first, so "/_sandbox" never reads as an API version.
        Route("/_sandbox/authorizations", _admin(_inspect_authorizations), methods=["GET"]),
        Route("/_sandbox/sites", _admin(_inspect_sites), methods=["GET"]),
        Route("/_sandbox/stats", _admin(_stats), methods=["GET"]),
        Route("/_sandbox/reset", _admin(_reset), methods=["POST"]),
        Route("/_sandbox/faults", _admin(_add_fault), methods=["POST"]),
        Route("/_sandbox/faults", _admin(_list_faults), methods=["GET"]),
        Route("/_sandbox/faults", _admin(_clear_faults), methods=["DELETE"]),
        Route("/_sandbox/latency", _admin(_latency), methods=["POST"]),
        Route("/_sandbox/expire-tokens", _admin(_expire_tokens), methods=["POST"]),
        Route("/_sandbox/clock", _admin(_clock), methods=["POST"]),
        Route(admin_site, _admin(_upsert_component), methods=["POST"]),
        Route(admin_site + "/{component_id}", _admin(_update_component), methods=["PATCH"]),
        Route(admin_site + "/{component_id}", _admin(_delete_component), methods=["DELETE"]),
        Route(
            admin_site + "/{component_id}/reassign-id",
            _admin(_reassign_component_id),
            methods=["POST"],
        ),
        # The Resivo contract.
        Route("/oauth2/token", _operation("token", _token), methods=["POST"]),
        Route(
            "/{version}/site-owners/{site_owner_id}/sites",
            _operation("list_sites", _list_sites),
            methods=["GET"],
        ),
        Route(site, _operation("get_site", _get_site), methods=["GET"]),
        Route(
            site + "/components",
            _operation("list_components", _list_components),
            methods=["GET"],
        ),
        Route(
            site + "/authorizations/remote-access",
            _operation("create_remote_access", _create_remote_access),
            methods=["POST"],
        ),
        Route(
            site + "/authorizations",
            _operation("find_by_reference", _find_by_reference),
            methods=["GET"],
        ),
        Route(
            site + "/authorizations/{authorization_id}",
            _operation("get_authorization", _get_authorization),
            methods=["GET"],
        ),
        Route(
            site + "/authorizations/{authorization_id}/revoke",
            _operation("revoke", _revoke),
            methods=["DELETE"],
        ),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _not_found})
    app.state.sandbox = SandboxState(
        seed if seed is not None else load_seed(), token_ttl_seconds=token_ttl_seconds
    )
    return app


def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 8100,
    *,
    seed: dict[str, Any] | None = None,
    token_ttl_seconds: int = 3600,
) -> None:
    """Serve the sandbox with uvicorn until interrupted (``ireserve sandbox --port 8100``)."""
    import uvicorn

    uvicorn.run(
        create_sandbox_app(seed, token_ttl_seconds=token_ttl_seconds),
        host=host,
        port=port,
        log_level="info",
    )
