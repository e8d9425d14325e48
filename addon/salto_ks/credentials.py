"""The Authentication tab of a Salto KS integration: Environment, Site UID, Username, Password
(the Site ID is read-only: "Resolve site ID" fills it), and what activation needs of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
from addon.door_access.public import DoorIntegration, ensure_runnable, forget_doors, get_integration

from .models import SaltoKsCredentials
from .settings import ENVIRONMENT_LABELS, ENVIRONMENTS, environment_settings, environment_variables

BACKEND_NAME = "salto_ks"
MAX_PASSWORD = 1024  # far more than any password; more is a mistake (or an attack)
MAX_SITE_UID = 64
MAX_USERNAME = 200
REQUIRED = {"environment": ("environment", N_("Environment")), "site_uid": ("siteUid", N_("Site UID")),
            "username": ("username", N_("Username")), "password": ("password", N_("Password"))}
_SITE_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class CredentialChanges(Changes):
    """Fields of the Authentication tab; UNSET ones are left alone."""

    environment: Any = UNSET
    site_uid: Any = UNSET
    username: Any = UNSET
    password: Any = UNSET


async def credentials_of(session: AsyncSession, integration_id: int, lock: bool = False) -> SaltoKsCredentials | None:
    return await session.get(SaltoKsCredentials, integration_id, with_for_update=lock or None)


async def salto_ks_integration(session: AsyncSession, integration_id, lock: bool = False) -> DoorIntegration:
    integration = await get_integration(session, integration_id, lock=lock)
    if integration.backend != BACKEND_NAME:
        raise ValidationFailed.one("INVALID", "Integration {id} uses the backend {backend!r}, not Salto KS.",
                                   "integrationId", id=integration.id, backend=integration.backend)
    return integration


def _environment(value: Any, problems: list[Problem]) -> str | None:
    name = value.strip().lower() if isinstance(value, str) else None
    if not name:
        problems.append(Problem("REQUIRED", "{label} is required.", "environment", {"label": Message("Environment")}))
        return None
    if name not in ENVIRONMENTS:
        problems.append(Problem("INVALID", "Environment must be Acceptance or Production.", "environment"))
        return None
    return name


def _site_uid(value: Any, problems: list[Problem]) -> str | None:
    uid = clean_text(value, "siteUid", Message("Site UID"), MAX_SITE_UID, problems=problems)
    if uid and not _SITE_UID.match(uid):
        problems.append(Problem("INVALID", "The Site UID is the site's code from Salto KS, like NL6254340082 "
                                           "(letters, digits, '.', '_' and '-').", "siteUid"))
        return None
    return uid


def forget_site(row: SaltoKsCredentials) -> None:
    """Another Environment or Site UID: the resolved site and the IQ's activation no longer hold."""
    row.site_id = row.site_name = row.site_time_zone = row.site_resolved_at = None
    forget_iq(row)


def forget_iq(row: SaltoKsCredentials) -> None:
    row.iq_pin_encrypted = row.iq_secret_encrypted = None
    row.iq_pin_fetched_at = row.iq_activated_at = None


async def set_credentials(host: Host, session: AsyncSession, integration_id,
                          changes: CredentialChanges) -> DoorIntegration:
    """Validate every given field, then write them all; on any problem nothing is written. The
    first time, Environment, Site UID, Username and Password are required."""
    integration = await salto_ks_integration(session, integration_id, lock=True)
    row = await credentials_of(session, integration.id, lock=True)
    given = changes.given()
    problems: list[Problem] = []
    if row is None:  # a given but blank value is reported once, by its own check below
        for key, (field_name, label) in REQUIRED.items():
            if key not in given:
                problems.append(Problem("REQUIRED", "{label} is required.", field_name, {"label": Message(label)}))
    values: dict[str, Any] = {}
    if "environment" in given:
        values["environment"] = _environment(given["environment"], problems)
    if "site_uid" in given:
        values["site_uid"] = _site_uid(given["site_uid"], problems)
    if "username" in given:
        values["username"] = clean_text(given["username"], "username", Message("Username"), MAX_USERNAME,
                                        problems=problems)
    if "password" in given:
        password = given["password"]
        if not isinstance(password, str) or not password.strip():
            problems.append(Problem("REQUIRED", "{label} is required.", "password", {"label": Message("Password")}))
        elif len(password) > MAX_PASSWORD:
            problems.append(Problem("TOO_LONG", "{label} is longer than {max_length} characters.", "password",
                                    {"label": Message("Password"), "max_length": MAX_PASSWORD}))
        else:
            # Not trimmed: spaces may belong to a password.
            values["password_encrypted"] = secret_box(host).encrypt(password)
    if problems:
        raise ValidationFailed(*problems)

    before = audited(row)
    password_changed = "password_encrypted" in values and _password_changed(host, row, given["password"])
    if row is None:
        row = SaltoKsCredentials(integration_id=integration.id, environment="", site_uid="", username="",
                                 password_encrypted="")
        session.add(row)
    elsewhere = any(key in values and values[key] != getattr(row, key) for key in ("environment", "site_uid"))
    for key, value in values.items():
        setattr(row, key, value)
    if elsewhere:
        forget_site(row)
    now = host.clock.now()
    row.updated_at = now
    integration.updated_at = now
    await session.flush()
    await ensure_runnable(host, session, integration)  # an active integration must stay complete
    changed = audit.diff(before, audited(row))
    if password_changed:
        changed["password"] = [audit.CHANGED, audit.CHANGED]  # never the password itself
    if changed:
        await audit.record(session, "salto_ks.credentials.update", "integration", integration.id, changed)
        forget_doors(host, integration.id)  # another site or account: another lock list
    return integration


# What the audit trail compares, old → new; the password only as "changed", PIN and secret never.
AUDITED_FIELDS = ("environment", "site_uid", "site_id", "username", "iq_id")


def audited(row: SaltoKsCredentials | None) -> dict[str, Any]:
    if row is None:
        return {}
    return {**{key: getattr(row, key) for key in AUDITED_FIELDS}, "iq_activated": row.iq_activated_at is not None}


def _password_changed(host: Host, row: SaltoKsCredentials | None, new_password: str) -> bool:
    """Whether ``new_password`` differs from the stored one (one no key decrypts is being replaced)."""
    if row is None or not row.password_encrypted:
        return True
    try:
        return secret_box(host).decrypt(row.password_encrypted) != new_password
    except SecretKeyMismatch:
        return True


async def configuration_problems(host: Host, session: AsyncSession, integration: DoorIntegration) -> list[Problem]:
    """What the Authentication tab and the IQ OTP setup still lack before activation."""
    row = await credentials_of(session, integration.id) if integration.id is not None else None
    problems = []
    for key, (field_name, label) in REQUIRED.items():
        stored = getattr(row, "password_encrypted" if key == "password" else key, None) if row else None
        if not stored:
            problems.append(Problem("REQUIRED", "{label} is required before activation.", field_name,
                                    {"label": Message(label)}))
    if row is None:
        return problems
    if row.environment and environment_settings(host, row.environment) is None:
        problems.append(Problem("NOT_CONFIGURED", "The {environment} environment is not configured on this "
                                                  "installation: the operator sets {variables}.", "environment",
                                {"environment": ENVIRONMENT_LABELS.get(row.environment, row.environment),
                                 "variables": ", ".join(environment_variables(row.environment))}))
    if not row.site_id:
        problems.append(Problem("REQUIRED", "Press Resolve site ID: the Site ID is required before activation.",
                                "siteId"))
    if row.iq_activated_at is None:
        problems.append(Problem("REQUIRED", "The IQ is not activated: do the IQ OTP setup (IQ id, GET PIN, Set PIN) "
                                            "before activation.", "iqId"))
    return problems
