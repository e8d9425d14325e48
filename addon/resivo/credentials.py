"""The Authentication tab of a Resivo integration: site owner, credential, site, mobile app, base URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import (
    N_,
    UNSET,
    Changes,
    Host,
    Message,
    Problem,
    SecretKeyMismatch,
    ValidationFailed,
    audit,
    clean_text,
    secret_box,
)
from addon.door_access.public import (
    DoorIntegration,
    ensure_runnable,
    forget_doors,
    get_integration,
)

from .models import PRODUCTION_BASE_URL, ResivoCredentials
from .outbound import Refusal, outbound_policy

BACKEND_NAME = "resivo"
MAX_CLIENT_SECRET = 4096  # an OAuth client secret is far shorter; more is a mistake (or an attack)
REQUIRED = {"site_owner_id": ("siteOwnerId", N_("Site Owner ID")), "client_id": ("clientId", N_("Client ID")),
            "client_secret": ("clientSecret", N_("Client secret"))}


@dataclass
class CredentialChanges(Changes):
    """Fields of the Authentication tab; UNSET ones are left alone."""

    site_owner_id: Any = UNSET
    client_id: Any = UNSET
    client_secret: Any = UNSET
    site_id: Any = UNSET
    target_mobile_app_id: Any = UNSET
    base_url: Any = UNSET


_API_VERSION_SEGMENT = re.compile(r"^v\d+$")


async def _check_base_url(host: Host, value: str, problems: list[Problem]) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in {"http", "https"} or not parts.hostname or parts.query
            or parts.fragment or any(c.isspace() for c in value)):
        shown = Message("The base URL") if "@" in value else repr(value)  # never echo what may be a password
        problems.append(Problem("INVALID", "{shown} is not an http(s) base URL like {example}.", "baseUrl",
                                {"shown": shown, "example": PRODUCTION_BASE_URL}))
    elif parts.username is not None or parts.password is not None:
        # The base URL is shown and logged; credentials belong in Client ID and Client secret.
        problems.append(Problem("INVALID", "The base URL must not contain a user name or password.", "baseUrl"))
    elif _API_VERSION_SEGMENT.match(parts.path.rstrip("/").rsplit("/", 1)[-1]):
        problems.append(Problem("INVALID", "Leave the API version out of the base URL (like {example}); the version "
                                           "is a server setting.", "baseUrl", {"example": PRODUCTION_BASE_URL}))
    else:
        await _check_destination(host, parts.scheme, parts.hostname, parts.port, problems)
    return value.rstrip("/")


_REFUSALS = {
    Refusal.PLAIN_HTTP: N_("The base URL must start with https:// (plain http only with "
                           "RESIVO_ALLOW_PRIVATE_BASE_URL=true, for development and the sandbox)."),
    Refusal.NEVER: N_("The base URL points at a link-local or cloud-metadata address, which is never allowed."),
    Refusal.PRIVATE: N_("The base URL points at a loopback or private network address, which is only allowed with "
                        "RESIVO_ALLOW_PRIVATE_BASE_URL=true (for development and the sandbox)."),
}


async def _check_destination(host: Host, scheme: str, hostname: str, port: int | None,
                             problems: list[Problem]) -> None:
    """The outbound address policy, by what the host name resolves to now; the connector checks
    again at every connection."""
    refusal = await outbound_policy(host).refusal(scheme, hostname, port or (443 if scheme == "https" else 80))
    if refusal is not None:
        problems.append(Problem("INVALID", _REFUSALS[refusal], "baseUrl"))


async def credentials_of(session: AsyncSession, integration_id: int) -> ResivoCredentials | None:
    return await session.get(ResivoCredentials, integration_id)


async def resivo_integration(session: AsyncSession, integration_id, lock: bool = False) -> DoorIntegration:
    integration = await get_integration(session, integration_id, lock=lock)
    if integration.backend != BACKEND_NAME:
        raise ValidationFailed.one("INVALID", "Integration {id} uses the backend {backend!r}, not Resivo.",
                                   "integrationId", id=integration.id, backend=integration.backend)
    return integration


async def set_credentials(host: Host, session: AsyncSession, integration_id,
                          changes: CredentialChanges) -> DoorIntegration:
    """Validate every given field, then write them all; on any problem nothing is written. The
    first time, Site Owner ID, Client ID and Client secret are required."""
    integration = await resivo_integration(session, integration_id, lock=True)
    row = await credentials_of(session, integration.id)
    given = changes.given()
    problems: list[Problem] = []
    if row is None:  # a given but blank value is reported once, by its own check below
        for key, (field_name, label) in REQUIRED.items():
            if key not in given:
                problems.append(Problem("REQUIRED", "{label} is required.", field_name, {"label": Message(label)}))
    values: dict[str, Any] = {}
    for key, length in (("site_owner_id", 100), ("client_id", 200)):
        if key in given:
            field_name, label = REQUIRED[key]
            values[key] = clean_text(given[key], field_name, Message(label), length, problems=problems)
    if "client_secret" in given:
        secret = given["client_secret"]
        if not isinstance(secret, str) or not secret.strip():
            problems.append(Problem("REQUIRED", "Client secret is required.", "clientSecret"))
        elif len(secret.strip()) > MAX_CLIENT_SECRET:
            problems.append(Problem("TOO_LONG", "{label} is longer than {max_length} characters.", "clientSecret",
                                    {"label": Message("Client secret"), "max_length": MAX_CLIENT_SECRET}))
        else:
            values["client_secret_encrypted"] = secret_box(host).encrypt(secret.strip())
    if "site_id" in given:
        values["site_id"] = clean_text(given["site_id"], "siteId", Message("Site ID"), 100, required=False,
                                       problems=problems)
    if "target_mobile_app_id" in given:
        app_id = given["target_mobile_app_id"]
        if app_id is not None and (not isinstance(app_id, int) or app_id <= 0):
            problems.append(Problem("INVALID", "targetMobileAppId must be a positive whole number.", "targetMobileAppId"))
        values["target_mobile_app_id"] = app_id
    if "base_url" in given:
        url = clean_text(given["base_url"], "baseUrl", Message("Base URL"), 300, required=False, problems=problems)
        values["base_url"] = await _check_base_url(host, url, problems) if url else PRODUCTION_BASE_URL
    if problems:
        raise ValidationFailed(*problems)

    before = _audited(row)
    secret_changed = "client_secret_encrypted" in values and _secret_changed(host, row, given["client_secret"].strip())
    if row is None:
        row = ResivoCredentials(integration_id=integration.id, site_owner_id="", client_id="",
                                client_secret_encrypted="")
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    now = host.clock.now()
    row.updated_at = now
    integration.updated_at = now
    await session.flush()
    await ensure_runnable(host, session, integration)
    changes = audit.diff(before, _audited(row))
    if secret_changed:
        changes["client_secret"] = [audit.CHANGED, audit.CHANGED]  # never the secret itself
    if changes:
        await audit.record(session, "credentials.update", "integration", integration.id, changes)
        forget_doors(host, integration.id)  # another site or account: another door list
    return integration


# What the audit trail compares of the tab, old → new; the client secret only as "changed".
AUDITED_FIELDS = ("site_owner_id", "client_id", "site_id", "target_mobile_app_id", "base_url")


def _audited(row: ResivoCredentials | None) -> dict[str, Any]:
    return {key: getattr(row, key) for key in AUDITED_FIELDS} if row is not None else {}


def _secret_changed(host: Host, row: ResivoCredentials | None, new_secret: str) -> bool:
    """Whether ``new_secret`` differs from the stored one (one that no key decrypts any more is
    being replaced, so it changes)."""
    if row is None or not row.client_secret_encrypted:
        return True
    try:
        return secret_box(host).decrypt(row.client_secret_encrypted) != new_secret
    except SecretKeyMismatch:
        return True


async def configuration_problems(session: AsyncSession, integration: DoorIntegration) -> list[Problem]:
    """What the Authentication tab still lacks before the integration can be activated."""
    row = await credentials_of(session, integration.id) if integration.id is not None else None
    problems = []
    for key, (field_name, label) in REQUIRED.items():
        stored = getattr(row, "client_secret_encrypted" if key == "client_secret" else key, None) if row else None
        if not stored:
            problems.append(Problem("REQUIRED", "{label} is required before activation.", field_name,
                                    {"label": Message(label)}))
    return problems
