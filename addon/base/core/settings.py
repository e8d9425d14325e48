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

REPO_ROOT = Path(__file__).resolve().parents[3]
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
    database_url: str = field(repr=False)  # may hold a password
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
    token_cache_seconds: float = 10.0  # how long a looked-up API token is reused (identity/token_cache.py)
    # How long `serve`, `worker` and `db upgrade` wait for an unreachable database before giving up.
    db_startup_wait_seconds: float = 60.0
    # Whoever sends it may read /metrics (Prometheus): compared in memory, no database needed.
    metrics_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = Env(environ)
        var_dir = Path(env.text("IRESERVE_VAR_DIR", str(DEFAULT_VAR_DIR)))
        default_db = f"sqlite+aiosqlite:///{var_dir / 'ireserve.sqlite3'}"
        tz = env.text("IRESERVE_DEFAULT_TIMEZONE", cls.default_timezone)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"IRESERVE_DEFAULT_TIMEZONE {tz!r} is not an IANA time zone") from None
        origins = tuple(o.strip() for o in env.text("IRESERVE_CORS_ORIGINS", "").split(",") if o.strip())
        key_file = env.optional("IRESERVE_SECRET_KEY_FILE")
        return cls(
            database_url=database_url_from(env, default_db),
            var_dir=var_dir,
            host=env.text("IRESERVE_HOST", cls.host),
            port=env.int("IRESERVE_PORT", cls.port, minimum=1),
            health_port=env.int("IRESERVE_HEALTH_PORT", 0, minimum=0) or None,
            cors_origins=origins,
            default_timezone=tz,
            max_query_depth=env.int("IRESERVE_MAX_QUERY_DEPTH", cls.max_query_depth, minimum=2),
            max_page_size=env.int("IRESERVE_MAX_PAGE_SIZE", cls.max_page_size, minimum=1),
            db_pool_size=env.int("IRESERVE_DB_POOL_SIZE", cls.db_pool_size, minimum=1),
            log_level=env.text("IRESERVE_LOG_LEVEL", cls.log_level).upper(),
            log_format=_log_format(env.optional("IRESERVE_LOG_FORMAT")),
            secret_key=env.optional("IRESERVE_SECRET_KEY"),
            secret_key_file=Path(key_file) if key_file else var_dir / "secret.key",
            public_schema=env.bool("IRESERVE_PUBLIC_SCHEMA", cls.public_schema),
            token_cache_seconds=env.float("IRESERVE_TOKEN_CACHE_SECONDS", cls.token_cache_seconds, minimum=0.0),
            db_startup_wait_seconds=env.float("IRESERVE_DB_STARTUP_WAIT", cls.db_startup_wait_seconds, minimum=0.0),
            metrics_token=_metrics_token(env),
        )


def _log_format(value: str | None) -> str | None:
    if value is not None and value.lower() not in ("json", "text"):
        raise SettingsError(f"IRESERVE_LOG_FORMAT must be json or text, got {value!r}")
    return value.lower() if value else None


# PostgreSQL in parts (instead of DATABASE_URL): the URL is built here, every part quoted.
DATABASE_PARTS = ("DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD", "DATABASE_PASSWORD_FILE")
DEFAULT_DATABASE_PORT = 5432
DEFAULT_DATABASE_NAME = "ireserve"
DEFAULT_DATABASE_USER = "ireserve"
# A scrape token shorter than this is too easy to guess.
MIN_METRICS_TOKEN_LENGTH = 16


def database_url_from(env: Env, default_url: str) -> str:
    """DATABASE_URL, or the URL of the PostgreSQL database given in parts (DATABASE_HOST and the
    others), or the embedded database; contradicting settings are refused."""
    url = env.optional("DATABASE_URL")
    host = env.optional("DATABASE_HOST")
    given = [name for name in DATABASE_PARTS if env.environ.get(name, "") != ""]
    if host is None:
        if given:
            raise SettingsError(f"{', '.join(given)} set without DATABASE_HOST: give PostgreSQL in parts with "
                                "DATABASE_HOST, or as one DATABASE_URL")
        return normalize_database_url(url or default_url)
    if url is not None:
        raise SettingsError("DATABASE_URL and DATABASE_HOST are both set: give the database either as one URL or "
                            "in parts (DATABASE_HOST …), not both")
    from sqlalchemy.engine import URL

    port = env.int("DATABASE_PORT", DEFAULT_DATABASE_PORT, minimum=1)
    if port > 65535:
        raise SettingsError(f"DATABASE_PORT must be at most 65535, got {port}")
    return URL.create("postgresql+asyncpg", username=env.text("DATABASE_USER", DEFAULT_DATABASE_USER),
                      password=_database_password(env), host=host, port=port,
                      database=env.text("DATABASE_NAME", DEFAULT_DATABASE_NAME)).render_as_string(hide_password=False)


def _database_password(env: Env) -> str | None:
    # Taken as it is (no stripping): spaces may be part of a password.
    password = env.environ.get("DATABASE_PASSWORD") or None
    path = env.optional("DATABASE_PASSWORD_FILE")
    if password is not None and path is not None:
        raise SettingsError("DATABASE_PASSWORD and DATABASE_PASSWORD_FILE are both set: give the password one way")
    if path is None:
        return password
    return _secret_file("DATABASE_PASSWORD_FILE", path)


def _metrics_token(env: Env) -> str | None:
    token = env.optional("IRESERVE_METRICS_TOKEN")
    path = env.optional("IRESERVE_METRICS_TOKEN_FILE")
    if token is not None and path is not None:
        raise SettingsError("IRESERVE_METRICS_TOKEN and IRESERVE_METRICS_TOKEN_FILE are both set: give the token one way")
    name = "IRESERVE_METRICS_TOKEN" if path is None else "IRESERVE_METRICS_TOKEN_FILE"
    if path is not None:
        token = _secret_file(name, path).strip()
    if token is not None and len(token) < MIN_METRICS_TOKEN_LENGTH:
        raise SettingsError(f"{name}: the metrics token must be at least {MIN_METRICS_TOKEN_LENGTH} characters "
                            "(deploy/make-secrets.sh makes one)")
    return token


def _secret_file(name: str, path: str) -> str:
    """The content of a secret file (a compose secret, say), without its trailing newline."""
    try:
        value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise SettingsError(f"{name}: cannot read {path} ({reason})") from None
    if not value:
        raise SettingsError(f"{name}: {path} is empty")
    return value


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
