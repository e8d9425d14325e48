"""``/healthz``: the process lives (restart it when not). ``/readyz``: it can do its work — the
database answers, its schema is at this code's head, the secret key opens the stored secrets, and
the addons' own checks pass (e.g. the access worker's loop ran recently) — so send it traffic."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..core.host import Host
from ..core.migrate import missing_revisions

log = logging.getLogger(__name__)


async def readiness(host: Host) -> dict[str, str]:
    """Each check's verdict: "ok", or what is wrong (never a secret or a connection string)."""
    checks: dict[str, str] = {}
    try:
        async with host.database.session(read_only=True) as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        return {"database": "unreachable"}
    checks["database"] = "ok"
    try:
        missing = await missing_revisions(host)
    except Exception as exc:
        log.warning("readiness: cannot read the schema version (%s)", type(exc).__name__)
        missing = ["unknown"]
    checks["schema"] = "ok" if not missing else "behind: run 'ireserve db upgrade'"
    try:
        await host.preflight()  # the stored secrets decrypt with a configured key
        checks["secrets"] = "ok"
    except Exception as exc:
        log.warning("readiness: %s", exc)
        checks["secrets"] = "a stored secret cannot be decrypted with the configured key"
    for check in host.registry.readiness_checks:
        verdict = await check(host)
        if verdict is not None:  # None: nothing of that kind runs in this process
            name, problem = verdict
            checks[name] = problem or "ok"
    return checks


def health_routes(host: Host) -> list[Route]:
    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "addons": host.addon_names})

    async def readyz(_request: Request) -> JSONResponse:
        checks = await readiness(host)
        ready = all(verdict == "ok" for verdict in checks.values())
        return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                            status_code=200 if ready else 503)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
