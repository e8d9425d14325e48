"""Settings of the door-access engine (environment variables, listed in the README)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from addon.base.settings import Env


@dataclass(frozen=True)
class DoorAccessSettings:
    reconcile_wait_seconds: float = 3.0
    worker_enabled: bool = True
    worker_interval_seconds: float = 2.0
    worker_batch_size: int = 50
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "DoorAccessSettings":
        env = Env(environ)
        return cls(
            reconcile_wait_seconds=env.float("IRESERVE_RECONCILE_WAIT", 3.0),
            worker_enabled=env.bool("IRESERVE_WORKER", True),
            worker_interval_seconds=env.float("IRESERVE_WORKER_INTERVAL", 2.0, minimum=0.01),
            worker_batch_size=env.int("IRESERVE_WORKER_BATCH", 50, minimum=1),
            retry_base_seconds=env.float("IRESERVE_RETRY_BASE", 5.0, minimum=0.0),
            retry_max_seconds=env.float("IRESERVE_RETRY_MAX", 3600.0, minimum=0.0),
        )


def door_settings(host) -> DoorAccessSettings:
    return host.settings_of(DoorAccessSettings)
