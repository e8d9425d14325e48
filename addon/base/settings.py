"""Settings come from environment variables only (listed in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A setting has a value the application cannot run with."""


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _number(name: str, default, minimum, kind):
    raw = _env(name, str(default))
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _int(name: str, default: int, minimum: int = 0) -> int:
    return _number(name, default, minimum, int)


def _float(name: str, default: float, minimum: float = 0.0) -> float:
    return _number(name, default, minimum, float)


def _bool(name: str, default: bool) -> bool:
    raw = _env(name, "true" if default else "false").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: tuple[str, ...] = ()
    default_timezone: str = "Europe/Amsterdam"
    max_query_depth: int = 10
    max_page_size: int = 500
    db_pool_size: int = 20
    log_level: str = "INFO"
    secret_key: str | None = field(default=None, repr=False)
    secret_key_file: Path | None = None
    sandbox: bool = False
    resivo_api_version: str = "v8"
    resivo_connect_timeout: float = 5.0
    resivo_read_timeout: float = 10.0
    resivo_concurrency: int = 8
    reconcile_wait_seconds: float = 3.0
    worker_enabled: bool = True
    worker_interval_seconds: float = 2.0
    worker_batch_size: int = 50
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0

    @classmethod
    def from_env(cls) -> "Settings":
        var_dir = Path(_env("IRESERVE_VAR_DIR", str(REPO_ROOT / "var")))
        default_db = f"sqlite+aiosqlite:///{var_dir / 'ireserve.sqlite3'}"
        tz = _env("IRESERVE_DEFAULT_TIMEZONE", "Europe/Amsterdam")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"IRESERVE_DEFAULT_TIMEZONE {tz!r} is not an IANA time zone") from None
        origins = tuple(o.strip() for o in _env("IRESERVE_CORS_ORIGINS", "").split(",") if o.strip())
        key_file = os.environ.get("IRESERVE_SECRET_KEY_FILE")
        return cls(
            database_url=normalize_database_url(_env("DATABASE_URL", default_db)),
            var_dir=var_dir,
            host=_env("IRESERVE_HOST", "127.0.0.1"),
            port=_int("IRESERVE_PORT", 8000, minimum=1),
            cors_origins=origins,
            default_timezone=tz,
            max_query_depth=_int("IRESERVE_MAX_QUERY_DEPTH", 10, minimum=2),
            max_page_size=_int("IRESERVE_MAX_PAGE_SIZE", 500, minimum=1),
            db_pool_size=_int("IRESERVE_DB_POOL_SIZE", 20, minimum=1),
            log_level=_env("IRESERVE_LOG_LEVEL", "INFO").upper(),
            secret_key=os.environ.get("IRESERVE_SECRET_KEY") or None,
            secret_key_file=Path(key_file) if key_file else var_dir / "secret.key",
            sandbox=_bool("IRESERVE_SANDBOX", False),
            resivo_api_version=_env("RESIVO_API_VERSION", "v8"),
            resivo_connect_timeout=_float("RESIVO_CONNECT_TIMEOUT", 5.0, minimum=0.01),
            resivo_read_timeout=_float("RESIVO_READ_TIMEOUT", 10.0, minimum=0.01),
            resivo_concurrency=_int("RESIVO_CONCURRENCY", 8, minimum=1),
            reconcile_wait_seconds=_float("IRESERVE_RECONCILE_WAIT", 3.0),
            worker_enabled=_bool("IRESERVE_WORKER", True),
            worker_interval_seconds=_float("IRESERVE_WORKER_INTERVAL", 2.0, minimum=0.01),
            worker_batch_size=_int("IRESERVE_WORKER_BATCH", 50, minimum=1),
            retry_base_seconds=_float("IRESERVE_RETRY_BASE", 5.0, minimum=0.0),
            retry_max_seconds=_float("IRESERVE_RETRY_MAX", 3600.0, minimum=0.0),
        )


def normalize_database_url(url: str) -> str:
    """Accept the common URL spellings and pick the async driver for each."""
    for plain, asynchronous in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return asynchronous + url[len(plain):]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise SettingsError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
