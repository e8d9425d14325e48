"""Where the Salto KS sandbox mounted in the web app is (IRESERVE_SANDBOX: demo, tests): an
Acceptance environment nobody configured points at it."""

from __future__ import annotations

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
