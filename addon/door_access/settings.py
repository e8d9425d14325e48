"""Settings of the door-access engine (environment variables, listed in the README)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from addon.base.public import Env


@dataclass(frozen=True)
class DoorAccessSettings:
    reconcile_wait_seconds: float = 3.0
    worker_enabled: bool = True
    worker_interval_seconds: float = 2.0
    worker_batch_size: int = 50
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    # The drift sweep (sweep.py): seconds between rounds (0: off), vendor calls per minute at most,
    # and how far ahead a window's start makes a grant a pre-arrival check (checked first).
    sweep_interval_seconds: float = 900.0
    sweep_calls_per_minute: int = 60
    prearrival_hours: float = 24.0
    # A lease is renewed (a heartbeat) while its reconcile works, so it can be short: work held by
    # a process that died is taken over once it runs out.
    lease_seconds: float = 15.0
    # How long the integration log keeps a vendor call (0: for ever); the worker prunes older ones.
    call_log_retention_days: float = 90.0
    # Reconciles share each integration's door list for this long (directory.py); 0: every
    # reconcile asks the vendor.
    door_directory_ttl_seconds: float = 30.0
    # No access worker has gone round for this long (its heartbeat, heartbeat.py): /readyz of a web
    # process without a worker of its own says degraded, and ireserve_workers_alive drops to 0.
    worker_missing_after_seconds: float = 120.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "DoorAccessSettings":
        env = Env(environ)
        return cls(
            reconcile_wait_seconds=env.float("IRESERVE_RECONCILE_WAIT", cls.reconcile_wait_seconds),
            worker_enabled=env.bool("IRESERVE_WORKER", cls.worker_enabled),
            worker_interval_seconds=env.float("IRESERVE_WORKER_INTERVAL", cls.worker_interval_seconds, minimum=0.01),
            worker_batch_size=env.int("IRESERVE_WORKER_BATCH", cls.worker_batch_size, minimum=1),
            retry_base_seconds=env.float("IRESERVE_RETRY_BASE", cls.retry_base_seconds, minimum=0.0),
            retry_max_seconds=env.float("IRESERVE_RETRY_MAX", cls.retry_max_seconds, minimum=0.0),
            sweep_interval_seconds=env.float("IRESERVE_SWEEP_INTERVAL", cls.sweep_interval_seconds, minimum=0.0),
            sweep_calls_per_minute=env.int("IRESERVE_SWEEP_CALLS_PER_MINUTE", cls.sweep_calls_per_minute, minimum=1),
            prearrival_hours=env.float("IRESERVE_PREARRIVAL_HOURS", cls.prearrival_hours, minimum=0.0),
            lease_seconds=env.float("IRESERVE_LEASE_SECONDS", cls.lease_seconds, minimum=1.0),
            call_log_retention_days=env.float("IRESERVE_CALL_LOG_RETENTION_DAYS", cls.call_log_retention_days, minimum=0.0),
            door_directory_ttl_seconds=env.float("IRESERVE_DOOR_DIRECTORY_TTL", cls.door_directory_ttl_seconds, minimum=0.0),
            worker_missing_after_seconds=env.float("IRESERVE_WORKER_MISSING_AFTER", cls.worker_missing_after_seconds,
                                                   minimum=1.0),
        )


def door_settings(host) -> DoorAccessSettings:
    return host.settings_of(DoorAccessSettings)
