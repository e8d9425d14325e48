"""Settings come from environment variables only (listed in the README).

The host's own settings live here; every addon declares the settings it reads in a class of its
own (see :class:`Env` and ``Host.declare_settings``), so ``base`` names nothing of its addons.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A setting has a value the application cannot run with."""


class Env:
    """Typed reading of environment variables; a blank value means the default."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def text(self, name: str, default: str) -> str:
        value = self.environ.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def optional(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value.strip() if value is not None and value.strip() else None

    def _number(self, name: str, default, minimum, kind):
        raw = self.text(name, str(default))
        try:
            value = kind(raw)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
        if value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {value}")
        return value

    def int(self, name: str, default: int, minimum: int = 0) -> int:
        return self._number(name, default, minimum, int)

    def float(self, name: str, default: float, minimum: float = 0.0) -> float:
        return self._number(name, default, minimum, float)

    def bool(self, name: str, default: bool) -> bool:
        raw = self.text(name, "true" if default else "false").lower()
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = Env(environ)
        var_dir = Path(env.text("IRESERVE_VAR_DIR", str(REPO_ROOT / "var")))
        default_db = f"sqlite+aiosqlite:///{var_dir / 'ireserve.sqlite3'}"
        tz = env.text("IRESERVE_DEFAULT_TIMEZONE", "Europe/Amsterdam")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"IRESERVE_DEFAULT_TIMEZONE {tz!r} is not an IANA time zone") from None
        origins = tuple(o.strip() for o in env.text("IRESERVE_CORS_ORIGINS", "").split(",") if o.strip())
        key_file = env.optional("IRESERVE_SECRET_KEY_FILE")
        return cls(
            database_url=normalize_database_url(env.text("DATABASE_URL", default_db)),
            var_dir=var_dir,
            host=env.text("IRESERVE_HOST", "127.0.0.1"),
            port=env.int("IRESERVE_PORT", 8000, minimum=1),
            cors_origins=origins,
            default_timezone=tz,
            max_query_depth=env.int("IRESERVE_MAX_QUERY_DEPTH", 10, minimum=2),
            max_page_size=env.int("IRESERVE_MAX_PAGE_SIZE", 500, minimum=1),
            db_pool_size=env.int("IRESERVE_DB_POOL_SIZE", 20, minimum=1),
            log_level=env.text("IRESERVE_LOG_LEVEL", "INFO").upper(),
            secret_key=env.optional("IRESERVE_SECRET_KEY"),
            secret_key_file=Path(key_file) if key_file else var_dir / "secret.key",
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
