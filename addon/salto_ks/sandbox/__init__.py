"""A local stand-in for Salto KS: the same wire contract as the client, in memory, scriptable.

``create_sandbox_app()`` for tests (over ``httpx.ASGITransport``) and ``run_sandbox()`` for a
real server (``ireserve salto-sandbox --port 8200``).
"""

from .app import create_sandbox_app, run_sandbox
from .state import SEED_PATH, SandboxError, SandboxState, load_seed

__all__ = [
    "SEED_PATH",
    "SandboxError",
    "SandboxState",
    "create_sandbox_app",
    "load_seed",
    "run_sandbox",
]
