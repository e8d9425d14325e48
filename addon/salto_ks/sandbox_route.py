"""Mounts the Salto KS sandbox inside the web app when IRESERVE_SANDBOX is on (demo, tests)."""

from __future__ import annotations

from starlette.routing import Mount

from .sandbox_address import SANDBOX_PATH
from .settings import salto_ks_settings


def sandbox_route(host):
    if not salto_ks_settings(host).sandbox:
        return None
    from .sandbox import create_sandbox_app

    # Its clock is the app's: the one-time passwords the app signs are checked against the same
    # time (a test host's manual clock included); /_sandbox/clock still moves it to show skew.
    return Mount(SANDBOX_PATH, app=create_sandbox_app(wall_clock=host.clock.now))
