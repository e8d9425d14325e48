"""``/healthz``: the process lives (restart it when not). ``/readyz``: it can do its work — the
database answers, its schema is at this code's head, the secret key opens the stored secrets, and
the addons' own checks pass (e.g. the access worker's loop ran recently) — so send it traffic.

A check may find the process *degraded* instead (:class:`Degraded`): it serves, but something
it relies on elsewhere is missing (no access worker has gone round for a while). That answers
200 with ``"status": "degraded"`` — taking every web process out of the load balancer would not
bring the missing part back — and names the check, for people and alerting.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..core.host import Host
from ..core.migrate import missing_revisions
from ..core.outage import is_database_unavailable

log = logging.getLogger(__name__)


class Degraded(str):
    """A readiness problem that leaves the process serving: ``/readyz`` says ``degraded`` (200)."""


async def readiness(host: Host) -> dict[str, str]:
    """Each check's verdict: "ok", or what is wrong (never a secret or a connection string)."""
    checks: dict[str, str] = {}
    try:
        async with host.database.session(read_only=True) as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        if is_database_unavailable(exc):
            host.database.outage.failed(exc, during="readiness")  # told once per outage
        else:
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
        failing = [verdict for verdict in checks.values() if verdict != "ok"]
        if any(not isinstance(verdict, Degraded) for verdict in failing):
            status, code = "unavailable", 503
        else:
            status, code = ("degraded" if failing else "ready"), 200
        return JSONResponse({"status": status, "checks": checks}, status_code=code)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
