"""Settings come from the environment; bad values are a clear SettingsError."""

import dataclasses
import os
import re
from pathlib import Path

import pytest

from sqlalchemy.engine import make_url

from addon.base.core.settings import (
    REPO_ROOT,
    Settings,
    SettingsError,
    normalize_database_url,
)
from addon.base.identity.sessions import SignInSettings
from addon.base.server.graphql_ws import LiveSettings
from addon.base.server.limits import ApiLimits
from addon.booking.settings import BookingSettings
from addon.door_access.settings import DoorAccessSettings
from addon.resivo.settings import ResivoSettings


@pytest.fixture
def env(monkeypatch):
    """A clean environment as far as our settings go; ``env(NAME=value)`` sets variables."""
    for name in list(os.environ):
        if name.startswith(("IRESERVE_", "RESIVO_", "DATABASE_")):
            monkeypatch.delenv(name)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        return Settings.from_env()

    return set_env


def test_defaults(env):
    settings = env()
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.cors_origins == ()
    assert settings.var_dir == REPO_ROOT / "var"
    assert settings.database_url == f"sqlite+aiosqlite:///{REPO_ROOT / 'var' / 'ireserve.sqlite3'}"
    assert settings.max_query_depth == 10
    assert settings.max_page_size == 500
    assert settings.default_timezone == "Europe/Amsterdam"
    assert settings.log_level == "INFO"


def test_var_dir_moves_the_default_database(env, tmp_path):
    settings = env(IRESERVE_VAR_DIR=str(tmp_path))
    assert settings.var_dir == tmp_path
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'ireserve.sqlite3'}"


def test_values_from_the_environment(env):
    settings = env(IRESERVE_HOST="0.0.0.0", IRESERVE_PORT=" 9000 ", IRESERVE_MAX_QUERY_DEPTH="7",
                   IRESERVE_MAX_PAGE_SIZE="50", IRESERVE_LOG_LEVEL="debug", IRESERVE_DEFAULT_TIMEZONE="Europe/Berlin")
    assert settings.host == "0.0.0.0" and settings.port == 9000
    assert settings.max_query_depth == 7 and settings.max_page_size == 50
    assert settings.log_level == "DEBUG"
    assert settings.default_timezone == "Europe/Berlin"


def test_empty_values_mean_the_default(env):
    settings = env(IRESERVE_PORT="", IRESERVE_HOST="  ")
    assert settings.port == 8000 and settings.host == "127.0.0.1"


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("IRESERVE_PORT", "eighty", "IRESERVE_PORT must be a whole number, got 'eighty'"),
        ("IRESERVE_PORT", "80.5", "IRESERVE_PORT must be a whole number"),
        ("IRESERVE_PORT", "0", "IRESERVE_PORT must be at least 1, got 0"),
        ("IRESERVE_MAX_QUERY_DEPTH", "1", "IRESERVE_MAX_QUERY_DEPTH must be at least 2"),
        ("IRESERVE_MAX_PAGE_SIZE", "many", "IRESERVE_MAX_PAGE_SIZE must be a whole number"),
        ("IRESERVE_DEFAULT_TIMEZONE", "Mars/Olympus", "not an IANA time zone"),
        ("DATABASE_URL", "mysql://db/ireserve", "DATABASE_URL must be a sqlite:// or postgresql:// URL"),
    ],
)
def test_bad_values_are_a_settings_error(env, name, value, message):
    with pytest.raises(SettingsError) as caught:
        env(**{name: value})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://user:pw@db.example:5432/ireserve", "postgresql+asyncpg://user:pw@db.example:5432/ireserve"),
        ("postgresql://user@localhost/ireserve", "postgresql+asyncpg://user@localhost/ireserve"),
        ("postgresql+asyncpg://user@localhost/ireserve", "postgresql+asyncpg://user@localhost/ireserve"),
        ("sqlite:///var/data.sqlite3", "sqlite+aiosqlite:///var/data.sqlite3"),
        ("sqlite+aiosqlite:////abs/data.sqlite3", "sqlite+aiosqlite:////abs/data.sqlite3"),
    ],
)
def test_database_url_gets_the_async_driver(env, given, expected):
    assert normalize_database_url(given) == expected
    assert env(DATABASE_URL=given).database_url == expected


@pytest.mark.parametrize("url", ["postgresql+psycopg2://u@h/db", "oracle://x", "", "ireserve.sqlite3"])
def test_unsupported_database_urls(url):
    with pytest.raises(SettingsError):
        normalize_database_url(url)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("https://app.example", ("https://app.example",)),
        ("https://a.example, https://b.example:8443 ,", ("https://a.example", "https://b.example:8443")),
        (" , ", ()),
    ],
)
def test_cors_origins_list(env, value, expected):
    assert env(IRESERVE_CORS_ORIGINS=value).cors_origins == expected


def test_secret_key_file_defaults_into_var_dir(env, tmp_path):
    assert env(IRESERVE_VAR_DIR=str(tmp_path)).secret_key_file == tmp_path / "secret.key"
    assert env(IRESERVE_SECRET_KEY_FILE="/etc/ireserve.key").secret_key_file == Path("/etc/ireserve.key")


def test_secret_key_is_not_in_the_repr(env):
    settings = env(IRESERVE_SECRET_KEY="s3cr3t-value")
    assert settings.secret_key == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings)


def test_each_addon_reads_its_own_settings_at_load_time(tmp_path):
    """Settings are declared by the addon that reads them; a bad value stops loading at once."""
    from addon.base.core.host import load_host
    from addon.door_access.settings import DoorAccessSettings
    from addon.resivo.settings import ResivoSettings
    from tests.conftest import base_environ

    host = load_host(environ=base_environ(tmp_path, IRESERVE_WORKER_BATCH="7", RESIVO_CONCURRENCY="3",
                                          IRESERVE_SANDBOX="yes"))
    assert host.settings_of(DoorAccessSettings).worker_batch_size == 7
    assert host.settings_of(ResivoSettings).concurrency == 3 and host.settings_of(ResivoSettings).sandbox is True
    assert not hasattr(host.settings, "worker_batch_size"), "base names no setting of its addons"
    for name, value, message in [("IRESERVE_SANDBOX", "maybe", "IRESERVE_SANDBOX must be true or false"),
                                 ("IRESERVE_RETRY_BASE", "soon", "IRESERVE_RETRY_BASE must be a number"),
                                 ("RESIVO_CONCURRENCY", "0", "RESIVO_CONCURRENCY must be at least 1")]:
        with pytest.raises(SettingsError) as caught:
            load_host(environ=base_environ(tmp_path, **{name: value}))
        assert message in str(caught.value)


@pytest.mark.parametrize("kind", [ApiLimits, SignInSettings, LiveSettings, BookingSettings, DoorAccessSettings,
                                  ResivoSettings], ids=lambda kind: kind.__name__)
def test_a_settings_class_reads_its_defaults_from_itself(kind):
    """One source for each default: an empty environment gives exactly the class's own defaults."""
    assert kind.from_env({}) == kind()


def test_the_host_settings_default_to_the_class_defaults(tmp_path):
    read = Settings.from_env({"IRESERVE_VAR_DIR": str(tmp_path)})
    for field in dataclasses.fields(Settings):
        if field.default is not dataclasses.MISSING and field.name not in ("secret_key_file", "log_format"):
            assert getattr(read, field.name) == field.default, field.name


# -- PostgreSQL in parts, the metrics token

AWKWARD_PASSWORD = "p@ss/w#rd %41:?&= +ü "


def test_postgresql_in_parts_builds_the_url_and_quotes_every_part(env):
    url = make_url(env(DATABASE_HOST="db.internal", DATABASE_PASSWORD=AWKWARD_PASSWORD).database_url)
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port, url.database, url.username) == ("db.internal", 5432, "ireserve", "ireserve")
    assert url.password == AWKWARD_PASSWORD, "taken as it is: no stripping, no decoding"

    url = make_url(env(DATABASE_HOST="10.0.0.7", DATABASE_PORT="6432", DATABASE_NAME="park/db",
                       DATABASE_USER="app@park", DATABASE_PASSWORD="").database_url)
    assert (url.host, url.port, url.database, url.username, url.password) == \
        ("10.0.0.7", 6432, "park/db", "app@park", None)


def test_the_password_file_is_read_without_its_trailing_newline(env, tmp_path):
    secret = tmp_path / "postgres_password"
    secret.write_text(AWKWARD_PASSWORD + "\n", encoding="utf-8")
    settings = env(DATABASE_HOST="postgres", DATABASE_PASSWORD_FILE=str(secret))
    assert make_url(settings.database_url).password == AWKWARD_PASSWORD
    assert "w#rd" not in repr(settings) and "w%23rd" not in repr(settings), "no password in the settings' repr"


@pytest.mark.parametrize("values, message", [
    ({"DATABASE_URL": "postgresql://u@h/d", "DATABASE_HOST": "h"}, "DATABASE_URL and DATABASE_HOST are both set"),
    ({"DATABASE_NAME": "ireserve"}, "DATABASE_NAME set without DATABASE_HOST"),
    ({"DATABASE_PASSWORD": "x", "DATABASE_PORT": "5433"}, "DATABASE_PORT, DATABASE_PASSWORD set without DATABASE_HOST"),
    ({"DATABASE_HOST": "h", "DATABASE_PASSWORD": "x", "DATABASE_PASSWORD_FILE": "/run/secrets/p"},
     "DATABASE_PASSWORD and DATABASE_PASSWORD_FILE are both set"),
    ({"DATABASE_HOST": "h", "DATABASE_PASSWORD_FILE": "/nonexistent/postgres_password"},
     "DATABASE_PASSWORD_FILE: cannot read /nonexistent/postgres_password"),
    ({"DATABASE_HOST": "h", "DATABASE_PORT": "five"}, "DATABASE_PORT must be a whole number"),
    ({"DATABASE_HOST": "h", "DATABASE_PORT": "70000"}, "DATABASE_PORT must be at most 65535"),
    ({"IRESERVE_METRICS_TOKEN": "x" * 20, "IRESERVE_METRICS_TOKEN_FILE": "/run/secrets/t"},
     "IRESERVE_METRICS_TOKEN and IRESERVE_METRICS_TOKEN_FILE are both set"),
    ({"IRESERVE_METRICS_TOKEN": "short"}, "the metrics token must be at least 16 characters"),
    ({"IRESERVE_DB_STARTUP_WAIT": "-1"}, "IRESERVE_DB_STARTUP_WAIT must be at least 0"),
])
def test_contradicting_database_and_token_settings_are_refused(env, values, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        env(**values)


def test_an_empty_password_file_is_refused(env, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="is empty"):
        env(DATABASE_HOST="h", DATABASE_PASSWORD_FILE=str(empty))


def test_the_metrics_token_from_its_file(env, tmp_path):
    token = tmp_path / "ireserve_metrics_token"
    token.write_text("0123456789abcdefXYZ\n", encoding="utf-8")
    settings = env(IRESERVE_METRICS_TOKEN_FILE=str(token))
    assert settings.metrics_token == "0123456789abcdefXYZ"
    assert "0123456789abcdefXYZ" not in repr(settings)


def test_without_a_metrics_token_only_admin_tokens_read_metrics(env):
    assert env().metrics_token is None
