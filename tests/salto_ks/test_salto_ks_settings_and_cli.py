"""The Salto KS settings (one identity server, API and installation client per Environment, from
environment variables only) and its commands: `ireserve salto-sandbox` and
`ireserve salto-ks set-password`."""

import io
import sys

import anyio
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from addon.base.public import SecretBox, SecretKeyMismatch, SettingsError, load_host, secret_box
from addon.base.runtime.cli import main
from addon.base.runtime.commands import build_parser
from addon.salto_ks.cli import read_password
from addon.salto_ks.demo import check_secrets
from addon.salto_ks.settings import SaltoKsSettings
from tests.conftest import base_environ
from tests.salto_ks.host_helpers import DEMO_CREDENTIALS, new_integration, set_credentials
from tests.support.ids import row_id

FULL = {
    "SALTO_KS_PRODUCTION_IDENTITY_URL": "https://identity.example.com/",
    "SALTO_KS_PRODUCTION_API_URL": "https://api.example.com",
    "SALTO_KS_PRODUCTION_CLIENT_ID": "ireserve-production",
    "SALTO_KS_PRODUCTION_CLIENT_SECRET": "prod-client-secret-77",
}


def test_defaults_configure_no_environment():
    settings = SaltoKsSettings.from_env({})
    assert settings.acceptance is None and settings.production is None
    assert (settings.connect_timeout, settings.read_timeout, settings.concurrency) == (5.0, 10.0, 8)
    assert settings.scope == "user_api.full_access" and settings.sandbox is False


def test_an_environment_with_all_four_variables():
    settings = SaltoKsSettings.from_env({**FULL, "SALTO_KS_SCOPE": "user_api.full_access offline_access",
                                         "SALTO_KS_CONNECT_TIMEOUT": "2", "SALTO_KS_READ_TIMEOUT": "7",
                                         "SALTO_KS_CONCURRENCY": "3"})
    production = settings.production
    assert (production.identity_url, production.api_url, production.client_id) == (
        "https://identity.example.com", "https://api.example.com", "ireserve-production")
    assert production.label == "Production" and settings.acceptance is None
    assert "prod-client-secret-77" not in repr(settings)
    assert (settings.connect_timeout, settings.read_timeout, settings.concurrency) == (2, 7, 3)


def test_a_partly_configured_environment_stops_start_up_naming_what_is_missing():
    partial = {k: v for k, v in FULL.items() if not k.endswith("CLIENT_SECRET")}
    with pytest.raises(SettingsError, match="Production environment is only partly configured: set "
                                            "SALTO_KS_PRODUCTION_CLIENT_SECRET as well"):
        SaltoKsSettings.from_env(partial)


@pytest.mark.parametrize("url", ["ftp://identity.example.com", "identity.example.com", "https://u:p@example.com",
                                 "https://example.com/?x=1"])
def test_a_url_that_is_no_http_url_is_refused(url):
    with pytest.raises(SettingsError, match="SALTO_KS_PRODUCTION_IDENTITY_URL must"):
        SaltoKsSettings.from_env({**FULL, "SALTO_KS_PRODUCTION_IDENTITY_URL": url})


def test_bad_numbers_are_refused():
    with pytest.raises(SettingsError, match="SALTO_KS_CONCURRENCY must be at least 1"):
        SaltoKsSettings.from_env({"SALTO_KS_CONCURRENCY": "0"})


def test_a_bad_setting_stops_the_host(tmp_path):
    with pytest.raises(SettingsError, match="SALTO_KS_READ_TIMEOUT"):
        load_host(environ=base_environ(tmp_path, SALTO_KS_READ_TIMEOUT="soon"))


# --------------------------------------------------------------------------- commands


def test_salto_sandbox_runs_the_sandbox_alone(tmp_path, monkeypatch):
    import addon.salto_ks.sandbox as sandbox

    served = {}
    monkeypatch.setattr(sandbox, "run_sandbox", lambda **kwargs: served.update(kwargs))
    parser = build_parser(load_host(environ=base_environ(tmp_path)))
    args = parser.parse_args(["salto-sandbox", "--port", "8299"])
    assert args.func(None, args) == 0 and served == {"host": "127.0.0.1", "port": 8299}
    assert parser.parse_args(["salto-sandbox"]).port == 8200


def test_a_password_typed_at_a_terminal_is_not_echoed(monkeypatch):
    import getpass

    asked = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or "typed password ")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert read_password(Terminal("")) == "typed password " and asked
    assert read_password(io.StringIO("piped password \nsecond line\n")) == "piped password "


@pytest.fixture
def cli(host, monkeypatch, capsys):
    for name, value in host.environ.items():
        monkeypatch.setenv(name, value)

    async def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = await anyio.to_thread.run_sync(main, list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.mark.anyio
async def test_set_password_recovers_a_password_whose_key_was_lost(gql, host, cli):
    ident = await new_integration(gql)
    await set_credentials(gql, ident, **DEMO_CREDENTIALS)
    async with host.database.session() as session:
        await session.execute(text("UPDATE salto_ks_credentials SET password_encrypted = :c WHERE integration_id = :i"),
                              {"c": SecretBox(Fernet.generate_key()).encrypt("old"), "i": row_id(ident)})
        await session.commit()
    with pytest.raises(SecretKeyMismatch, match="ireserve salto-ks set-password"):
        await check_secrets(host)
    code, out, err = await cli("salto-ks", "set-password", "--integration", str(row_id(ident)),
                               stdin="a new password\n")
    assert code == 0, err
    assert "a new password" not in out + err
    await check_secrets(host)  # starts again
    async with host.database.session() as session:
        stored = (await session.execute(text("SELECT password_encrypted FROM salto_ks_credentials"))).scalar_one()
    assert secret_box(host).decrypt(stored) == "a new password"


@pytest.mark.anyio
async def test_set_password_refuses_an_empty_password_and_an_unknown_integration(gql, host, cli):
    code, _, err = await cli("salto-ks", "set-password", "--integration", "1", stdin="\n")
    assert code == 2 and "no password given" in err
    code, out, err = await cli("salto-ks", "set-password", "--integration", "424242", stdin="s3cret\n")
    assert code == 2 and "Integration 424242 does not exist" in err and "s3cret" not in out + err
