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
# Run from a checkout, the embedded database lives in its var/; installed (a wheel), in ./var.
DEFAULT_VAR_DIR = REPO_ROOT / "var" if (REPO_ROOT / "pyproject.toml").exists() else Path("var").resolve()


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
    health_port: int | None = None  # `ireserve worker` serves /healthz, /readyz, /metrics here
    cors_origins: tuple[str, ...] = ()
    default_timezone: str = "Europe/Amsterdam"
    max_query_depth: int = 10
    max_page_size: int = 500
    db_pool_size: int = 20
    log_level: str = "INFO"
    log_format: str | None = None  # json or text; unset: text at a terminal, JSON lines elsewhere
    secret_key: str | None = field(default=None, repr=False)
    secret_key_file: Path | None = None
    public_schema: bool = False  # introspection and GraphiQL without signing in (development)
    token_cache_seconds: float = 10.0  # how long a looked-up API token is reused (token_cache.py)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = Env(environ)
        var_dir = Path(env.text("IRESERVE_VAR_DIR", str(DEFAULT_VAR_DIR)))
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
            health_port=env.int("IRESERVE_HEALTH_PORT", 0, minimum=0) or None,
            cors_origins=origins,
            default_timezone=tz,
            max_query_depth=env.int("IRESERVE_MAX_QUERY_DEPTH", 10, minimum=2),
            max_page_size=env.int("IRESERVE_MAX_PAGE_SIZE", 500, minimum=1),
            db_pool_size=env.int("IRESERVE_DB_POOL_SIZE", 20, minimum=1),
            log_level=env.text("IRESERVE_LOG_LEVEL", "INFO").upper(),
            log_format=_log_format(env.optional("IRESERVE_LOG_FORMAT")),
            secret_key=env.optional("IRESERVE_SECRET_KEY"),
            secret_key_file=Path(key_file) if key_file else var_dir / "secret.key",
            public_schema=env.bool("IRESERVE_PUBLIC_SCHEMA", False),
            token_cache_seconds=env.float("IRESERVE_TOKEN_CACHE_SECONDS", 10.0, minimum=0.0),
        )


def _log_format(value: str | None) -> str | None:
    if value is not None and value.lower() not in ("json", "text"):
        raise SettingsError(f"IRESERVE_LOG_FORMAT must be json or text, got {value!r}")
    return value.lower() if value else None


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


@dataclass(frozen=True)
class ApiLimits:
    """What one GraphQL request may ask of the server (``addon/base/limits.py``): refused before
    anything runs when over, so no single request can hold the server up."""

    # The cost of a query (``addon/base/query_cost.py``: fields, times the page sizes they ask
    # for) a caller of each role may spend on one request. Never unlimited.
    cost_budget_frontend: int = 5_000
    cost_budget_staff: int = 50_000
    cost_budget_admin: int = 100_000
    max_aliases: int = 30  # the shipped operations use none
    max_tokens: int = 2_000  # names, punctuation and values of a document; the shipped ones use < 100
    max_document_length: int = 50_000  # characters of a document, comments and blanks included
    max_body_bytes: int = 1_048_576  # of an HTTP request body (1 MiB); more is refused with 413
    trusted_documents: bool = False  # frontend callers may run only graphql/operations/ documents

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ApiLimits":
        env = Env(environ)
        frontend = env.int("IRESERVE_COST_BUDGET_FRONTEND", 5_000, minimum=1)
        staff = env.int("IRESERVE_COST_BUDGET_STAFF", 50_000, minimum=frontend)
        return cls(
            cost_budget_frontend=frontend,
            cost_budget_staff=staff,
            cost_budget_admin=env.int("IRESERVE_COST_BUDGET_ADMIN", 100_000, minimum=staff),
            max_aliases=env.int("IRESERVE_MAX_ALIASES", 30, minimum=0),
            max_tokens=env.int("IRESERVE_MAX_TOKENS", 2_000, minimum=100),
            max_document_length=env.int("IRESERVE_MAX_DOCUMENT_LENGTH", 50_000, minimum=1_000),
            max_body_bytes=env.int("IRESERVE_MAX_BODY_BYTES", 1_048_576, minimum=10_000),
            trusted_documents=env.bool("IRESERVE_TRUSTED_DOCUMENTS", False),
        )


@dataclass(frozen=True)
class SignInSettings:
    """Browser sessions and the throttling of failed sign-ins (``addon/base/signin.py``)."""

    session_hours: int = 12  # absolute lifetime of a session, however active
    session_idle_minutes: int = 30  # a session unused this long ends
    free_failures: int = 3  # failed sign-ins (per e-mail address) before the delays start
    lockout_failures: int = 10  # failed sign-ins (per e-mail address) that lock it out
    lockout_minutes: int = 15  # how long a lock-out lasts; failures older than this are forgiven
    address_lockout_failures: int = 30  # failed sign-ins from one client address that lock it out

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "SignInSettings":
        env = Env(environ)
        free = env.int("IRESERVE_SIGNIN_FREE_FAILURES", 3, minimum=1)
        lockout = env.int("IRESERVE_SIGNIN_LOCKOUT_FAILURES", 10, minimum=free + 1)
        return cls(
            session_hours=env.int("IRESERVE_SESSION_HOURS", 12, minimum=1),
            session_idle_minutes=env.int("IRESERVE_SESSION_IDLE_MINUTES", 30, minimum=1),
            free_failures=free,
            lockout_failures=lockout,
            lockout_minutes=env.int("IRESERVE_SIGNIN_LOCKOUT_MINUTES", 15, minimum=1),
            address_lockout_failures=env.int("IRESERVE_SIGNIN_ADDRESS_LOCKOUT_FAILURES", 30, minimum=lockout),
        )
