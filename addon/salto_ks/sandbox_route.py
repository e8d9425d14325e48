"""Mounts the Salto KS sandbox inside the web app when IRESERVE_SANDBOX is on (demo, tests), and
says where it is: an Acceptance environment nobody configured then points at it."""

from __future__ import annotations

from starlette.routing import Mount

SANDBOX_PATH = "/salto-ks-sandbox"
# The installation's client as the sandbox's seed (fixtures/salto_ks/sandbox_seed.json) knows it.
SANDBOX_CLIENT_ID = "ireserve-acceptance"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"


def reachable(listening: str) -> str:
    """Where the server reaches itself: 0.0.0.0 and :: are no address to connect to, loopback is."""
    if listening in ("0.0.0.0", "::", "[::]", ""):
        return "127.0.0.1"
    return f"[{listening}]" if ":" in listening and not listening.startswith("[") else listening  # IPv6


def sandbox_url(host) -> str:
    return f"http://{reachable(host.settings.host)}:{host.settings.port}{SANDBOX_PATH}"


def sandbox_environment(host):
    from .settings import ACCEPTANCE, EnvironmentSettings

    url = sandbox_url(host)
    return EnvironmentSettings(name=ACCEPTANCE, identity_url=url, api_url=url, client_id=SANDBOX_CLIENT_ID,
                               client_secret=SANDBOX_CLIENT_SECRET)


def sandbox_route(host):
    from .settings import salto_ks_settings

    if not salto_ks_settings(host).sandbox:
        return None
    from .sandbox import create_sandbox_app

    return Mount(SANDBOX_PATH, app=create_sandbox_app())
