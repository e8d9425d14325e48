"""Mounts the Resivo sandbox inside the web app when IRESERVE_SANDBOX is on (demo, tests)."""

from __future__ import annotations

from starlette.routing import Mount

SANDBOX_PATH = "/resivo-sandbox"


def sandbox_route(host):
    from .settings import resivo_settings

    if not resivo_settings(host).sandbox:
        return None
    from .sandbox import create_sandbox_app

    return Mount(SANDBOX_PATH, app=create_sandbox_app())
