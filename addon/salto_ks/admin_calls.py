"""What the set-up buttons (Resolve site ID, GET PIN, Set PIN) share: read the integration's
settings, end the transaction before Salto KS is called, and turn a failure into a user error
an admin can act on. Their results are written afterwards in a transaction of their own, which
first checks that the settings they were made with still hold."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, Problem, SecretKeyMismatch, ValidationFailed, release

from .client import SaltoKsClient
from .connection import client_for, explain
from .credentials import credentials_of, salto_ks_integration
from .errors import (
    SaltoKsCredentialsRejected,
    SaltoKsEnvironmentNotConfigured,
    SaltoKsError,
    SaltoKsIqNotFound,
    SaltoKsIqOffline,
    SaltoKsOtpRejected,
    SaltoKsPinChangedElsewhere,
    SaltoKsSiteUnknown,
    SaltoKsTransientError,
)
from .models import SaltoKsCredentials


@dataclass
class Prepared:
    """The settings as read (detached from the session) and a client for them."""

    stored: SaltoKsCredentials
    client: SaltoKsClient


def problem_of(exc: SaltoKsError, stored: SaltoKsCredentials, iq_id: str | None = None) -> Problem:
    """A failed call as a user error: a stable code, the field at fault, and what to do."""
    message = explain(exc, stored, iq_id)
    if isinstance(exc, SaltoKsIqOffline):
        code, field = "IQ_OFFLINE", "iqId"
    elif isinstance(exc, SaltoKsPinChangedElsewhere):
        code, field = "PIN_CHANGED_ELSEWHERE", None
    elif isinstance(exc, SaltoKsOtpRejected):
        code, field = "OTP_REJECTED", None
    elif isinstance(exc, SaltoKsSiteUnknown):
        code, field = "SITE_UNKNOWN", "siteUid"
    elif isinstance(exc, SaltoKsIqNotFound):
        code, field = "NOT_FOUND", "iqId"
    elif isinstance(exc, SaltoKsCredentialsRejected):
        code, field = "CREDENTIALS_REJECTED", "password"
    elif isinstance(exc, SaltoKsEnvironmentNotConfigured):
        code, field = "NOT_CONFIGURED", "environment"
    elif isinstance(exc, SaltoKsTransientError):
        code, field = "BACKEND_UNAVAILABLE", None
    else:
        code, field = "BACKEND_REFUSED", None
    return Problem(code, message.template, field, dict(message.params))


async def prepare(host: Host, session: AsyncSession, integration_id, *, need_site: bool = True) -> Prepared:
    """Read the integration's settings, make its client and end the read transaction (no lock
    is held while Salto KS answers). Refusals are raised as ValidationFailed."""
    integration = await salto_ks_integration(session, integration_id)
    stored = await credentials_of(session, integration.id)
    if stored is None:
        raise ValidationFailed.one("REQUIRED", "Fill in the Authentication tab (Environment, Site UID, Username, "
                                               "Password) first.", None)
    if need_site and not stored.site_id:
        raise ValidationFailed.one("REQUIRED", "Press Resolve site ID first: the IQ OTP setup needs the Site ID.",
                                   "siteId")
    # Detached: what was read stays as read, whatever the write transaction later loads.
    session.expunge(stored)
    try:
        client = client_for(host, stored)
    except SaltoKsEnvironmentNotConfigured as exc:
        raise ValidationFailed(problem_of(exc, stored)) from None
    except SecretKeyMismatch:
        raise ValidationFailed.one("INVALID", "The stored Password cannot be decrypted with the configured key: "
                                              "enter it again on the Authentication tab.", "password") from None
    await release(session)
    return Prepared(stored, client)


async def current_row(session: AsyncSession, prepared: Prepared, *same: str) -> SaltoKsCredentials:
    """The settings row as it is now, locked; a CONFLICT when one of the fields ``same`` (or the
    Environment and Site UID) changed since ``prepared`` was read."""
    await salto_ks_integration(session, prepared.stored.integration_id, lock=True)
    row = await session.get(SaltoKsCredentials, prepared.stored.integration_id, with_for_update=True,
                            populate_existing=True)
    fields = ("environment", "site_uid", *same)
    if row is None or any(getattr(row, key) != getattr(prepared.stored, key) for key in fields):
        raise ValidationFailed.one("CONFLICT", "The Authentication tab or IQ OTP setup was changed meanwhile; "
                                               "nothing was stored. Try again.", None)
    return row
