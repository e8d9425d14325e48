"""Settings of the Salto KS backend (environment variables, listed in the README).

Each Environment (Acceptance, Production) has its own identity server, API and the
installation's own OAuth client: operator settings, never GraphQL. An environment with none of
its four variables set is simply not configured (integrations using it say so); one with only
some of them set stops start-up, naming the missing ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from addon.base.public import Env, SettingsError

from .sandbox_address import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox_url

ACCEPTANCE = "acceptance"
PRODUCTION = "production"
ENVIRONMENTS = (ACCEPTANCE, PRODUCTION)
ENVIRONMENT_LABELS = {ACCEPTANCE: "Acceptance", PRODUCTION: "Production"}
DEFAULT_SCOPE = "user_api.full_access"


@dataclass(frozen=True)
class EnvironmentSettings:
    """Where one Environment lives and the installation's client for it."""

    name: str
    identity_url: str
    api_url: str
    client_id: str
    client_secret: str = field(repr=False)

    @property
    def label(self) -> str:
        return ENVIRONMENT_LABELS[self.name]


def _variables(name: str) -> dict[str, str]:
    prefix = f"SALTO_KS_{name.upper()}_"
    return {"identity_url": prefix + "IDENTITY_URL", "api_url": prefix + "API_URL",
            "client_id": prefix + "CLIENT_ID", "client_secret": prefix + "CLIENT_SECRET"}


def _check_url(variable: str, value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(f"{variable} must be an http(s) URL like https://identity.example.com, got {value!r}")
    if parts.username is not None or parts.password is not None:
        raise SettingsError(f"{variable} must not contain a user name or password")
    return value.rstrip("/")


def _environment(env: Env, name: str) -> EnvironmentSettings | None:
    names = _variables(name)
    values = {key: env.optional(variable) for key, variable in names.items()}
    if not any(values.values()):
        return None
    missing = [names[key] for key, value in values.items() if not value]
    if missing:
        raise SettingsError(f"the Salto KS {ENVIRONMENT_LABELS[name]} environment is only partly configured: "
                            f"set {', '.join(missing)} as well (or none of its variables)")
    return EnvironmentSettings(
        name=name,
        identity_url=_check_url(names["identity_url"], values["identity_url"]),
        api_url=_check_url(names["api_url"], values["api_url"]),
        client_id=values["client_id"],
        client_secret=values["client_secret"],
    )


@dataclass(frozen=True)
class SaltoKsSettings:
    acceptance: EnvironmentSettings | None = None
    production: EnvironmentSettings | None = None
    scope: str = DEFAULT_SCOPE
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    concurrency: int = 8
    sandbox: bool = False  # mount the sandbox in the web app (demo, never production)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SaltoKsSettings:
        env = Env(environ)
        return cls(
            acceptance=_environment(env, ACCEPTANCE),
            production=_environment(env, PRODUCTION),
            scope=env.text("SALTO_KS_SCOPE", DEFAULT_SCOPE),
            connect_timeout=env.float("SALTO_KS_CONNECT_TIMEOUT", 5.0, minimum=0.01),
            read_timeout=env.float("SALTO_KS_READ_TIMEOUT", 10.0, minimum=0.01),
            concurrency=env.int("SALTO_KS_CONCURRENCY", 8, minimum=1),
            sandbox=env.bool("IRESERVE_SANDBOX", False),
        )

    def configured(self, name: str) -> EnvironmentSettings | None:
        return {ACCEPTANCE: self.acceptance, PRODUCTION: self.production}.get(name)


def salto_ks_settings(host) -> SaltoKsSettings:
    return host.settings_of(SaltoKsSettings)


def environment_settings(host, name: str) -> EnvironmentSettings | None:
    """The settings of Environment ``name``, or ``None`` when the installation has none. With
    the sandbox mounted (IRESERVE_SANDBOX) an unconfigured Acceptance is the sandbox itself."""
    settings = salto_ks_settings(host)
    found = settings.configured(name)
    if found is None and name == ACCEPTANCE and settings.sandbox:
        url = sandbox_url(host)
        found = EnvironmentSettings(name=ACCEPTANCE, identity_url=url, api_url=url, client_id=SANDBOX_CLIENT_ID,
                                    client_secret=SANDBOX_CLIENT_SECRET)
    return found


def environment_variables(name: str) -> list[str]:
    """The variables that configure Environment ``name`` (for messages)."""
    return list(_variables(name).values())
