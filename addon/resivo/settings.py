"""Settings of the Resivo backend (environment variables, listed in the README)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from addon.base.public import Env


@dataclass(frozen=True)
class ResivoSettings:
    api_version: str = "v8"
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    concurrency: int = 8
    sandbox: bool = False  # mount the sandbox in the web app (demo, never production)
    # Base URLs on loopback and private addresses, and plain http: development, the sandbox, tests.
    allow_private_base_url: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ResivoSettings":
        env = Env(environ)
        return cls(
            api_version=env.text("RESIVO_API_VERSION", cls.api_version),
            connect_timeout=env.float("RESIVO_CONNECT_TIMEOUT", cls.connect_timeout, minimum=0.01),
            read_timeout=env.float("RESIVO_READ_TIMEOUT", cls.read_timeout, minimum=0.01),
            concurrency=env.int("RESIVO_CONCURRENCY", cls.concurrency, minimum=1),
            sandbox=env.bool("IRESERVE_SANDBOX", cls.sandbox),
            allow_private_base_url=env.bool("RESIVO_ALLOW_PRIVATE_BASE_URL", cls.allow_private_base_url),
        )


def resivo_settings(host) -> ResivoSettings:
    return host.settings_of(ResivoSettings)
