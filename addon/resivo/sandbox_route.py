"""Mounts the Resivo sandbox inside the web app when IRESERVE_SANDBOX is on (demo, tests)."""

from __future__ import annotations

from starlette.routing import Mount

SANDBOX_PATH = "/resivo-sandbox"


def sandbox_route(host):
    if not host.settings.sandbox:
        return None
    from .sandbox import create_sandbox_app

    app = create_sandbox_app()
    host.services["resivo.sandbox"] = app
    return Mount(SANDBOX_PATH, app=app)
