"""The ``ireserve`` command line, run as users run it: the venv's console script in a subprocess
(and in-process for the help texts)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from addon.base.core.host import load_host
from addon.base.core.settings import REPO_ROOT
from addon.base.runtime.cli import main
from addon.base.runtime.commands import DEMO_FILE, build_parser
from addon.base.runtime.web import create_app
from tests.conftest import base_environ

SCHEMA_FILE = REPO_ROOT / "graphql" / "schema.graphql"
IRESERVE = Path(sys.executable).with_name("ireserve")


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IRESERVE_", "RESIVO_")) and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        IRESERVE_VAR_DIR=str(tmp_path / "var"),
        IRESERVE_SANDBOX="false",
        IRESERVE_WORKER="false",
    )
    env.update(overrides)
    return env


def ireserve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the console script from an unrelated folder, as a user on the shell would."""
    assert IRESERVE.is_file(), f"the console script {IRESERVE} is missing; run `make install`"
    return subprocess.run([str(IRESERVE), *args], env=clean_env(tmp_path, **env), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result.stdout


def table_count(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command the parser knows, including those addons add."""
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                paths.append(prefix + (name,))
                paths += command_paths(subparser, prefix + (name,))
    return paths


def test_help_of_every_command(tmp_path, monkeypatch, capsys):
    for name, value in clean_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    paths = command_paths(build_parser(load_host(environ=base_environ(tmp_path))))
    for expected in [("serve",), ("db",), ("db", "upgrade"), ("seed",), ("token",), ("token", "create"),
                     ("token", "list"), ("token", "revoke"), ("user",), ("user", "create"), ("user", "list"),
                     ("user", "disable"), ("user", "enable"), ("user", "set-password"), ("user", "ensure-demo"),
                     ("schema",)]:
        assert expected in paths

    for path in [()] + paths:
        with pytest.raises(SystemExit) as exited:
            main([*path, "--help"])
        assert exited.value.code == 0, path
        out = capsys.readouterr().out
        assert out.startswith(f"usage: ireserve {' '.join(path)}".rstrip()), (path, out[:200])
    assert not (tmp_path / "cli.sqlite3").exists(), "--help touches no database"


def test_help_as_a_console_script(tmp_path):
    out = ok(ireserve(tmp_path, "--help"))
    for command in ("serve", "db", "seed", "token", "user", "schema"):
        assert command in out


def test_schema_file_is_up_to_date(tmp_path):
    printed = ok(ireserve(tmp_path, "schema"))
    assert "type Query" in printed and "type Mutation" in printed
    assert SCHEMA_FILE.is_file(), "graphql/schema.graphql is missing: run `make schema`"
    assert printed == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "graphql/schema.graphql differs from `ireserve schema`: run `make schema` and commit the result"
    )


def test_db_upgrade_and_seed_are_idempotent(tmp_path):
    database = tmp_path / "cli.sqlite3"
    assert "up to date" in ok(ireserve(tmp_path, "db", "upgrade"))
    ok(ireserve(tmp_path, "db", "upgrade"))
    assert table_count(database, "booking_status") == 6

    ok(ireserve(tmp_path, "seed"))
    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    first = {table: table_count(database, table)
             for table in ("booking_booking", "booking_customer", "booking_object", "booking_field",
                           "booking_status_history")}
    assert first["booking_booking"] == len(demo["bookings"])
    assert first["booking_field"] == len(demo["bookingFields"])

    assert "demo data loaded" in ok(ireserve(tmp_path, "seed"))
    again = {table: table_count(database, table) for table in first}
    assert again == first, "seeding twice adds nothing"


def test_seed_with_an_unreadable_file_says_so(tmp_path):
    ok(ireserve(tmp_path, "db", "upgrade"))
    result = ireserve(tmp_path, "seed", "--file", str(tmp_path / "missing.json"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content, says", [
    ({"objects": [{"code": "x"}]}, "not in the shape"),
    ({"objects": [{"code": "x", "name": "X", "timeZone": "Mars/Base"}]}, "refuses"),
])
def test_seed_with_bad_data_says_so_and_stores_nothing(tmp_path, content, says):
    database = tmp_path / "cli.sqlite3"
    ok(ireserve(tmp_path, "db", "upgrade"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(content), encoding="utf-8")
    result = ireserve(tmp_path, "seed", "--file", str(bad))
    assert result.returncode == 2
    assert says in result.stderr and "nothing loaded" in result.stderr and "Traceback" not in result.stderr
    assert table_count(database, "booking_object") == 0


def test_bad_settings_are_a_clear_error(tmp_path):
    result = ireserve(tmp_path, "schema", IRESERVE_PORT="eighty")
    assert result.returncode == 2
    assert "IRESERVE_PORT must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_role_is_refused(tmp_path):
    result = ireserve(tmp_path, "token", "create", "--role", "root", "--name", "x")
    assert result.returncode == 2
    assert "invalid choice: 'root'" in result.stderr


async def viewer(database: Path, tmp_path: Path, token: str) -> dict:
    host = load_host(environ=base_environ(tmp_path, database_url=f"sqlite+aiosqlite:///{database}"))
    try:
        transport = httpx.ASGITransport(app=create_app(host))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/graphql", json={"query": "{ viewer { name role } }"},
                                         headers={"Authorization": f"Bearer {token}"})
            return response.json()
    finally:
        await host.database.dispose()


@pytest.mark.anyio
async def test_token_create_prints_a_working_token(tmp_path):
    database = tmp_path / "cli.sqlite3"
    ok(ireserve(tmp_path, "db", "upgrade"))

    token = ok(ireserve(tmp_path, "token", "create", "--role", "staff", "--name", "planner", "--quiet")).strip()
    assert token.startswith("irs_") and "\n" not in token
    assert (await viewer(database, tmp_path, token))["data"]["viewer"] == {"name": "planner", "role": "STAFF"}

    verbose = ok(ireserve(tmp_path, "token", "create", "--role", "admin", "--name", "console"))
    assert "shown once" in verbose and "Authorization" in verbose

    replacement = ok(ireserve(tmp_path, "token", "create", "--role", "staff", "--name", "planner", "--replace",
                              "--quiet")).strip()
    assert replacement != token
    old = await viewer(database, tmp_path, token)
    assert old["data"] is None and old["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await viewer(database, tmp_path, replacement))["data"]["viewer"]["name"] == "planner"

    with sqlite3.connect(database) as connection:
        stored = " ".join(str(v) for row in connection.execute("SELECT * FROM base_api_token") for v in row)
    assert token not in stored and replacement not in stored
