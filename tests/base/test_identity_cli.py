"""``ireserve user …`` and ``ireserve token …``, run in-process through ``main`` (the console script
itself is exercised in test_ireserve_cli.py): passwords from stdin, the demo admin of ``make run``,
tokens with owners and expiries, listing and revoking, and the audit trail naming the CLI."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sqlite3
import sys

import httpx
import pytest

from addon.base.core.host import load_host
from addon.base.runtime.cli import main
from addon.base.runtime.web import create_app
from tests.base.identity_helpers import PASSWORD, browser, sign_in
from tests.base.test_ireserve_cli import clean_env
from tests.conftest import base_environ


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith(("IRESERVE_", "RESIVO_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    for name, value in clean_env(tmp_path).items():
        monkeypatch.setenv(name, value)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert run("db", "upgrade")[0] == 0
    return run


def audit_rows(tmp_path) -> list[tuple]:
    with sqlite3.connect(tmp_path / "cli.sqlite3") as connection:
        return connection.execute("SELECT action, actor_kind, changes FROM base_audit_event ORDER BY id").fetchall()


def in_app(tmp_path, work):
    """Run ``work(app)`` against the CLI's database, as the server would see it."""

    async def run():
        host = load_host(environ=base_environ(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"))
        try:
            return await work(create_app(host))
        finally:
            await host.database.dispose()

    return asyncio.run(run())


def viewer_with(tmp_path, token: str) -> dict:
    async def work(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            response = await client.post("/graphql", json={"query": "{ viewer { kind name role } }"},
                                         headers={"Authorization": f"Bearer {token}"})
            return response.json()

    return in_app(tmp_path, work)


def test_user_commands(cli, tmp_path):
    code, out, _ = cli("user", "create", "--email", "Sam@Example.com", "--name", "Sam Staff", "--role", "staff",
                       "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "sam@example.com (staff) created" in out and "/admin/login" in out

    code, _, err = cli("user", "create", "--email", "SAM@example.com", "--name", "Sam 2", "--role", "staff",
                       "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "already a user with the e-mail address sam@example.com" in err
    code, _, err = cli("user", "create", "--email", "x@example.com", "--name", "X", "--role", "admin",
                       "--password-stdin", stdin="short\n")
    assert code == 2 and "at least 12 characters" in err and "short" not in err.replace("shorter", "")
    code, _, err = cli("user", "create", "--email", "y@example.com", "--name", "Y", "--role", "admin")
    assert code == 2 and "--password-stdin" in err, "no terminal to prompt on: say how to pipe it in"

    code, out, _ = cli("user", "list")
    assert code == 0 and re.search(r"sam@example\.com\s+Sam Staff\s+staff\s+active", out)
    assert cli("user", "disable", "sam@example.com")[1].startswith("sam@example.com is disabled")
    assert re.search(r"sam@example\.com\s+Sam Staff\s+staff\s+disabled", cli("user", "list")[1])
    assert "was already disabled" in cli("user", "disable", "sam@example.com")[1]
    assert "enabled again" in cli("user", "enable", "SAM@example.com")[1]

    code, out, _ = cli("user", "set-password", "sam@example.com", "--password-stdin",
                       stdin="a-fresh-passphrase-99\r\n")
    assert code == 0 and "new password set" in out
    code, _, err = cli("user", "disable", "nobody@example.com")
    assert code == 2 and "no user with the e-mail address" in err

    async def fresh_password_works(app):
        async with browser(app) as client:
            return (await sign_in(client, "sam@example.com", "a-fresh-passphrase-99")).status_code

    assert in_app(tmp_path, fresh_password_works) == 303, "the line ending is not part of the password"
    rows = audit_rows(tmp_path)
    assert [(action, kind) for action, kind, _ in rows if action.startswith("user.")] == [
        ("user.create", "cli"), ("user.disable", "cli"), ("user.enable", "cli"), ("user.password", "cli")]
    everything = str(rows)
    assert PASSWORD not in everything and "a-fresh-passphrase-99" not in everything


def test_the_demo_admin_is_made_once(cli, tmp_path):
    code, out, _ = cli("user", "ensure-demo")
    assert code == 0 and "admin@example.com" in out and "http://127.0.0.1:8000/admin/login" in out
    password = re.search(r"password: (\S+)", out).group(1)

    code, again, _ = cli("user", "ensure-demo")
    assert code == 0 and password not in again and "ireserve user set-password admin@example.com" in again

    async def signs_in(app):
        async with browser(app) as client:
            response = await sign_in(client, "admin@example.com", password)
            viewer = await client.post("/graphql", json={"query": "{ viewer { role email } }"},
                                       headers={"X-CSRF-Token": client.cookies["ireserve_csrf"],
                                                "Origin": "http://127.0.0.1"})
            return response.status_code, viewer.json()

    status, viewer = in_app(tmp_path, signs_in)
    assert status == 303 and viewer["data"]["viewer"] == {"role": "ADMIN", "email": "admin@example.com"}
    with sqlite3.connect(tmp_path / "cli.sqlite3") as connection:
        assert connection.execute("SELECT count(*) FROM base_user").fetchone()[0] == 1
        assert password not in str(connection.execute("SELECT * FROM base_user").fetchall())


def test_token_commands(cli, tmp_path):
    cli("user", "create", "--email", "sam@example.com", "--name", "Sam Staff", "--role", "staff", "--password-stdin",
        stdin=PASSWORD + "\n")
    code, _, err = cli("token", "create", "--role", "admin", "--name", "sam-admin", "--owner", "sam@example.com")
    assert code == 2 and "role staff at most" in err
    code, _, err = cli("token", "create", "--role", "staff", "--name", "x", "--expires", "soon")
    assert code == 2 and "not an expiry" in err

    code, out, _ = cli("token", "create", "--role", "staff", "--name", "sams-script", "--owner", "sam@example.com",
                       "--expires", "90d")
    assert code == 0 and "shown once" in out and "It expires at" in out
    script = re.search(r"(irs_\S+)", out).group(1)
    site = cli("token", "create", "--role", "frontend", "--name", "booking-site", "--app", "Website",
               "--quiet")[1].strip()
    assert site.startswith("irs_") and "\n" not in site

    code, listing, _ = cli("token", "list")
    assert code == 0 and script not in listing and site not in listing
    assert re.search(r"1\s+sams-script\s+staff\s+user:sam@example\.com\s+active", listing)
    assert re.search(r"2\s+booking-site\s+frontend\s+app:Website\s+active", listing)
    assert viewer_with(tmp_path, site)["data"]["viewer"] == {"kind": "TOKEN", "name": "booking-site",
                                                             "role": "FRONTEND"}

    assert cli("token", "revoke", "2")[1].strip() == "token 2 (booking-site) revoked"
    assert "already revoked" in cli("token", "revoke", "2")[1]
    assert cli("token", "revoke", "99")[0] == 2 and cli("token", "revoke", "two")[0] == 2
    assert viewer_with(tmp_path, site)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "booking-site" not in cli("token", "list")[1]
    assert re.search(r"booking-site\s+frontend\s+app:Website\s+revoked", cli("token", "list", "--all")[1])

    rows = audit_rows(tmp_path)
    assert [(action, kind) for action, kind, _ in rows if action.startswith("token.")] == [
        ("token.create", "cli"), ("token.create", "cli"), ("token.revoke", "cli")]
    assert script not in str(rows) and site not in str(rows)


def test_replace_revokes_the_earlier_tokens_of_that_name(cli, tmp_path):
    first = cli("token", "create", "--role", "admin", "--name", "make-run", "--replace", "--quiet")[1].strip()
    second = cli("token", "create", "--role", "admin", "--name", "make-run", "--replace", "--quiet")[1].strip()
    assert viewer_with(tmp_path, first)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert viewer_with(tmp_path, second)["data"]["viewer"]["name"] == "make-run"
    assert [a for a, _, _ in audit_rows(tmp_path)] == ["token.create", "token.revoke", "token.create"]
