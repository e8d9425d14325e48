"""Secret keys rotate: several keys decrypt (newest first), the newest encrypts,
``ireserve secrets rotate`` re-encrypts every stored secret with the newest key (all or nothing),
and ``ireserve resivo set-secret`` re-enters a secret whose key was lost — both without the server.
The stored secrets here are the Resivo client secrets, the one column an addon declares today."""

from __future__ import annotations

import getpass
import io
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from addon.base.core.crypto import SecretBox, SecretKeyMismatch, secret_box
from addon.base.core.host import load_host
from addon.base.core.settings import SettingsError
from addon.base.identity.audit import AuditEvent, acting_as
from addon.base.runtime.cli import main
from addon.base.runtime.secrets_cli import SecretsNotRotated, cli_actor, rotate_secrets
from addon.resivo.cli import read_secret
from addon.resivo.models import ResivoCredentials
from tests.resivo.host_helpers import create_resivo_integration
from tests.resivo.test_resivo_secret_at_rest import database_dump, stored_ciphertext
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))
IRESERVE = Path(sys.executable).with_name("ireserve")
SECRETS = {"first-secret-4f1a", "second-secret-9b2c"}


@pytest.fixture
def env_overrides():
    return {"IRESERVE_SECRET_KEY": OLD}


def other_host(host, **environ: str | None):
    """Another process on the same database; ``None`` unsets a variable."""
    changed = {**host.environ, **environ}
    return load_host(environ={k: v for k, v in changed.items() if v is not None})


async def integration(gql, secret: str) -> str:
    """The new integration's row id, as the operator's tools (start-up checks, the CLI) name it."""
    made = await create_resivo_integration(
        gql, {"siteOwnerId": "demo-owner", "clientId": "demo-client", "clientSecret": secret},
        authorizationIdField=None)
    return str(row_id(made))


async def two_integrations(gql) -> dict[str, str]:
    return {await integration(gql, secret): secret for secret in sorted(SECRETS)}


async def audit_events(host, action: str) -> list[AuditEvent]:
    async with host.database.session() as session:
        return list((await session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                           .order_by(AuditEvent.id))).scalars())


async def preflight(process) -> None:
    try:
        await process.preflight()
    finally:
        await process.database.dispose()


def opens_with(key: str, ciphertext: str) -> bool:
    try:
        SecretBox(key.encode()).decrypt(ciphertext)
    except SecretKeyMismatch:
        return False
    return True


# ------------------------------------------------------------------------------- the keys


async def test_key_rotation_round_trip(gql, host):
    stored = await two_integrations(gql)
    # 1. The new key goes first; the old one stays listed: everything still decrypts.
    both = other_host(host, IRESERVE_SECRET_KEY=f"{NEW}, {OLD}")
    try:
        await both.preflight()
        for ident in stored:
            assert opens_with(OLD, await stored_ciphertext(host, ident))
        assert opens_with(NEW, secret_box(both).encrypt("fresh"))  # new secrets use the newest key
        # 2. Rotate: every stored secret re-encrypted with the newest key, in one go.
        with acting_as(cli_actor()):
            assert await rotate_secrets(both) == 2
    finally:
        await both.database.dispose()
    for ident, secret in stored.items():
        ciphertext = await stored_ciphertext(host, ident)
        assert opens_with(NEW, ciphertext) and not opens_with(OLD, ciphertext)
        assert SecretBox(NEW.encode()).decrypt(ciphertext) == secret
    # 3. The old key goes: the server starts and every secret still decrypts.
    only_new = other_host(host, IRESERVE_SECRET_KEY=NEW)
    await preflight(only_new)
    assert {secret_box(only_new).decrypt(await stored_ciphertext(host, i)) for i in stored} == SECRETS
    [event] = await audit_events(host, "secrets.rotate")
    assert (event.actor_kind, event.actor_name) == ("cli", getpass.getuser())
    assert event.changes == {"count": [None, 2]}
    assert not any(value in repr(event) for value in SECRETS | {OLD, NEW})


async def test_the_key_file_may_list_several_keys_newest_first(gql, host, tmp_path):
    stored = await two_integrations(gql)
    key_file = tmp_path / "rotating.key"
    key_file.write_text(f"# newest first\n{NEW}\n\n{OLD}\n")
    from_file = other_host(host, IRESERVE_SECRET_KEY=None, IRESERVE_SECRET_KEY_FILE=str(key_file))
    try:
        await from_file.preflight()
        box = secret_box(from_file)
        assert box.key_count == 2
        assert opens_with(NEW, box.encrypt("fresh")) and not opens_with(OLD, box.encrypt("fresh"))
        assert {box.decrypt(await stored_ciphertext(host, i)) for i in stored} == SECRETS
    finally:
        await from_file.database.dispose()


async def test_start_up_refuses_when_no_key_opens_a_secret_and_names_the_integration(gql, host):
    ident = await integration(gql, "first-secret-4f1a")
    wrong = other_host(host, IRESERVE_SECRET_KEY=f"{NEW},{OTHER}")
    with pytest.raises(SecretKeyMismatch) as caught:
        await preflight(wrong)
    message = str(caught.value)
    assert f"integration(s) {ident}" in message and "ireserve resivo set-secret --integration" in message
    assert not any(key in message for key in (OLD, NEW, OTHER))


async def test_a_malformed_key_among_several_is_named_by_position_not_shown(host):
    bad = other_host(host, IRESERVE_SECRET_KEY=f"{NEW},not-a-key")
    with pytest.raises(SettingsError) as caught:
        await preflight(bad)
    assert "key 2 of 2 in IRESERVE_SECRET_KEY" in str(caught.value)
    assert "not-a-key" not in str(caught.value) and NEW not in str(caught.value)


async def test_rotation_changes_nothing_when_one_secret_opens_with_no_key(gql, host):
    readable = await integration(gql, "first-secret-4f1a")
    lost = await integration(gql, "second-secret-9b2c")
    elsewhere = other_host(host, IRESERVE_SECRET_KEY=OTHER)  # e.g. saved by a process with another key
    try:
        async with elsewhere.database.session() as session:
            row = await session.get(ResivoCredentials, int(lost))
            row.client_secret_encrypted = secret_box(elsewhere).encrypt("second-secret-9b2c")
            await session.commit()
    finally:
        await elsewhere.database.dispose()
    before = await database_dump(host)
    both = other_host(host, IRESERVE_SECRET_KEY=f"{NEW},{OLD}")
    try:
        with pytest.raises(SecretsNotRotated) as caught:
            await rotate_secrets(both)
    finally:
        await both.database.dispose()
    assert [str(s) for s in caught.value.undecryptable] == [
        f"resivo_credentials integration_id={lost} (client_secret_encrypted)"]
    assert "Nothing was changed" in str(caught.value)
    assert await database_dump(host) == before  # the readable one was not rotated either
    assert opens_with(OLD, await stored_ciphertext(host, readable))


# ------------------------------------------------------------------------------- the commands


def ireserve(host, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """The console script on the test's database and keys, as an operator runs it: no server."""
    assert IRESERVE.is_file(), f"the console script {IRESERVE} is missing; run `make install`"
    return subprocess.run([str(IRESERVE), *args], env=dict(host.environ), input=stdin, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def cli(host, monkeypatch, capsys):
    """``await cli(*args, stdin=...)``: the command line in this process (quicker than the console
    script), with the test host's environment; returns (exit code, stdout, stderr)."""
    for name, value in host.environ.items():
        monkeypatch.setenv(name, value)

    async def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = await anyio.to_thread.run_sync(main, list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


async def test_the_rotate_command_reports_the_count(gql, host, cli):
    await two_integrations(gql)
    code, out, err = await cli("secrets", "rotate")
    assert code == 0, err
    assert "2 stored secret(s) re-encrypted with the newest key." in out


async def test_a_lost_key_is_recovered_by_re_entering_the_secret_from_stdin(gql, host, cli):
    kept = await integration(gql, "first-secret-4f1a")
    lost = await integration(gql, "second-secret-9b2c")
    # The second secret was encrypted with a key that is gone now.
    async with host.database.session() as session:
        await session.execute(text("UPDATE resivo_credentials SET client_secret_encrypted = :c "
                                   "WHERE integration_id = :i"),
                              {"c": SecretBox(OTHER.encode()).encrypt("second-secret-9b2c"), "i": int(lost)})
        await session.commit()
    with pytest.raises(SecretKeyMismatch, match=f"integration\\(s\\) {lost} cannot"):
        await preflight(other_host(host))  # the server would not start

    code, _, err = await cli("secrets", "rotate")
    assert code == 1 and f"resivo_credentials integration_id={lost}" in err
    assert opens_with(OLD, await stored_ciphertext(host, kept))  # nothing was rotated

    result = ireserve(host, "resivo", "set-secret", "--integration", lost, stdin="a-brand-new-secret\n")
    assert result.returncode == 0, result.stderr
    assert "a-brand-new-secret" not in result.stdout + result.stderr
    await preflight(other_host(host))  # starts again
    assert secret_box(host).decrypt(await stored_ciphertext(host, lost)) == "a-brand-new-secret"
    event = (await audit_events(host, "credentials.update"))[-1]
    assert (event.actor_kind, event.actor_name, event.target_id) == ("cli", getpass.getuser(), lost)
    assert event.changes == {"client_secret": ["changed", "changed"]}
    assert "a-brand-new-secret" not in repr(event)
    assert (await cli("secrets", "rotate"))[0] == 0  # now every secret opens


async def test_set_secret_refuses_an_empty_secret_and_an_unknown_integration(gql, host, cli):
    ident = await integration(gql, "first-secret-4f1a")
    before = await stored_ciphertext(host, ident)
    code, _, err = await cli("resivo", "set-secret", "--integration", ident, stdin="\n")
    assert code == 2 and "no client secret given" in err
    code, out, err = await cli("resivo", "set-secret", "--integration", "424242", stdin="s3cret\n")
    assert code == 2 and "Integration 424242 does not exist" in err
    assert "s3cret" not in out + err
    assert await stored_ciphertext(host, ident) == before


def test_a_secret_typed_at_a_terminal_is_not_echoed(monkeypatch):
    asked = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or "typed-secret")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert read_secret(Terminal("")) == "typed-secret" and asked  # getpass: no echo
    assert read_secret(io.StringIO("piped-secret\n")) == "piped-secret\n"
